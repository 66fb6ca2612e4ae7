// Package sessionstore owns the on-storage format of recorded sessions
// (layout version 1): where objects live, how they are named, how they are
// encoded, and what metadata.json holds. It is the only package that knows
// about S3, file paths, gzip and metadata.json; components speak pdata on one
// side and this package on the other.
package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

// Package sessionoverview reads what a session holds for people to look
// at: items over capture time per signal, services with their errors,
// phases with their error share, objects (and bad ones) and writers. It
// reads the session's objects, at most a bounded number of them.
package sessionoverview // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionoverview"

// Package sessioncaptureexporter records traces, metrics and logs into
// sessions of the session store (a directory or an S3 bucket), one gzipped
// OTLP object per exported batch plus a metadata.json per session.
package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

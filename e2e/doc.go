// Package e2e holds end-to-end tests of the built distribution
// (bin/otelcol-recordreplay): real processes, real OTLP, real storage.
package e2e

// Package scenario defines seed scenarios — a service topology plus an
// ordered list of phases with fault flags — reads them from YAML with
// errors that name the line and field at fault, and holds the built-in
// patterns.
package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

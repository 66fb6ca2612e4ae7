// Package sessionreplayreceiver streams a stored session back into the
// pipeline: paced by its recorded timing (or faster), with timestamps
// rewritten so that backends accept the data, optionally looped with fresh
// trace and span ids.
package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

// Package pdatawalk visits what a batch of pdata holds: every item (span,
// data point, log record), every timestamp field and every trace and span id.
// It is the one place that walks resource → scope → item and tells the five
// metric types apart; counting, event time ranges, timestamp shifting, id
// remapping and the canonical test form are all built on it.
//
// Unset values (a zero timestamp, an empty id) mean "not set" in OTLP and are
// never visited, so a rewrite can never set them.
package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

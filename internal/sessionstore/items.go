package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
)

// What metadata.json's eventTimeRange covers: when the recorded events
// happened, as opposed to when they were captured.

// TracesEventRange bounds the span start and end times of td (zero times
// when it has none).
func TracesEventRange(td ptrace.Traces) (time.Time, time.Time) {
	var r pdatawalk.TimeRange
	for _, sp := range pdatawalk.Spans(td) {
		r.Add(sp.StartTimestamp())
		r.Add(sp.EndTimestamp())
	}
	return r.Times()
}

// LogsEventRange bounds the log record times of ld (the observed time
// where a record has no time).
func LogsEventRange(ld plog.Logs) (time.Time, time.Time) {
	var r pdatawalk.TimeRange
	for _, lr := range pdatawalk.LogRecords(ld) {
		ts := lr.Timestamp()
		if ts == 0 {
			ts = lr.ObservedTimestamp()
		}
		r.Add(ts)
	}
	return r.Times()
}

// MetricsEventRange bounds the data point times of md, all five types.
func MetricsEventRange(md pmetric.Metrics) (time.Time, time.Time) {
	var r pdatawalk.TimeRange
	pdatawalk.WalkMetrics(md, pdatawalk.Visitor{Time: func(f pdatawalk.Field, ts pcommon.Timestamp) pcommon.Timestamp {
		if f.IsPointTime() {
			r.Add(ts)
		}
		return ts
	}})
	return r.Times()
}

// Walk visits the fields of every item of the batch (see pdatawalk).
func (b Batch) Walk(v pdatawalk.Visitor) {
	switch b.Signal {
	case SignalTraces:
		pdatawalk.WalkTraces(b.Traces, v)
	case SignalMetrics:
		pdatawalk.WalkMetrics(b.Metrics, v)
	case SignalLogs:
		pdatawalk.WalkLogs(b.Logs, v)
	}
}

// EventRange bounds the event times in the batch.
func (b Batch) EventRange() (time.Time, time.Time) {
	switch b.Signal {
	case SignalTraces:
		return TracesEventRange(b.Traces)
	case SignalMetrics:
		return MetricsEventRange(b.Metrics)
	case SignalLogs:
		return LogsEventRange(b.Logs)
	}
	return time.Time{}, time.Time{}
}

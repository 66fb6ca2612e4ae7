package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// DefaultMaxRequestBytes is just under OTLP/gRPC's default message limit
// (4 MiB), leaving room for the request's framing.
const DefaultMaxRequestBytes = 4<<20 - 64<<10

// Objects larger than the target takes in one request (max_request_bytes,
// max_request_items) are cut into several, at resource, scope and item
// boundaries (pdatawalk's chunking), every item once and in order.

// split cuts a batch into requests within the limits (0: none); a batch
// within them is returned as it is.
func split(b sessionstore.Batch, maxItems int, maxBytes int64) []sessionstore.Batch {
	switch b.Signal {
	case sessionstore.SignalTraces:
		return wrap(cut(b.Traces, maxItems, maxBytes, ptrace.Traces.SpanCount, (&ptrace.ProtoMarshaler{}).TracesSize, pdatawalk.ChunkTraces),
			func(td ptrace.Traces) sessionstore.Batch { return sessionstore.Batch{Signal: b.Signal, Traces: td} })
	case sessionstore.SignalMetrics:
		return wrap(cut(b.Metrics, maxItems, maxBytes, pmetric.Metrics.DataPointCount, (&pmetric.ProtoMarshaler{}).MetricsSize, pdatawalk.ChunkMetrics),
			func(md pmetric.Metrics) sessionstore.Batch { return sessionstore.Batch{Signal: b.Signal, Metrics: md} })
	case sessionstore.SignalLogs:
		return wrap(cut(b.Logs, maxItems, maxBytes, plog.Logs.LogRecordCount, (&plog.ProtoMarshaler{}).LogsSize, pdatawalk.ChunkLogs),
			func(ld plog.Logs) sessionstore.Batch { return sessionstore.Batch{Signal: b.Signal, Logs: ld} })
	}
	return []sessionstore.Batch{b}
}

func wrap[D any](parts []D, batch func(D) sessionstore.Batch) []sessionstore.Batch {
	out := make([]sessionstore.Batch, len(parts))
	for i, p := range parts {
		out[i] = batch(p)
	}
	return out
}

// cut returns data in parts of at most maxItems items and maxBytes bytes
// of protobuf: first by items, then each part still too large again, in
// halves by items, down to single items (an item larger than maxBytes goes
// alone).
func cut[D any](data D, maxItems int, maxBytes int64, count func(D) int, size func(D) int, chunk func(D, int) []D) []D {
	n := count(data)
	if maxItems > 0 && n > maxItems {
		var out []D
		for _, part := range chunk(data, maxItems) {
			out = append(out, cut(part, 0, maxBytes, count, size, chunk)...)
		}
		return out
	}
	if maxBytes <= 0 || n <= 1 {
		return []D{data}
	}
	total := int64(size(data)) // a walk of the whole batch: once
	if total <= maxBytes {
		return []D{data}
	}
	// Aim at parts of about three quarters of the limit; the check above
	// cuts again any that came out larger.
	per := max(1, int(float64(n)*0.75*float64(maxBytes)/float64(total)))
	var out []D
	for _, part := range chunk(data, min(per, (n+1)/2)) {
		out = append(out, cut(part, 0, maxBytes, count, size, chunk)...)
	}
	return out
}

// An object whose items span more than sliceSpan of event time (a seed
// made with clock: fast holds many seconds of events in one object) is
// sent, when the replay paces by event time, as pieces of sliceWidth of
// event time, each due at its own time.
const (
	sliceSpan  = time.Second
	sliceWidth = 100 * time.Millisecond
)

// timedPiece is a piece of an object: its items whose event time is in
// [at, at+sliceWidth) (spans: whose trace starts in it), or the whole
// object (key -1).
type timedPiece struct {
	key   int64
	at    time.Time
	batch sessionstore.Batch
}

// sliceByTime cuts b, whose events span [lo, hi], into pieces of
// sliceWidth of event time, from lo, if they span more than sliceSpan;
// otherwise (nil) it is one piece. An item without a time goes with the
// first.
func sliceByTime(b sessionstore.Batch, lo, hi time.Time) []timedPiece {
	if lo.IsZero() || hi.Sub(lo) <= sliceSpan {
		return nil
	}
	base := lo.UnixNano()
	key := func(ts pcommon.Timestamp) int64 {
		if ts == 0 || int64(ts) < base {
			return 0
		}
		return (int64(ts) - base) / int64(sliceWidth)
	}
	at := func(k int64) time.Time { return lo.Add(time.Duration(k) * sliceWidth) }
	var out []timedPiece
	switch b.Signal {
	case sessionstore.SignalTraces:
		// A trace stays whole, in the piece of its earliest span: a shift
		// per piece (timestamps: current) must not pull its spans apart.
		starts := map[pcommon.TraceID]pcommon.Timestamp{}
		for _, sp := range pdatawalk.Spans(b.Traces) {
			if ts, ok := starts[sp.TraceID()]; !ok || sp.StartTimestamp() < ts {
				starts[sp.TraceID()] = sp.StartTimestamp()
			}
		}
		for _, p := range pdatawalk.SplitTraces(b.Traces, func(sp ptrace.Span) int64 { return key(starts[sp.TraceID()]) }) {
			out = append(out, timedPiece{key: p.Key, at: at(p.Key), batch: sessionstore.Batch{Signal: b.Signal, Traces: p.Data}})
		}
	case sessionstore.SignalMetrics:
		for _, p := range pdatawalk.SplitMetrics(b.Metrics, func(_ pmetric.Metric, _ int, ts pcommon.Timestamp) int64 { return key(ts) }) {
			out = append(out, timedPiece{key: p.Key, at: at(p.Key), batch: sessionstore.Batch{Signal: b.Signal, Metrics: p.Data}})
		}
	case sessionstore.SignalLogs:
		for _, p := range pdatawalk.SplitLogs(b.Logs, func(lr plog.LogRecord) int64 {
			ts := lr.Timestamp()
			if ts == 0 {
				ts = lr.ObservedTimestamp()
			}
			return key(ts)
		}) {
			out = append(out, timedPiece{key: p.Key, at: at(p.Key), batch: sessionstore.Batch{Signal: b.Signal, Logs: p.Data}})
		}
	}
	return out
}

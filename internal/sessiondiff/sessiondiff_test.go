package sessiondiff

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 28, 23, 10, 0, 0, time.UTC)

func ts(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t0.Add(d)) }

func traceID(n int) pcommon.TraceID { return pcommon.TraceID{0: 0xaa, 14: byte(n >> 8), 15: byte(n)} }
func spanID(n, k int) pcommon.SpanID {
	return pcommon.SpanID{0: 0xbb, 5: byte(n >> 8), 6: byte(n), 7: byte(k + 1)}
}

// tracesBatch builds traces first..first+n-1, each a tree of four spans in
// three services:
//
//	GET /checkout (frontend)
//	├── POST /pay (checkout)
//	│   └── charge (payment, an event 2 ms in)
//	└── SELECT cart (checkout)
func tracesBatch(first, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	res := map[string]ptrace.SpanSlice{}
	in := func(service string) ptrace.SpanSlice {
		if s, ok := res[service]; ok {
			return s
		}
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.Resource().Attributes().PutStr("host.name", "node-1")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("shop")
		res[service] = ss.Spans()
		return ss.Spans()
	}
	for i := first; i < first+n; i++ {
		base := time.Duration(i) * 100 * time.Millisecond
		add := func(service, name string, k, parent int, kind ptrace.SpanKind, start, dur time.Duration) ptrace.Span {
			sp := in(service).AppendEmpty()
			sp.SetTraceID(traceID(i))
			sp.SetSpanID(spanID(i, k))
			if parent >= 0 {
				sp.SetParentSpanID(spanID(i, parent))
			}
			sp.SetName(name)
			sp.SetKind(kind)
			sp.SetStartTimestamp(ts(base + start))
			sp.SetEndTimestamp(ts(base + start + dur))
			sp.Attributes().PutInt("order", int64(i))
			return sp
		}
		root := add("frontend", "GET /checkout", 0, -1, ptrace.SpanKindServer, 0, 50*time.Millisecond)
		root.Attributes().PutStr("http.route", "/checkout")
		add("checkout", "POST /pay", 1, 0, ptrace.SpanKindServer, 5*time.Millisecond, 30*time.Millisecond)
		charge := add("payment", "charge", 2, 1, ptrace.SpanKindClient, 10*time.Millisecond, 10*time.Millisecond)
		ev := charge.Events().AppendEmpty()
		ev.SetName("retry")
		ev.SetTimestamp(ts(base + 12*time.Millisecond))
		charge.Status().SetCode(ptrace.StatusCodeError)
		add("checkout", "SELECT cart", 3, 0, ptrace.SpanKindClient, time.Millisecond, 2*time.Millisecond)
	}
	return td
}

// logsBatch holds one log record per trace, pointing at its charge span.
func logsBatch(first, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "payment")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := first; i < first+n; i++ {
		lr := lrs.AppendEmpty()
		base := time.Duration(i) * 100 * time.Millisecond
		lr.SetTimestamp(ts(base + 15*time.Millisecond))
		lr.SetObservedTimestamp(ts(base + 16*time.Millisecond))
		lr.SetSeverityText("ERROR")
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.Body().SetStr(fmt.Sprintf("payment failed for order %d", i))
		lr.SetTraceID(traceID(i))
		lr.SetSpanID(spanID(i, 2))
	}
	return ld
}

// metricsBatch holds a gauge point and a histogram point per trace, the
// histogram with an exemplar of the trace's root span.
func metricsBatch(first, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "frontend")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty()
	g.SetName("queue.size")
	gps := g.SetEmptyGauge().DataPoints()
	h := ms.AppendEmpty()
	h.SetName("http.server.duration")
	h.SetUnit("ms")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for i := first; i < first+n; i++ {
		base := time.Duration(i) * 100 * time.Millisecond
		p := gps.AppendEmpty()
		p.SetIntValue(int64(i))
		p.SetTimestamp(ts(base + 50*time.Millisecond))
		hp := hist.DataPoints().AppendEmpty()
		hp.SetStartTimestamp(ts(base))
		hp.SetTimestamp(ts(base + 100*time.Millisecond))
		hp.SetCount(1)
		hp.SetSum(50)
		hp.ExplicitBounds().FromRaw([]float64{10, 100})
		hp.BucketCounts().FromRaw([]uint64{0, 1, 0})
		hp.Attributes().PutStr("http.route", "/checkout")
		ex := hp.Exemplars().AppendEmpty()
		ex.SetDoubleValue(50)
		ex.SetTimestamp(ts(base + 50*time.Millisecond))
		ex.SetTraceID(traceID(i))
		ex.SetSpanID(spanID(i, 0))
	}
	return md
}

// session is eight traces in four trace objects, with logs and metrics
// objects between them.
func session() []sessionstore.Batch {
	var out []sessionstore.Batch
	for k := range 4 {
		out = append(out,
			sessionstore.Batch{Signal: sessionstore.SignalTraces, Traces: tracesBatch(2*k, 2)},
			sessionstore.Batch{Signal: sessionstore.SignalLogs, Logs: logsBatch(2*k, 2)},
			sessionstore.Batch{Signal: sessionstore.SignalMetrics, Metrics: metricsBatch(2*k, 2)})
	}
	return out
}

func clone(bs []sessionstore.Batch) []sessionstore.Batch {
	out := make([]sessionstore.Batch, len(bs))
	for i, b := range bs {
		out[i].Signal = b.Signal
		switch b.Signal {
		case sessionstore.SignalTraces:
			out[i].Traces = ptrace.NewTraces()
			b.Traces.CopyTo(out[i].Traces)
		case sessionstore.SignalMetrics:
			out[i].Metrics = pmetric.NewMetrics()
			b.Metrics.CopyTo(out[i].Metrics)
		case sessionstore.SignalLogs:
			out[i].Logs = plog.NewLogs()
			b.Logs.CopyTo(out[i].Logs)
		}
	}
	return out
}

// eachSpan calls fn for every span; fn returns false to stop.
func eachSpan(bs []sessionstore.Batch, fn func(pdatawalk.Parents, ptrace.Span) bool) {
	for _, b := range bs {
		if b.Signal != sessionstore.SignalTraces {
			continue
		}
		for at, sp := range pdatawalk.Spans(b.Traces) {
			if !fn(at, sp) {
				return
			}
		}
	}
}

func findSpan(bs []sessionstore.Batch, trace int, name string) ptrace.Span {
	var found ptrace.Span
	ok := false
	eachSpan(bs, func(_ pdatawalk.Parents, sp ptrace.Span) bool {
		if sp.TraceID() == traceID(trace) && sp.Name() == name {
			found, ok = sp, true
			return false
		}
		return true
	})
	if !ok {
		panic("no span " + name)
	}
	return found
}

// remapAndShift maps every id through a keyed XOR and shifts every time of
// object k by its own amount, as a replay with id remapping and
// timestamps `current` at a speed other than 1 does.
func remapAndShift(bs []sessionstore.Batch) {
	for k, b := range bs {
		shift := int64(time.Hour + time.Duration(k)*37*time.Millisecond)
		b.Walk(pdatawalk.Visitor{
			Time: func(_ pdatawalk.Field, t pcommon.Timestamp) pcommon.Timestamp {
				return pcommon.Timestamp(int64(t) + shift)
			},
			TraceID: func(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
				for i := range id {
					id[i] ^= 0x5c
				}
				return id
			},
			SpanID: func(_ pdatawalk.Field, id pcommon.SpanID) pcommon.SpanID {
				for i := range id {
					id[i] ^= 0x3a
				}
				return id
			},
		})
	}
}

func compare(t *testing.T, a, b []sessionstore.Batch, opts Options) *Report {
	t.Helper()
	r, err := Compare(Batches(a...), Batches(b...), opts)
	require.NoError(t, err)
	return r
}

func texts(ds []Difference) string {
	var sb strings.Builder
	for _, d := range ds {
		sb.WriteString(d.Text)
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestCompare(t *testing.T) {
	exact, shifted := Options{}, Options{Shifted: true}
	cases := []struct {
		name   string
		mutate func(bs []sessionstore.Batch) []sessionstore.Batch
		opts   Options
		// want: the lines expected in each section (substrings); an empty
		// want means equal.
		counts, items, shapes []string
		shift                 string
	}{
		{name: "itself", opts: exact, mutate: func(bs []sessionstore.Batch) []sessionstore.Batch { return bs }},
		{name: "itself shifted", opts: shifted, mutate: func(bs []sessionstore.Batch) []sessionstore.Batch { return bs },
			shift: "time shift 0s (one constant shift)"},
		{
			name: "rebatched", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				// The same items in other objects, in another order.
				var out []sessionstore.Batch
				for k := 3; k >= 0; k-- {
					out = append(out, sessionstore.Batch{Signal: sessionstore.SignalTraces, Traces: tracesBatch(2*k+1, 1)},
						sessionstore.Batch{Signal: sessionstore.SignalTraces, Traces: tracesBatch(2*k, 1)})
				}
				return append(out, bs[1], bs[2], bs[4], bs[5], bs[7], bs[8], bs[10], bs[11])
			},
		},
		{
			name: "dropped span", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				drop := findSpan(bs, 3, "POST /pay")
				eachSpan(bs, func(_ pdatawalk.Parents, _ ptrace.Span) bool { return true })
				for _, b := range bs {
					if b.Signal == sessionstore.SignalTraces {
						for _, rs := range b.Traces.ResourceSpans().All() {
							for _, ss := range rs.ScopeSpans().All() {
								ss.Spans().RemoveIf(func(sp ptrace.Span) bool { return sp.SpanID() == drop.SpanID() && sp.TraceID() == drop.TraceID() })
							}
						}
					}
				}
				return bs
			},
			counts: []string{"traces: 32 spans in A, 31 in B", "traces: service checkout: 16 in A, 15 in B", "traces: span 'POST /pay' (service checkout): 8 in A, 7 in B"},
			items:  []string{"missing in B: span 'POST /pay' (service checkout): kind=Server start=2026-11-28T23:10:00.305Z duration=30ms status.code=Unset attributes={order=3}"},
			shapes: []string{"trace of root 'GET /checkout' (service frontend): span 'charge' (service payment) has no parent in B (its parent was 'POST /pay' (service checkout))"},
		},
		{
			name: "changed attribute", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				findSpan(bs, 5, "charge").Attributes().PutStr("order", "five")
				return bs
			},
			items: []string{`changed: span 'charge' (service payment): attributes["order"]: 5 → "five"`},
		},
		{
			name: "changed attribute shifted", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				remapAndShift(bs)
				eachSpan(bs, func(_ pdatawalk.Parents, sp ptrace.Span) bool {
					if sp.Name() == "POST /pay" {
						sp.Attributes().PutStr("peer", "new")
						return false
					}
					return true
				})
				return bs
			},
			items: []string{`changed: span 'POST /pay' (service checkout): attributes["peer"]: (none) → "new"`},
			shift: "time shift +1h0m0s..+1h0m0.407s (varies by 407ms: shifted per object)",
		},
		{
			name: "changed resource attribute", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				bs[2].Metrics.ResourceMetrics().At(0).Resource().Attributes().PutStr("host.name", "node-2")
				return bs
			},
			// Every point of the object: two gauge and two histogram points.
			items: []string{
				`changed: metric 'queue.size' (service frontend): resource.attributes["host.name"]: (none) → "node-2"`,
				`changed: metric 'queue.size' (service frontend): resource.attributes["host.name"]: (none) → "node-2"`,
				`changed: metric 'http.server.duration' (service frontend): resource.attributes["host.name"]: (none) → "node-2"`,
				`changed: metric 'http.server.duration' (service frontend): resource.attributes["host.name"]: (none) → "node-2"`,
			},
		},
		{
			name: "broken parent", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				// charge now hangs under SELECT cart instead of POST /pay.
				findSpan(bs, 2, "charge").SetParentSpanID(spanID(2, 3))
				return bs
			},
			items:  []string{"ids differ: span 'charge' (service payment): parent_span_id: bb00000000000202 → bb00000000000204"},
			shapes: []string{"trace of root 'GET /checkout' (service frontend): span 'charge' (service payment) has parent 'SELECT cart' (service checkout) in B (its parent was 'POST /pay' (service checkout))"},
		},
		{
			name: "broken parent shifted", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				findSpan(bs, 2, "charge").SetParentSpanID(spanID(2, 9))
				remapAndShift(bs)
				return bs
			},
			shapes: []string{"trace of root 'GET /checkout' (service frontend): span 'charge' (service payment) has no parent in B (its parent was 'POST /pay' (service checkout))"},
			shift:  "time shift +1h0m0s..+1h0m0.407s",
		},
		{
			name: "remapped and shifted per object, exact", opts: Options{MaxDifferences: 1},
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch { remapAndShift(bs); return bs },
			items: []string{
				"changed: span 'GET /checkout' (service frontend): start: 2026-11-28T23:10:00Z → 2026-11-29T00:10:00Z; end: 2026-11-28T23:10:00.05Z → 2026-11-29T00:10:00.05Z; trace_id: aa000000000000000000000000000000 → f65c5c5c5c5c5c5c5c5c5c5c5c5c5c5c; span_id: bb00000000000001 → 813a3a3a3a3a3a3b",
			},
		},
		{
			name: "remapped and shifted per object", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch { remapAndShift(bs); return bs },
			shift:  "time shift +1h0m0s..+1h0m0.407s (varies by 407ms: shifted per object)",
		},
		{
			name: "two traces merged", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				// An inconsistent remapping: trace 5 takes trace 4's id
				// (span ids stay unique), the logs and exemplars follow.
				for _, b := range bs {
					b.Walk(pdatawalk.Visitor{TraceID: func(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
						if id == traceID(5) {
							return traceID(4)
						}
						return id
					}})
				}
				remapAndShift(bs)
				return bs
			},
			shapes: []string{"traces of roots 'GET /checkout' (service frontend), 'GET /checkout' (service frontend) are one trace in B"},
			shift:  "time shift +1h0m0s..+1h0m0.407s",
		},
		{
			name: "trace split", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				findSpan(bs, 6, "charge").SetTraceID(traceID(99))
				return bs
			},
			shapes: []string{
				"trace of root 'GET /checkout' (service frontend): split into 2 traces in B, of roots 'GET /checkout' (service frontend), 'charge' (service payment)",
				"trace of root 'GET /checkout' (service frontend): span 'charge' (service payment) has no parent in its trace in B (its parent was 'POST /pay' (service checkout), which is in another trace there)",
			},
			// The log pointing at charge no longer finds it.
			items: []string{"changed: log 'ERROR' (service payment): span: span 'charge' (service payment) → a span that is not in the session"},
			shift: "time shift 0s (one constant shift)",
		},
		{
			name: "log points at another span", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				bs[1].Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).SetSpanID(spanID(1, 1))
				remapAndShift(bs)
				return bs
			},
			items: []string{"changed: log 'ERROR' (service payment): span: span 'charge' (service payment) → span 'POST /pay' (service checkout)"},
			shift: "time shift +1h0m0s..+1h0m0.407s",
		},
		{
			name: "duration under shift", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				sp := findSpan(bs, 7, "SELECT cart")
				sp.SetEndTimestamp(sp.EndTimestamp() + 1000)
				remapAndShift(bs)
				return bs
			},
			items: []string{"changed: span 'SELECT cart' (service checkout): duration: 2ms → 2.001ms"},
			shift: "time shift +1h0m0s..+1h0m0.407s",
		},
		{
			name: "event offset under shift", opts: shifted,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				ev := findSpan(bs, 0, "charge").Events().At(0)
				ev.SetTimestamp(ev.Timestamp() + pcommon.Timestamp(time.Millisecond))
				return bs
			},
			items: []string{"changed: span 'charge' (service payment): events[0].offset: 2ms → 3ms"},
			shift: "time shift 0s (one constant shift)",
		},
		{
			name: "metric value and exemplar", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				ms := bs[5].Metrics.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
				ms.At(0).Gauge().DataPoints().At(1).SetIntValue(42)
				ms.At(1).Histogram().DataPoints().At(0).Exemplars().At(0).SetSpanID(spanID(2, 3))
				return bs
			},
			items: []string{
				"changed: metric 'http.server.duration' (service frontend): exemplars[0].span_id: bb00000000000201 → bb00000000000204; exemplars[0].span: span 'GET /checkout' (service frontend) → span 'SELECT cart' (service checkout)",
				"changed: metric 'queue.size' (service frontend): value: 3 → 42",
			},
		},
		{
			name: "extra log", opts: exact,
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				lr := bs[10].Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
				lr.SetSeverityText("WARN")
				lr.Body().SetStr("slow")
				lr.SetTimestamp(ts(time.Second))
				return bs
			},
			counts: []string{"logs: 8 log records in A, 9 in B", "logs: service payment: 8 in A, 9 in B", "logs: log 'WARN' (service payment): 0 in A, 1 in B"},
			items:  []string{`extra in B: log 'WARN' (service payment): severity_text="WARN" body="slow" time=2026-11-28T23:10:01Z span=none attributes={}`},
		},
		{
			name: "signals filter", opts: Options{Signals: []sessionstore.Signal{sessionstore.SignalMetrics}},
			mutate: func(bs []sessionstore.Batch) []sessionstore.Batch {
				findSpan(bs, 5, "charge").Attributes().PutStr("order", "five")
				return bs
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := session()
			b := tc.mutate(clone(a))
			r := compare(t, a, b, tc.opts)
			var buf strings.Builder
			require.NoError(t, r.WriteText(&buf, "", ""))
			report := buf.String()
			wantEqual := len(tc.counts)+len(tc.items)+len(tc.shapes) == 0
			assert.Equal(t, wantEqual, r.Equal(), report)
			assert.Len(t, r.Counts, len(tc.counts), report)
			for _, w := range tc.counts {
				assert.Contains(t, texts(r.Counts), w, report)
			}
			assert.Len(t, r.Items, len(tc.items), report)
			for _, w := range tc.items {
				assert.Contains(t, texts(r.Items), w, report)
			}
			assert.Len(t, r.Shapes, len(tc.shapes), report)
			for _, w := range tc.shapes {
				assert.Contains(t, texts(r.Shapes), w, report)
			}
			if tc.shift != "" {
				assert.Contains(t, r.Summary(), tc.shift)
			}
		})
	}
}

// TestRemappedDiffersExactly: a consistent remapping with object shifts is
// equal with Shifted and reported item by item without it.
func TestRemappedDiffersExactly(t *testing.T) {
	a := session()
	b := clone(a)
	remapAndShift(b)
	r := compare(t, a, b, Options{})
	assert.False(t, r.Equal())
	assert.Equal(t, 32+16+8, r.ItemsTotal, "every item differs")
	assert.Len(t, r.Items, DefaultMaxDifferences)
	assert.Zero(t, r.ShapesTotal, "the shapes are the same")
	for _, d := range r.Items {
		assert.Equal(t, Changed, d.Kind, d.Text)
	}
	assert.Equal(t, 56, r.Moved, "each pairs with its own item, moved")
	var buf strings.Builder
	require.NoError(t, r.WriteText(&buf, "seed", "replay"))
	assert.Contains(t, buf.String(), "A=seed and B=replay differ: 56 item differences")
	assert.Contains(t, buf.String(), "note: 56 changed items differ only in absolute times and ids: if B is a replay, compare with --shifted")
	r = compare(t, a, b, Options{Shifted: true})
	assert.True(t, r.Equal(), r.Summary())
	assert.Equal(t, 56, r.Shift.Items)
}

// TestIDsDifferExactly: the same content under other ids is reported as
// ids differ without Shifted, and nothing with it.
func TestIDsDifferExactly(t *testing.T) {
	a := session()
	b := clone(a)
	for _, bt := range b {
		bt.Walk(pdatawalk.Visitor{SpanID: func(_ pdatawalk.Field, id pcommon.SpanID) pcommon.SpanID {
			id[0] = 0xcc
			return id
		}})
	}
	r := compare(t, a, b, Options{MaxDifferences: 100})
	assert.Equal(t, 32+8+8, r.ItemsTotal) // spans, logs and the histogram points with an exemplar
	for _, d := range r.Items {
		assert.Equal(t, IDsDiffer, d.Kind)
	}
	assert.Contains(t, texts(r.Items), "ids differ: span 'GET /checkout' (service frontend): span_id: bb00000000000001 → cc00000000000001")
	assert.True(t, compare(t, a, b, Options{Shifted: true}).Equal())
}

func TestMaxDifferences(t *testing.T) {
	a := session()
	b := clone(a)
	eachSpan(b, func(_ pdatawalk.Parents, sp ptrace.Span) bool {
		sp.Attributes().PutBool("new", true)
		return true
	})
	r := compare(t, a, b, Options{MaxDifferences: 3})
	assert.Equal(t, 32, r.ItemsTotal)
	assert.Len(t, r.Items, 3)
	var buf strings.Builder
	require.NoError(t, r.WriteText(&buf, "", ""))
	assert.Contains(t, buf.String(), "… and 29 more (--max-differences)")
	assert.Contains(t, buf.String(), "A and B differ: 32 item differences; A has 32 spans, 16 data points, 8 log records; B has 32 spans, 16 data points, 8 log records")
}

func TestSummaryEqual(t *testing.T) {
	r := compare(t, session(), session(), Options{})
	assert.Equal(t, "equal: 32 spans, 16 data points, 8 log records compared", r.Summary())
	b := session()
	remapAndShift(b[:1])
	for _, bt := range b[1:] {
		bt.Walk(pdatawalk.Visitor{Time: func(_ pdatawalk.Field, t pcommon.Timestamp) pcommon.Timestamp {
			return t + pcommon.Timestamp(time.Hour)
		}})
		bt.Walk(pdatawalk.Visitor{TraceID: func(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
			for i := range id {
				id[i] ^= 0x5c
			}
			return id
		}, SpanID: func(_ pdatawalk.Field, id pcommon.SpanID) pcommon.SpanID {
			for i := range id {
				id[i] ^= 0x3a
			}
			return id
		}})
	}
	r = compare(t, session(), b, Options{Shifted: true})
	assert.Equal(t, "equal: 32 spans, 16 data points, 8 log records compared; time shift +1h0m0s (one constant shift)", r.Summary())
}

// TestShapes covers trees the fixture does not have: an orphan in both
// sides is the same shape, a loop of parents does not hang, identical
// subtrees in another arrangement are told apart, duplicate span ids.
func TestShapes(t *testing.T) {
	type sp struct {
		name       string
		id, parent int
		trace      int
		attr       string
		start      time.Duration
	}
	build := func(spans ...sp) []sessionstore.Batch {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc")
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		for _, s := range spans {
			x := ss.AppendEmpty()
			x.SetName(s.name)
			x.SetTraceID(traceID(s.trace))
			x.SetSpanID(spanID(0, s.id))
			if s.parent >= 0 {
				x.SetParentSpanID(spanID(0, s.parent))
			}
			x.SetStartTimestamp(ts(s.start))
			x.SetEndTimestamp(ts(s.start + time.Millisecond))
			if s.attr != "" {
				x.Attributes().PutStr("a", s.attr)
			}
		}
		return []sessionstore.Batch{{Signal: sessionstore.SignalTraces, Traces: td}}
	}
	cases := []struct {
		name   string
		a, b   []sp
		shapes []string
	}{
		{
			name: "orphans alike",
			a:    []sp{{name: "x", id: 1, parent: 7}, {name: "y", id: 2, parent: 1}},
			b:    []sp{{name: "x", id: 1, parent: 8}, {name: "y", id: 2, parent: 1}},
		},
		{
			name: "loop of parents",
			a:    []sp{{name: "x", id: 1, parent: 2}, {name: "y", id: 2, parent: 1}},
			b:    []sp{{name: "x", id: 1, parent: -1}, {name: "y", id: 2, parent: 1}},
			shapes: []string{
				"trace of root 'x' (service svc): span 'x' (service svc) is a root in B (its parent was 'y' (service svc))",
			},
		},
		{
			name: "same spans, rearranged",
			// Two parents of one content, one with two children and one
			// with none; then one child each.
			a: []sp{{name: "r", id: 1, parent: -1}, {name: "p", id: 2, parent: 1}, {name: "p", id: 3, parent: 1},
				{name: "c", id: 4, parent: 2}, {name: "c", id: 5, parent: 2}},
			b: []sp{{name: "r", id: 1, parent: -1}, {name: "p", id: 2, parent: 1}, {name: "p", id: 3, parent: 1},
				{name: "c", id: 4, parent: 2}, {name: "c", id: 5, parent: 3}},
			shapes: []string{"trace of root 'r' (service svc): its tree differs in B (the same spans, under parents of the same content, arranged differently)"},
		},
		{
			name: "duplicate span id",
			a:    []sp{{name: "r", id: 1, parent: -1}, {name: "c", id: 2, parent: 1, start: 1}},
			b:    []sp{{name: "r", id: 1, parent: -1}, {name: "c", id: 1, parent: 1, start: 1}},
			shapes: []string{
				"trace of root 'r' (service svc): span 'r' (service svc) shares its span id with another span of its trace in B",
				"trace of root 'r' (service svc): span 'c' (service svc) shares its span id with another span of its trace in B",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := compare(t, build(tc.a...), build(tc.b...), Options{Shifted: true})
			assert.Equal(t, len(tc.shapes) == 0, r.Equal(), texts(r.Shapes))
			require.Len(t, r.Shapes, len(tc.shapes), texts(r.Shapes))
			for i, w := range tc.shapes {
				assert.Equal(t, w, r.Shapes[i].Text)
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	boom := errors.New("boom")
	bad := func(func(sessionstore.Batch) error) error { return boom }
	_, err := Compare(Batches(session()...), bad, Options{})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "B: boom")

	// A second read that finds less says so instead of failing.
	calls := 0
	shrinking := func(fn func(sessionstore.Batch) error) error {
		calls++
		bs := session()
		if calls == 1 {
			findSpan(bs, 1, "charge").Attributes().PutStr("x", "y")
		} else {
			bs = nil
		}
		return Batches(bs...)(fn)
	}
	r, err := Compare(Batches(session()...), shrinking, Options{})
	require.NoError(t, err)
	require.Len(t, r.Items, 1)
	assert.Contains(t, r.Items[0].Text, "not found when read again")
}

func TestFormatValue(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "x")
	m.PutInt("i", 1)
	m.PutDouble("d", 1.5)
	m.PutBool("b", true)
	m.PutEmptyBytes("y").FromRaw([]byte{1, 2})
	m.PutEmptySlice("l").AppendEmpty().SetStr("e")
	m.PutEmptyMap("m").PutInt("z", 2)
	m.PutEmpty("n")
	assert.Equal(t, `{b=true, d=1.5, i=1, l=["e"], m={z=2}, n=(empty), s="x", y=0x0102}`, FormatAttributes(m))
}

// TestContentKeys: what a content key holds and leaves out.
func TestContentKeys(t *testing.T) {
	key := func(shifted bool, mutate func(sp ptrace.Span)) uint64 {
		td := tracesBatch(0, 1)
		sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		if mutate != nil {
			mutate(sp)
		}
		s := newSide(Options{Shifted: shifted})
		s.addTraces(td)
		s.finish()
		return s.spans[0].hash
	}
	base, baseShifted := key(false, nil), key(true, nil)
	cases := []struct {
		name                string
		mutate              func(sp ptrace.Span)
		sameExact, sameShft bool
	}{
		{"new trace id", func(sp ptrace.Span) { sp.SetTraceID(traceID(77)) }, true, true},
		{"moved in time", func(sp ptrace.Span) {
			sp.SetStartTimestamp(sp.StartTimestamp() + 5)
			sp.SetEndTimestamp(sp.EndTimestamp() + 5)
		}, false, true},
		{"longer", func(sp ptrace.Span) { sp.SetEndTimestamp(sp.EndTimestamp() + 5) }, false, false},
		{"attribute int → string", func(sp ptrace.Span) { sp.Attributes().PutStr("order", "0") }, false, false},
		{"attribute order", func(sp ptrace.Span) {
			v, _ := sp.Attributes().Get("order")
			i := v.Int()
			sp.Attributes().Remove("order")
			sp.Attributes().PutInt("order", i) // now after http.route
		}, true, true},
		{"status message", func(sp ptrace.Span) { sp.Status().SetMessage("x") }, false, false},
		{"kind", func(sp ptrace.Span) { sp.SetKind(ptrace.SpanKindInternal) }, false, false},
		{"link", func(sp ptrace.Span) { sp.Links().AppendEmpty().SetTraceID(traceID(1)) }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.sameExact, key(false, tc.mutate) == base, "exact")
			assert.Equal(t, tc.sameShft, key(true, tc.mutate) == baseShifted, "shifted")
		})
	}
}

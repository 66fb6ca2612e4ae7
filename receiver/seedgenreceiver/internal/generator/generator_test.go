package generator

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

var anchor = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func gen(t *testing.T, pattern string, mod func(*Options)) *Generator {
	t.Helper()
	sc, err := scenario.Builtin(pattern)
	require.NoError(t, err)
	o := Options{Scenario: sc, Seed: 1, TracesPerSecond: 20, ErrorRate: 0.05, Start: anchor, SessionID: "seed-test"}
	if mod != nil {
		mod(&o)
	}
	g, err := New(o)
	require.NoError(t, err)
	return g
}

// run collects everything a generator emits.
type run struct {
	batches []Batch
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs
}

func collect(g *Generator) run {
	r := run{traces: ptrace.NewTraces(), metrics: pmetric.NewMetrics(), logs: plog.NewLogs()}
	for b := range g.Batches() {
		r.batches = append(r.batches, b)
		for i := range b.Traces.ResourceSpans().Len() {
			b.Traces.ResourceSpans().At(i).CopyTo(r.traces.ResourceSpans().AppendEmpty())
		}
		for i := range b.Metrics.ResourceMetrics().Len() {
			b.Metrics.ResourceMetrics().At(i).CopyTo(r.metrics.ResourceMetrics().AppendEmpty())
		}
		for i := range b.Logs.ResourceLogs().Len() {
			b.Logs.ResourceLogs().At(i).CopyTo(r.logs.ResourceLogs().AppendEmpty())
		}
	}
	return r
}

type spanRec struct {
	res  pcommon.Resource
	span ptrace.Span
}

func spans(td ptrace.Traces) []spanRec {
	var out []spanRec
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j).Spans()
			for k := range ss.Len() {
				out = append(out, spanRec{rs.Resource(), ss.At(k)})
			}
		}
	}
	return out
}

func canonical(t *testing.T, r run) [][]byte {
	t.Helper()
	return sessiontest.Canonical(t, r.traces, r.metrics, r.logs)
}

func TestDeterminism(t *testing.T) {
	a := collect(gen(t, "payment-failure", nil))
	b := collect(gen(t, "payment-failure", nil))
	require.Equal(t, len(a.batches), len(b.batches))
	for i := range a.batches {
		ba, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(a.batches[i].Traces)
		require.NoError(t, err)
		bb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(b.batches[i].Traces)
		require.NoError(t, err)
		require.True(t, bytes.Equal(ba, bb), "batch %d differs", i)
	}
	// Other batch sizes: the same data, grouped differently.
	c := collect(gen(t, "payment-failure", func(o *Options) { o.BatchInterval = 250 * time.Millisecond }))
	d := collect(gen(t, "payment-failure", func(o *Options) { o.BatchInterval = 3 * time.Second }))
	assert.Greater(t, len(c.batches), len(a.batches))
	assert.Less(t, len(d.batches), len(a.batches))
	ca := canonical(t, a)
	assert.Equal(t, ca, canonical(t, c))
	assert.Equal(t, ca, canonical(t, d))
	// Another seed: other data.
	e := collect(gen(t, "payment-failure", func(o *Options) { o.Seed = 2 }))
	assert.NotEqual(t, ca, canonical(t, e))
}

func TestRateAndPhases(t *testing.T) {
	g := gen(t, "basic-topology", func(o *Options) { o.TracesPerSecond = 10; o.Duration = 30 * time.Second })
	r := collect(g)
	roots := map[int64]int{} // second -> traces started
	total := 0
	for _, s := range spans(r.traces) {
		if s.span.ParentSpanID().IsEmpty() {
			total++
			roots[int64(s.span.StartTimestamp().AsTime().Sub(anchor)/time.Second)]++
		}
	}
	assert.InDelta(t, 300, total, 1)
	for sec, n := range roots {
		assert.LessOrEqual(t, n, 12, "second %d", sec)
	}
	// Phases of payment-failure scale to fit the duration.
	pf := gen(t, "payment-failure", func(o *Options) { o.Duration = 60 * time.Second })
	ph := pf.Phases()
	require.Len(t, ph, 3)
	assert.Equal(t, anchor.Add(20*time.Second), ph[1].Start)
	assert.Equal(t, anchor.Add(60*time.Second), ph[2].End)
}

func TestPaymentFailureGroundTruth(t *testing.T) {
	g := gen(t, "payment-failure", nil) // 20 traces/s, 30 s, error rate 0.05
	r := collect(g)
	byTrace := map[pcommon.TraceID][]spanRec{}
	for _, s := range spans(r.traces) {
		byTrace[s.span.TraceID()] = append(byTrace[s.span.TraceID()], s)
	}
	type tally struct{ checkouts, failedAtPayment int }
	perPhase := map[string]*tally{}
	for _, ss := range byTrace {
		var root, payment *spanRec
		for i := range ss {
			s := &ss[i]
			if s.span.ParentSpanID().IsEmpty() {
				root = s
			}
			if s.span.Name() == "oteldemo.PaymentService/Charge" && s.span.Kind() == ptrace.SpanKindServer {
				payment = s
			}
		}
		require.NotNil(t, root)
		if root.span.Name() != "POST /api/checkout" {
			continue
		}
		phase, _ := root.span.Attributes().Get(sessionstore.AttrPhaseName)
		tl := perPhase[phase.Str()]
		if tl == nil {
			tl = &tally{}
			perPhase[phase.Str()] = tl
		}
		tl.checkouts++
		if payment == nil || payment.span.Status().Code() != ptrace.StatusCodeError {
			continue
		}
		tl.failedAtPayment++
		// The trace ends where the real checkout would: nothing starts
		// after the payment call except the callers returning.
		for _, s := range ss {
			if s.span.StartTimestamp() > payment.span.EndTimestamp() {
				t.Errorf("span %q starts after the failed payment", s.span.Name())
			}
			assert.NotContains(t, []string{"POST /ship-order", "send orders", "INSERT orders", "POST /send_order_confirmation", "oteldemo.CartService/EmptyCart"}, s.span.Name())
		}
		v, _ := payment.span.Attributes().Get(sessionstore.AttrFaultRoot)
		assert.True(t, v.Bool())
	}
	for name, tl := range perPhase {
		share := float64(tl.failedAtPayment) / float64(tl.checkouts)
		t.Logf("phase %s: %d checkouts, %.3f failed at payment", name, tl.checkouts, share)
		if name == "failure" {
			assert.InDelta(t, 0.75, share, 0.07)
		} else {
			assert.LessOrEqual(t, share, 0.05+0.03)
		}
	}
	require.Len(t, perPhase, 3)
}

func TestLabelsExemplarsAndCounts(t *testing.T) {
	r := collect(gen(t, "db-outage", nil))
	ids := map[pcommon.SpanID]ptrace.Span{}
	for _, s := range spans(r.traces) {
		ids[s.span.SpanID()] = s.span
		for _, m := range []pcommon.Map{s.span.Attributes(), s.res.Attributes()} {
			_, okName := m.Get(sessionstore.AttrPhaseName)
			_, okIndex := m.Get(sessionstore.AttrPhaseIndex)
			require.True(t, okName && okIndex, "phase labels on span %s", s.span.Name())
		}
	}
	// Every log record carries the labels and points at a generated span.
	lrs := r.logs.ResourceLogs()
	logs := 0
	for i := range lrs.Len() {
		recs := lrs.At(i).ScopeLogs().At(0).LogRecords()
		for k := range recs.Len() {
			lr := recs.At(k)
			logs++
			_, ok := lr.Attributes().Get(sessionstore.AttrPhaseName)
			require.True(t, ok)
			sp, ok := ids[lr.SpanID()]
			require.True(t, ok, "log %q points at a generated span", lr.Body().Str())
			require.Equal(t, sp.TraceID(), lr.TraceID())
		}
	}
	assert.Positive(t, logs)
	// Histograms: counts add up to the spans they summarize; exemplars resolve.
	var pointSpans uint64
	rms := r.metrics.ResourceMetrics()
	for i := range rms.Len() {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			dps := ms.At(j).Histogram().DataPoints()
			for k := range dps.Len() {
				dp := dps.At(k)
				pointSpans += dp.Count()
				var bucketSum uint64
				for _, c := range dp.BucketCounts().AsRaw() {
					bucketSum += c
				}
				require.Equal(t, dp.Count(), bucketSum)
				_, ok := dp.Attributes().Get(sessionstore.AttrPhaseIndex)
				require.True(t, ok)
				for e := range dp.Exemplars().Len() {
					ex := dp.Exemplars().At(e)
					sp, ok := ids[ex.SpanID()]
					require.True(t, ok, "exemplar points at a generated span")
					require.Equal(t, sp.TraceID(), ex.TraceID())
				}
			}
		}
	}
	var measured uint64
	for _, s := range spans(r.traces) {
		switch s.span.Kind() {
		case ptrace.SpanKindServer, ptrace.SpanKindProducer, ptrace.SpanKindConsumer:
			measured++
		case ptrace.SpanKindClient:
			if _, ok := s.span.Attributes().Get("db.system.name"); ok {
				measured++
			}
		}
	}
	assert.Equal(t, measured, pointSpans, "every measured span is in exactly one data point")
}

func TestFaultOriginIsMarked(t *testing.T) {
	r := collect(gen(t, "db-outage", nil))
	roots := map[string]int{}
	for _, s := range spans(r.traces) {
		if v, ok := s.span.Attributes().Get(sessionstore.AttrFaultRoot); ok && v.Bool() {
			name, _ := s.span.Attributes().Get(sessionstore.AttrFaultName)
			roots[name.Str()]++
			assert.Equal(t, ptrace.StatusCodeError, s.span.Status().Code())
			require.Positive(t, s.span.Events().Len())
			assert.Equal(t, "exception", s.span.Events().At(0).Name())
		}
	}
	assert.Positive(t, roots["ordersDbOutage"])
	assert.Positive(t, roots["catalogDbOutage"])
	assert.Positive(t, roots[BaselineFaultName])
	assert.True(t, slices.Contains(scenarioFlags(t, "db-outage"), "ordersDbOutage"))
}

func scenarioFlags(t *testing.T, name string) []string {
	sc, err := scenario.Builtin(name)
	require.NoError(t, err)
	return sc.Flags()
}

// TestSessionLabelsOnResources: labels and the diagnostic session id are
// on every resource (the capture side may open the session with any of
// them), in the same order every run, so the bytes stay the same.
func TestSessionLabelsOnResources(t *testing.T) {
	labels := map[string]string{"team": "payments", "dataset": "train", "run": "3", "owner": "ml"}
	mod := func(o *Options) {
		o.Duration = 3 * time.Second
		o.Labels = labels
		o.DiagnosticSessionID = "diag-7"
	}
	a := collect(gen(t, "basic-topology", mod))
	check := func(kind string, res pcommon.Resource) {
		t.Helper()
		attrs := res.Attributes()
		for k, v := range labels {
			got, ok := attrs.Get(sessionstore.AttrLabel + k)
			require.True(t, ok, "%s resource lacks label %s", kind, k)
			assert.Equal(t, v, got.Str())
		}
		got, ok := attrs.Get(sessionstore.AttrDiagnosticSessionID)
		require.True(t, ok, "%s resource lacks the diagnostic session id", kind)
		assert.Equal(t, "diag-7", got.Str())
	}
	for i := range a.traces.ResourceSpans().Len() {
		check("span", a.traces.ResourceSpans().At(i).Resource())
	}
	for i := range a.metrics.ResourceMetrics().Len() {
		check("metric", a.metrics.ResourceMetrics().At(i).Resource())
	}
	for i := range a.logs.ResourceLogs().Len() {
		check("log", a.logs.ResourceLogs().At(i).Resource())
	}
	for range 3 {
		b := collect(gen(t, "basic-topology", mod))
		ba, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(a.traces)
		require.NoError(t, err)
		bb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(b.traces)
		require.NoError(t, err)
		require.True(t, bytes.Equal(ba, bb), "same labels, same bytes")
	}

	// Without them, no such attribute.
	plain := collect(gen(t, "basic-topology", func(o *Options) { o.Duration = time.Second }))
	plain.traces.ResourceSpans().At(0).Resource().Attributes().Range(func(k string, _ pcommon.Value) bool {
		assert.NotContains(t, k, "test.label.")
		assert.NotEqual(t, sessionstore.AttrDiagnosticSessionID, k)
		return true
	})
}

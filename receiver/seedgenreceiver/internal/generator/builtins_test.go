package generator

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// TestBuiltinsGenerate runs every built-in pattern: the same seed gives
// the same bytes, the phase table is the YAML's (names, flags, rates,
// lengths), and every phase's items carry its ground truth.
func TestBuiltinsGenerate(t *testing.T) {
	for _, name := range scenario.Builtins() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Builtin(name)
			require.NoError(t, err)
			mod := func(o *Options) { o.TracesPerSecond = 4 }
			g := gen(t, name, mod)
			a := collect(g)
			b := collect(gen(t, name, mod))
			require.Equal(t, len(a.batches), len(b.batches))
			for i := range a.batches {
				require.True(t, bytes.Equal(marshal(t, a.batches[i]), marshal(t, b.batches[i])), "batch %d differs", i)
			}

			phases := g.Phases()
			require.Len(t, phases, len(sc.Phases))
			at := anchor
			for i, p := range sc.Phases {
				got := phases[i]
				assert.Equal(t, p.Name, got.Name)
				assert.Equal(t, i, got.Index)
				assert.Equal(t, at, got.Start, p.Name)
				assert.Equal(t, time.Duration(p.Duration), got.End.Sub(got.Start), p.Name)
				assert.Equal(t, p.Flags, got.Flags, p.Name)
				assert.InDelta(t, 4*p.Rate, got.Rate, 1e-9, p.Name)
				at = got.End
			}

			// Ground truth on the resources, phase by phase.
			items := map[int64]int{}
			for _, rs := range resourcesOf(a) {
				attrs := rs.Attributes()
				idx, ok := attrs.Get(sessionstore.AttrPhaseIndex)
				require.True(t, ok)
				ph := phases[idx.Int()]
				name, _ := attrs.Get(sessionstore.AttrPhaseName)
				assert.Equal(t, ph.Name, name.Str())
				for _, f := range sc.Flags() {
					v, ok := attrs.Get(sessionstore.AttrPhaseFlag + f)
					require.True(t, ok, "flag %s on the resource", f)
					assert.Equal(t, ph.Flags[f], v.Double(), "phase %s flag %s", ph.Name, f)
				}
				items[idx.Int()]++
			}
			for _, ph := range phases {
				assert.Positive(t, items[int64(ph.Index)], "phase %s has data", ph.Name)
			}
		})
	}
}

// TestHighLoad: saturation latency rises with the load, errors stay few.
func TestHighLoad(t *testing.T) {
	g := gen(t, "high-load", func(o *Options) { o.TracesPerSecond = 10 })
	r := collect(g)
	phases := g.Phases()
	selects := make([][]time.Duration, len(phases)) // the catalog's database queries
	traces := make([]map[pcommon.TraceID]bool, len(phases))
	failed := make([]map[pcommon.TraceID]bool, len(phases))
	for i := range phases {
		traces[i], failed[i] = map[pcommon.TraceID]bool{}, map[pcommon.TraceID]bool{}
	}
	for _, s := range spans(r.traces) {
		idx, _ := s.span.Attributes().Get(sessionstore.AttrPhaseIndex)
		i := idx.Int()
		traces[i][s.span.TraceID()] = true
		if s.span.Status().Code() == ptrace.StatusCodeError {
			failed[i][s.span.TraceID()] = true
		}
		if s.span.Name() == "SELECT products" {
			selects[i] = append(selects[i], s.span.EndTimestamp().AsTime().Sub(s.span.StartTimestamp().AsTime()))
		}
	}
	// warmup, ramp-up, high-load, peak: each slower than the one before.
	for i := 1; i < 4; i++ {
		assert.Greater(t, mean(selects[i]), mean(selects[i-1]), "%s slower than %s", phases[i].Name, phases[i-1].Name)
		assert.Greater(t, phases[i].Rate, phases[i-1].Rate)
	}
	assert.Greater(t, mean(selects[3]), 2*mean(selects[0]), "saturated at the peak")
	for i, ph := range phases {
		share := float64(len(failed[i])) / float64(len(traces[i]))
		t.Logf("%-9s %3.0f traces/s: catalog query mean %8s, %4.1f%% of traces failed", ph.Name, ph.Rate, mean(selects[i]), 100*share)
		assert.Less(t, share, 0.1, "phase %s: few errors", ph.Name)
	}
}

// TestComplexTopology: many services, every one emitting, traces deep and
// across HTTP, gRPC, databases and messaging.
func TestComplexTopology(t *testing.T) {
	sc, err := scenario.Builtin("complex-topology")
	require.NoError(t, err)
	r := collect(gen(t, "complex-topology", nil))
	services := map[string]bool{}
	for _, rs := range resourcesOf(r) {
		v, _ := rs.Attributes().Get("service.name")
		services[v.Str()] = true
	}
	assert.Len(t, services, len(sc.Services), "every service emits")
	byID := map[pcommon.SpanID]ptrace.Span{}
	kinds := map[ptrace.SpanKind]bool{}
	dbs := map[string]bool{}
	for _, s := range spans(r.traces) {
		byID[s.span.SpanID()] = s.span
		kinds[s.span.Kind()] = true
		if v, ok := s.span.Attributes().Get("db.system.name"); ok {
			dbs[v.Str()] = true
		}
	}
	for _, k := range []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient, ptrace.SpanKindProducer, ptrace.SpanKindConsumer} {
		assert.True(t, kinds[k], "spans of kind %s", k)
	}
	assert.GreaterOrEqual(t, len(dbs), 3, "database systems %v", dbs)
	deepest := 0
	for _, sp := range byID {
		d := 1
		for p := sp.ParentSpanID(); !p.IsEmpty(); d++ {
			p = byID[p].ParentSpanID()
		}
		deepest = max(deepest, d)
	}
	assert.GreaterOrEqual(t, deepest, 10, "client and server spans, six operations down")
}

// TestTrainingPhases: each fault phase shows its own fault, and only its
// own; baseline shows none but the baseline errors.
func TestTrainingPhases(t *testing.T) {
	g := gen(t, "training-phases", nil)
	r := collect(g)
	phases := g.Phases()
	origins := make([]map[string]int, len(phases))
	for i := range origins {
		origins[i] = map[string]int{}
	}
	for _, s := range spans(r.traces) {
		if v, ok := s.span.Attributes().Get(sessionstore.AttrFaultName); ok {
			idx, _ := s.span.Attributes().Get(sessionstore.AttrPhaseIndex)
			origins[idx.Int()][v.Str()]++
		}
	}
	want := map[string]string{"payment-errors": "paymentFailure", "orders-db-outage": "ordersDbOutage"}
	for i, ph := range phases {
		for fault := range origins[i] {
			if fault == BaselineFaultName {
				continue
			}
			assert.Positive(t, ph.Flags[fault], "phase %s shows fault %s it does not flag", ph.Name, fault)
		}
		if f, ok := want[ph.Name]; ok {
			assert.Positive(t, origins[i][f], "phase %s shows %s", ph.Name, f)
		}
	}
}

func marshal(t *testing.T, b Batch) []byte {
	t.Helper()
	var out []byte
	tb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(b.Traces)
	require.NoError(t, err)
	mb, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(b.Metrics)
	require.NoError(t, err)
	lb, err := (&plog.ProtoMarshaler{}).MarshalLogs(b.Logs)
	require.NoError(t, err)
	out = append(out, tb...)
	out = append(out, mb...)
	return append(out, lb...)
}

func resourcesOf(r run) []pcommon.Resource {
	var out []pcommon.Resource
	for i := range r.traces.ResourceSpans().Len() {
		out = append(out, r.traces.ResourceSpans().At(i).Resource())
	}
	for i := range r.metrics.ResourceMetrics().Len() {
		out = append(out, r.metrics.ResourceMetrics().At(i).Resource())
	}
	for i := range r.logs.ResourceLogs().Len() {
		out = append(out, r.logs.ResourceLogs().At(i).Resource())
	}
	return out
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

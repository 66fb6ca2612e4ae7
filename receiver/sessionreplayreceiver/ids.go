package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"crypto/sha256"
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// idKey remaps trace and span ids by XOR with a per-pass key: a bijection,
// so every reference (parent span ids, links, log records, exemplars) stays
// consistent with no state, and each pass yields new traces.
type idKey struct {
	trace [16]byte
	span  [8]byte
}

// passKey derives the key of one pass from the replay's random seed.
func passKey(seed [32]byte, pass int) idKey {
	var in [40]byte
	copy(in[:32], seed[:])
	binary.BigEndian.PutUint64(in[32:], uint64(pass))
	sum := sha256.Sum256(in[:])
	var k idKey
	copy(k.trace[:], sum[:16])
	copy(k.span[:], sum[16:24])
	return k
}

func (k *idKey) traceID(id pcommon.TraceID) pcommon.TraceID {
	if id.IsEmpty() {
		return id
	}
	for i := range id {
		id[i] ^= k.trace[i]
	}
	return id
}

func (k *idKey) spanID(id pcommon.SpanID) pcommon.SpanID {
	if id.IsEmpty() {
		return id
	}
	for i := range id {
		id[i] ^= k.span[i]
	}
	return id
}

func (k *idKey) remapTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for s := range spans.Len() {
				sp := spans.At(s)
				sp.SetTraceID(k.traceID(sp.TraceID()))
				sp.SetSpanID(k.spanID(sp.SpanID()))
				sp.SetParentSpanID(k.spanID(sp.ParentSpanID()))
				links := sp.Links()
				for l := range links.Len() {
					ln := links.At(l)
					ln.SetTraceID(k.traceID(ln.TraceID()))
					ln.SetSpanID(k.spanID(ln.SpanID()))
				}
			}
		}
	}
}

func (k *idKey) remapLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			recs := sls.At(j).LogRecords()
			for r := range recs.Len() {
				lr := recs.At(r)
				lr.SetTraceID(k.traceID(lr.TraceID()))
				lr.SetSpanID(k.spanID(lr.SpanID()))
			}
		}
	}
}

func (k *idKey) remapMetrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for m := range ms.Len() {
				forEachExemplars(ms.At(m), func(exs pmetric.ExemplarSlice) {
					for e := range exs.Len() {
						ex := exs.At(e)
						ex.SetTraceID(k.traceID(ex.TraceID()))
						ex.SetSpanID(k.spanID(ex.SpanID()))
					}
				})
			}
		}
	}
}

// forEachExemplars calls fn with the exemplars of every data point of m.
func forEachExemplars(m pmetric.Metric, fn func(pmetric.ExemplarSlice)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			fn(dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := range dps.Len() {
			fn(dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			fn(dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := range dps.Len() {
			fn(dps.At(i).Exemplars())
		}
	}
}

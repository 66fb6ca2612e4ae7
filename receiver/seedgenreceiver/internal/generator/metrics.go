package generator // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// durationBuckets are the semantic conventions' advisory boundaries for
// request duration histograms, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// metricFor maps an operation kind to its duration metric and the span
// attributes that become metric attributes.
var metricFor = map[scenario.Kind]struct {
	name, desc string
	attrs      []attribute.Key
}{
	scenario.KindHTTPServer: {"http.server.request.duration", "Duration of HTTP server requests.",
		[]attribute.Key{semconv.HTTPRequestMethodKey, semconv.HTTPRouteKey, semconv.HTTPResponseStatusCodeKey, semconv.URLSchemeKey, semconv.ErrorTypeKey}},
	scenario.KindGRPCServer: {"rpc.server.call.duration", "Duration of RPCs handled by the server.",
		[]attribute.Key{semconv.RPCSystemNameKey, semconv.RPCMethodKey, semconv.RPCResponseStatusCodeKey, semconv.ErrorTypeKey}},
	scenario.KindDBClient: {"db.client.operation.duration", "Duration of database client operations.",
		[]attribute.Key{semconv.DBSystemNameKey, semconv.DBOperationNameKey, semconv.DBCollectionNameKey, semconv.ServerAddressKey, semconv.ErrorTypeKey}},
	scenario.KindProducer: {"messaging.client.operation.duration", "Duration of messaging operation initiated by a producer or consumer client.",
		[]attribute.Key{semconv.MessagingSystemKey, semconv.MessagingOperationNameKey, semconv.MessagingOperationTypeKey, semconv.MessagingDestinationNameKey, semconv.ErrorTypeKey}},
	scenario.KindConsumer: {"messaging.process.duration", "Duration of processing operation.",
		[]attribute.Key{semconv.MessagingSystemKey, semconv.MessagingOperationNameKey, semconv.MessagingDestinationNameKey, semconv.ErrorTypeKey}},
}

// series accumulates one histogram data point.
type series struct {
	service, metric, desc string
	attrs                 pcommon.Map
	key                   string
	count                 uint64
	sum, min, max         float64
	buckets               []uint64
	exemplars             []exemplar // first, slowest and first failed span
	slowest               int
	failed                bool
}

type exemplar struct {
	value   float64
	at      pcommon.Timestamp
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
}

// window is one metrics interval of a phase.
type window struct {
	start, end time.Time
	series     map[string]*series
}

// aggregator turns spans into delta histograms, one data point per series
// and metrics window. A trace counts in the window where it starts, so every
// span is in exactly one data point.
type aggregator struct {
	keyBuf  []byte
	g       *Generator
	ph      *Phase
	windows map[int]*window
	flushed int // windows before this index are emitted
}

func newAggregator(g *Generator, ph *Phase) *aggregator {
	return &aggregator{g: g, ph: ph, windows: map[int]*window{}}
}

func (a *aggregator) window(at time.Time) *window {
	i := int(at.Sub(a.ph.Start) / a.g.o.MetricsInterval)
	w, ok := a.windows[i]
	if !ok {
		start := a.ph.Start.Add(time.Duration(i) * a.g.o.MetricsInterval)
		w = &window{start: start, end: earlier(start.Add(a.g.o.MetricsInterval), a.ph.End), series: map[string]*series{}}
		a.windows[i] = w
	}
	return w
}

// observe records the span of an operation in its duration metric. The
// series key is built in a reused buffer and the attribute map only for a
// new series: this runs for most spans.
func (t *tctx) observe(op *scenario.Operation, sp ptrace.Span, fail *failure) {
	spec, ok := metricFor[op.Kind]
	if !ok {
		return
	}
	w := t.m.window(t.window)
	kb := t.m.keyBuf[:0]
	kb = append(kb, op.Service...)
	kb = append(kb, 0)
	kb = append(kb, spec.name...)
	for _, k := range spec.attrs {
		if v, ok := sp.Attributes().Get(string(k)); ok {
			kb = append(kb, 0)
			kb = append(kb, k...)
			kb = append(kb, '=')
			kb = append(kb, v.AsString()...)
		}
	}
	t.m.keyBuf = kb
	s, ok := w.series[string(kb)]
	if !ok {
		attrs := pcommon.NewMap()
		for _, k := range spec.attrs {
			if v, ok := sp.Attributes().Get(string(k)); ok {
				v.CopyTo(attrs.PutEmpty(string(k)))
			}
		}
		t.g.phaseAttrs(attrs, t.ph)
		key := string(kb)
		s = &series{service: op.Service, metric: spec.name, desc: spec.desc, attrs: attrs, key: key,
			buckets: make([]uint64, len(durationBuckets)+1), min: 1e300}
		w.series[key] = s
	}
	d := time.Duration(sp.EndTimestamp() - sp.StartTimestamp()).Seconds()
	s.count++
	s.sum += d
	s.min = min(s.min, d)
	s.max = max(s.max, d)
	s.buckets[sort.SearchFloat64s(durationBuckets, d)]++
	ex := exemplar{value: d, at: sp.EndTimestamp(), traceID: sp.TraceID(), spanID: sp.SpanID()}
	switch {
	case len(s.exemplars) == 0:
		s.exemplars = append(s.exemplars, ex)
	case fail != nil && !s.failed:
		s.failed = true
		s.exemplars = append(s.exemplars, ex)
	case d > s.exemplars[s.slowest].value:
		if s.slowest == 0 {
			s.exemplars = append(s.exemplars, ex)
			s.slowest = len(s.exemplars) - 1
		} else {
			s.exemplars[s.slowest] = ex
		}
	}
}

// flush emits the windows that ended by upTo (all of them if final).
func (a *aggregator) flush(upTo time.Time, final bool) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, i := range slices.Sorted(maps.Keys(a.windows)) {
		w := a.windows[i]
		if !final && w.end.After(upTo) {
			continue
		}
		a.emit(md, w)
		delete(a.windows, i)
	}
	return md
}

func (a *aggregator) emit(md pmetric.Metrics, w *window) {
	all := slices.SortedFunc(maps.Values(w.series), func(a, b *series) int { return strings.Compare(a.key, b.key) })
	var rm pmetric.ResourceMetrics
	var sm pmetric.ScopeMetrics
	var m pmetric.Metric
	svc, metric := "", ""
	for _, s := range all {
		if s.service != svc {
			rm = md.ResourceMetrics().AppendEmpty()
			a.g.fillResource(rm.Resource(), s.service, a.ph)
			sm = rm.ScopeMetrics().AppendEmpty()
			a.g.fillScope(sm.Scope())
			svc, metric = s.service, ""
		}
		if s.metric != metric {
			m = sm.Metrics().AppendEmpty()
			m.SetName(s.metric)
			m.SetDescription(s.desc)
			m.SetUnit("s")
			m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			metric = s.metric
		}
		dp := m.Histogram().DataPoints().AppendEmpty()
		s.attrs.CopyTo(dp.Attributes())
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(w.start))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(w.end))
		dp.SetCount(s.count)
		dp.SetSum(s.sum)
		dp.SetMin(s.min)
		dp.SetMax(s.max)
		dp.ExplicitBounds().FromRaw(durationBuckets)
		dp.BucketCounts().FromRaw(s.buckets)
		for _, ex := range s.exemplars {
			e := dp.Exemplars().AppendEmpty()
			e.SetDoubleValue(ex.value)
			e.SetTimestamp(ex.at)
			e.SetTraceID(ex.traceID)
			e.SetSpanID(ex.spanID)
		}
	}
}

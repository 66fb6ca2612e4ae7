package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// emitter receives the canonical fields of one item in a fixed order: the
// emit* functions below are the single definition of what an item's content
// is. hashEmitter turns the fields into the content key (ids into the id
// key); fieldEmitter into readable fields, so that two items whose keys
// differ show the fields that differ.
type emitter interface {
	begin(list string, i int) // the fields of the i-th element of list, until end
	end()
	str(key, v string)
	enum(key, v string) // a name from a fixed set (a kind, a status code)
	int(key string, v int64)
	float(key string, v float64)
	value(key string, v pcommon.Value)
	attrs(key string, m pcommon.Map)
	floats(key string, v pcommon.Float64Slice)
	uints(key string, v pcommon.UInt64Slice)
	// time is an absolute time: emitted only for exact comparisons.
	time(key string, ts pcommon.Timestamp)
	// dur is to − from, "unset" when either is.
	dur(key string, from, to pcommon.Timestamp)
	// traceID and spanID are ids, kept apart from the content.
	traceID(key string, id pcommon.TraceID)
	spanID(key string, id pcommon.SpanID)
	// ref is a reference to a span, which enters the content as that
	// span's content key once every span is known.
	ref(key string, r ref)
}

// ref points at a span by its ids.
type ref struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func (r ref) isEmpty() bool { return r.trace.IsEmpty() && r.span.IsEmpty() }

// ServiceName is the service.name resource attribute ("" when unset).
func ServiceName(r pcommon.Resource) string {
	if v, ok := r.Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}

func emitResource(e emitter, r pcommon.Resource) {
	e.attrs("resource.attributes", r.Attributes())
	e.int("resource.dropped_attributes_count", int64(r.DroppedAttributesCount()))
}

func emitScope(e emitter, s pcommon.InstrumentationScope) {
	e.str("scope.name", s.Name())
	e.str("scope.version", s.Version())
	e.attrs("scope.attributes", s.Attributes())
	e.int("scope.dropped_attributes_count", int64(s.DroppedAttributesCount()))
}

func emitSpan(e emitter, sp ptrace.Span, shifted bool) {
	e.str("name", sp.Name())
	e.enum("kind", sp.Kind().String())
	e.enum("status.code", sp.Status().Code().String())
	e.str("status.message", sp.Status().Message())
	e.str("trace_state", sp.TraceState().AsRaw())
	e.int("flags", int64(sp.Flags()))
	start := sp.StartTimestamp()
	if !shifted {
		e.time("start", start)
		e.time("end", sp.EndTimestamp())
	}
	e.dur("duration", start, sp.EndTimestamp())
	e.attrs("attributes", sp.Attributes())
	e.int("dropped_attributes_count", int64(sp.DroppedAttributesCount()))
	e.int("events", int64(sp.Events().Len()))
	for i, ev := range sp.Events().All() {
		e.begin("events", i)
		e.str("name", ev.Name())
		if shifted {
			e.dur("offset", start, ev.Timestamp())
		} else {
			e.time("time", ev.Timestamp())
		}
		e.attrs("attributes", ev.Attributes())
		e.int("dropped_attributes_count", int64(ev.DroppedAttributesCount()))
		e.end()
	}
	e.int("dropped_events_count", int64(sp.DroppedEventsCount()))
	e.int("links", int64(sp.Links().Len()))
	for i, ln := range sp.Links().All() {
		e.begin("links", i)
		e.traceID("trace_id", ln.TraceID())
		e.spanID("span_id", ln.SpanID())
		e.ref("span", ref{ln.TraceID(), ln.SpanID()})
		e.str("trace_state", ln.TraceState().AsRaw())
		e.int("flags", int64(ln.Flags()))
		e.attrs("attributes", ln.Attributes())
		e.int("dropped_attributes_count", int64(ln.DroppedAttributesCount()))
		e.end()
	}
	e.int("dropped_links_count", int64(sp.DroppedLinksCount()))
	e.traceID("trace_id", sp.TraceID())
	e.spanID("span_id", sp.SpanID())
	e.spanID("parent_span_id", sp.ParentSpanID())
}

func emitLog(e emitter, lr plog.LogRecord, shifted bool) {
	e.str("severity_text", lr.SeverityText())
	e.enum("severity_number", lr.SeverityNumber().String())
	e.str("event_name", lr.EventName())
	e.value("body", lr.Body())
	e.attrs("attributes", lr.Attributes())
	e.int("dropped_attributes_count", int64(lr.DroppedAttributesCount()))
	e.int("flags", int64(lr.Flags()))
	if !shifted {
		e.time("time", lr.Timestamp())
		e.time("observed_time", lr.ObservedTimestamp())
	}
	e.dur("observed_offset", lr.Timestamp(), lr.ObservedTimestamp())
	e.traceID("trace_id", lr.TraceID())
	e.spanID("span_id", lr.SpanID())
	e.ref("span", ref{lr.TraceID(), lr.SpanID()})
}

// emitMetric emits what the data points of a metric share.
func emitMetric(e emitter, m pmetric.Metric) {
	e.str("metric.name", m.Name())
	e.enum("metric.type", m.Type().String())
	e.str("metric.unit", m.Unit())
	e.str("metric.description", m.Description())
	switch m.Type() {
	case pmetric.MetricTypeSum:
		e.enum("metric.temporality", m.Sum().AggregationTemporality().String())
		e.enum("metric.monotonic", strconv.FormatBool(m.Sum().IsMonotonic()))
	case pmetric.MetricTypeHistogram:
		e.enum("metric.temporality", m.Histogram().AggregationTemporality().String())
	case pmetric.MetricTypeExponentialHistogram:
		e.enum("metric.temporality", m.ExponentialHistogram().AggregationTemporality().String())
	}
	e.attrs("metric.metadata", m.Metadata())
}

// emitPointTimes emits a data point's start time and time: both absolute
// for exact comparisons, and the interval between them.
func emitPointTimes(e emitter, start, ts pcommon.Timestamp, shifted bool) {
	if !shifted {
		e.time("start", start)
		e.time("time", ts)
	}
	e.dur("interval", start, ts)
}

func emitNumberPoint(e emitter, p pmetric.NumberDataPoint, shifted bool) {
	switch p.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		e.int("value", p.IntValue())
	case pmetric.NumberDataPointValueTypeDouble:
		e.float("value", p.DoubleValue())
	default:
		e.str("value", "unset")
	}
	e.attrs("attributes", p.Attributes())
	e.int("flags", int64(p.Flags()))
	emitPointTimes(e, p.StartTimestamp(), p.Timestamp(), shifted)
	emitExemplars(e, p.Exemplars(), p.Timestamp(), shifted)
}

func emitOptional(e emitter, key string, has bool, v float64) {
	if has {
		e.float(key, v)
	} else {
		e.str(key, "unset")
	}
}

func emitHistogramPoint(e emitter, p pmetric.HistogramDataPoint, shifted bool) {
	e.int("count", int64(p.Count()))
	emitOptional(e, "sum", p.HasSum(), p.Sum())
	emitOptional(e, "min", p.HasMin(), p.Min())
	emitOptional(e, "max", p.HasMax(), p.Max())
	e.floats("explicit_bounds", p.ExplicitBounds())
	e.uints("bucket_counts", p.BucketCounts())
	e.attrs("attributes", p.Attributes())
	e.int("flags", int64(p.Flags()))
	emitPointTimes(e, p.StartTimestamp(), p.Timestamp(), shifted)
	emitExemplars(e, p.Exemplars(), p.Timestamp(), shifted)
}

func emitExpHistogramPoint(e emitter, p pmetric.ExponentialHistogramDataPoint, shifted bool) {
	e.int("count", int64(p.Count()))
	emitOptional(e, "sum", p.HasSum(), p.Sum())
	emitOptional(e, "min", p.HasMin(), p.Min())
	emitOptional(e, "max", p.HasMax(), p.Max())
	e.int("scale", int64(p.Scale()))
	e.int("zero_count", int64(p.ZeroCount()))
	e.float("zero_threshold", p.ZeroThreshold())
	e.int("positive.offset", int64(p.Positive().Offset()))
	e.uints("positive.bucket_counts", p.Positive().BucketCounts())
	e.int("negative.offset", int64(p.Negative().Offset()))
	e.uints("negative.bucket_counts", p.Negative().BucketCounts())
	e.attrs("attributes", p.Attributes())
	e.int("flags", int64(p.Flags()))
	emitPointTimes(e, p.StartTimestamp(), p.Timestamp(), shifted)
	emitExemplars(e, p.Exemplars(), p.Timestamp(), shifted)
}

func emitSummaryPoint(e emitter, p pmetric.SummaryDataPoint, shifted bool) {
	e.int("count", int64(p.Count()))
	e.float("sum", p.Sum())
	e.int("quantiles", int64(p.QuantileValues().Len()))
	for i, q := range p.QuantileValues().All() {
		e.begin("quantiles", i)
		e.float("quantile", q.Quantile())
		e.float("value", q.Value())
		e.end()
	}
	e.attrs("attributes", p.Attributes())
	e.int("flags", int64(p.Flags()))
	emitPointTimes(e, p.StartTimestamp(), p.Timestamp(), shifted)
}

func emitExemplars(e emitter, exs pmetric.ExemplarSlice, pointTime pcommon.Timestamp, shifted bool) {
	e.int("exemplars", int64(exs.Len()))
	for i, ex := range exs.All() {
		e.begin("exemplars", i)
		switch ex.ValueType() {
		case pmetric.ExemplarValueTypeInt:
			e.int("value", ex.IntValue())
		case pmetric.ExemplarValueTypeDouble:
			e.float("value", ex.DoubleValue())
		default:
			e.str("value", "unset")
		}
		if shifted {
			e.dur("offset", pointTime, ex.Timestamp())
		} else {
			e.time("time", ex.Timestamp())
		}
		e.attrs("filtered_attributes", ex.FilteredAttributes())
		e.traceID("trace_id", ex.TraceID())
		e.spanID("span_id", ex.SpanID())
		e.ref("span", ref{ex.TraceID(), ex.SpanID()})
		e.end()
	}
}

// points calls fn for every data point of m with its time, emitting the
// point's own fields; the metric's fields are emitted by the caller.
func points(m pmetric.Metric, fn func(ts pcommon.Timestamp, emit func(emitter, bool))) {
	pdatawalk.VisitPoints(m, pdatawalk.PointVisitor{
		Number: func(p pmetric.NumberDataPoint) {
			fn(p.Timestamp(), func(e emitter, shifted bool) { emitNumberPoint(e, p, shifted) })
		},
		Histogram: func(p pmetric.HistogramDataPoint) {
			fn(p.Timestamp(), func(e emitter, shifted bool) { emitHistogramPoint(e, p, shifted) })
		},
		ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) {
			fn(p.Timestamp(), func(e emitter, shifted bool) { emitExpHistogramPoint(e, p, shifted) })
		},
		Summary: func(p pmetric.SummaryDataPoint) {
			fn(p.Timestamp(), func(e emitter, shifted bool) { emitSummaryPoint(e, p, shifted) })
		},
	})
}

// seed keys every hash of a process: keys are compared only within one.
var seed = maphash.MakeSeed()

// mix combines two keys.
func mix(a, b uint64) uint64 { return maphash.Comparable(seed, [2]uint64{a, b}) }

// twin computes two keys at once: the content key and the relaxed key,
// which leaves out the absolute times (while timeless is set). Without
// Shifted, a missing item pairs with an extra one of the same relaxed key
// first: the same item, moved in time.
type twin struct {
	full, relaxed maphash.Hash
	timeless      bool
	buf           [8]byte
}

func (t *twin) u64(v uint64) {
	binary.LittleEndian.PutUint64(t.buf[:], v)
	_, _ = t.Write(t.buf[:])
}

func (t *twin) str(s string) {
	t.u64(uint64(len(s)))
	_, _ = t.WriteString(s)
}

func (t *twin) Write(p []byte) (int, error) {
	if !t.timeless {
		_, _ = t.relaxed.Write(p)
	}
	return t.full.Write(p)
}

func (t *twin) WriteString(s string) (int, error) {
	if !t.timeless {
		_, _ = t.relaxed.WriteString(s)
	}
	return t.full.WriteString(s)
}

func (t *twin) WriteByte(b byte) error {
	if !t.timeless {
		_ = t.relaxed.WriteByte(b)
	}
	return t.full.WriteByte(b)
}

func (t *twin) Sum64() uint64 { return t.full.Sum64() }

// hashEmitter computes an item's content key, relaxed key and id key.
type hashEmitter struct {
	content twin
	ids     maphash.Hash
	refs    []ref
	kvs     []kv // scratch for the top-level maps
}

type kv struct {
	k string
	v pcommon.Value
}

func newHashEmitter() *hashEmitter {
	e := &hashEmitter{}
	e.content.full.SetSeed(seed)
	e.content.relaxed.SetSeed(seed)
	e.ids.SetSeed(seed)
	return e
}

func (e *hashEmitter) reset() {
	e.content.full.Reset()
	e.content.relaxed.Reset()
	e.ids.Reset()
	e.refs = e.refs[:0]
}

func writeU64(h *maphash.Hash, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, _ = h.Write(b[:])
}

func writeStr(h *maphash.Hash, s string) {
	writeU64(h, uint64(len(s)))
	_, _ = h.WriteString(s)
}

// key writes a field's type tag and name, so that no two emissions of
// different fields can hash alike.
func (e *hashEmitter) key(tag byte, k string) {
	_ = e.content.WriteByte(tag)
	e.content.str(k)
}

func (e *hashEmitter) begin(list string, i int) { e.key('[', list); e.content.u64(uint64(i)) }
func (e *hashEmitter) end()                     { _ = e.content.WriteByte(']') }
func (e *hashEmitter) str(k, v string)          { e.key('s', k); e.content.str(v) }
func (e *hashEmitter) enum(k, v string)         { e.key('E', k); e.content.str(v) }
func (e *hashEmitter) int(k string, v int64)    { e.key('i', k); e.content.u64(uint64(v)) }
func (e *hashEmitter) float(k string, v float64) {
	e.key('f', k)
	e.content.u64(math.Float64bits(v))
}

func (e *hashEmitter) value(k string, v pcommon.Value) {
	e.key('v', k)
	e.writeValue(v)
}

func (e *hashEmitter) attrs(k string, m pcommon.Map) {
	e.key('a', k)
	e.kvs = e.writeMap(m, e.kvs[:0])
}

func (e *hashEmitter) floats(k string, v pcommon.Float64Slice) {
	e.key('F', k)
	e.content.u64(uint64(v.Len()))
	for _, f := range v.All() {
		e.content.u64(math.Float64bits(f))
	}
}

func (e *hashEmitter) uints(k string, v pcommon.UInt64Slice) {
	e.key('U', k)
	e.content.u64(uint64(v.Len()))
	for _, u := range v.All() {
		e.content.u64(u)
	}
}

func (e *hashEmitter) time(k string, ts pcommon.Timestamp) {
	e.content.timeless = true
	e.key('t', k)
	e.content.u64(uint64(ts))
	e.content.timeless = false
}

func (e *hashEmitter) dur(k string, from, to pcommon.Timestamp) {
	if from == 0 || to == 0 {
		e.key('u', k) // unset
		return
	}
	e.key('d', k)
	e.content.u64(uint64(int64(to) - int64(from)))
}

func (e *hashEmitter) traceID(k string, id pcommon.TraceID) {
	writeStr(&e.ids, k)
	_, _ = e.ids.Write(id[:])
}

func (e *hashEmitter) spanID(k string, id pcommon.SpanID) {
	writeStr(&e.ids, k)
	_, _ = e.ids.Write(id[:])
}

func (e *hashEmitter) ref(k string, r ref) {
	e.key('r', k)
	e.refs = append(e.refs, r)
}

// writeMap hashes m with its keys sorted, using scratch for the sort, and
// returns scratch for reuse.
func (e *hashEmitter) writeMap(m pcommon.Map, scratch []kv) []kv {
	scratch = scratch[:0]
	for k, v := range m.All() {
		scratch = append(scratch, kv{k, v})
	}
	slices.SortFunc(scratch, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	e.content.u64(uint64(len(scratch)))
	for _, p := range scratch {
		e.content.str(p.k)
		e.writeValue(p.v)
	}
	return scratch
}

func (e *hashEmitter) writeValue(v pcommon.Value) {
	h := &e.content
	switch v.Type() {
	case pcommon.ValueTypeStr:
		_ = h.WriteByte('s')
		h.str(v.Str())
	case pcommon.ValueTypeInt:
		_ = h.WriteByte('i')
		h.u64(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		_ = h.WriteByte('d')
		h.u64(math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		_ = h.WriteByte('b')
		if v.Bool() {
			_ = h.WriteByte(1)
		} else {
			_ = h.WriteByte(0)
		}
	case pcommon.ValueTypeBytes:
		_ = h.WriteByte('y')
		h.u64(uint64(v.Bytes().Len()))
		_, _ = h.Write(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		_ = h.WriteByte('m')
		e.writeMap(v.Map(), nil) // nested: a scratch of its own
	case pcommon.ValueTypeSlice:
		_ = h.WriteByte('l')
		h.u64(uint64(v.Slice().Len()))
		for _, el := range v.Slice().All() {
			e.writeValue(el)
		}
	default:
		_ = h.WriteByte('e')
	}
}

// Field is one readable field of an item: a path in the style of OTTL
// (attributes["http.route"], events[0].name, resource.attributes["host.name"])
// and its value.
type Field struct {
	Key, Value string
}

// fieldEmitter collects an item's readable fields.
type fieldEmitter struct {
	fields  []Field
	prefix  []string
	shifted bool
	resolve func(ref) string
}

func (e *fieldEmitter) add(k, v string) {
	if n := len(e.prefix); n > 0 {
		k = e.prefix[n-1] + k
	}
	e.fields = append(e.fields, Field{k, v})
}

func (e *fieldEmitter) begin(list string, i int) {
	p := ""
	if n := len(e.prefix); n > 0 {
		p = e.prefix[n-1]
	}
	e.prefix = append(e.prefix, fmt.Sprintf("%s%s[%d].", p, list, i))
}

func (e *fieldEmitter) end()                            { e.prefix = e.prefix[:len(e.prefix)-1] }
func (e *fieldEmitter) str(k, v string)                 { e.add(k, strconv.Quote(v)) }
func (e *fieldEmitter) enum(k, v string)                { e.add(k, v) }
func (e *fieldEmitter) int(k string, v int64)           { e.add(k, strconv.FormatInt(v, 10)) }
func (e *fieldEmitter) float(k string, v float64)       { e.add(k, formatFloat(v)) }
func (e *fieldEmitter) value(k string, v pcommon.Value) { e.add(k, FormatValue(v)) }
func (e *fieldEmitter) time(k string, ts pcommon.Timestamp) {
	e.add(k, FormatTime(ts))
}

func (e *fieldEmitter) attrs(k string, m pcommon.Map) {
	for _, p := range sortedMap(m) {
		e.add(k+"["+strconv.Quote(p.k)+"]", FormatValue(p.v))
	}
}

func (e *fieldEmitter) floats(k string, v pcommon.Float64Slice) {
	parts := make([]string, 0, v.Len())
	for _, f := range v.All() {
		parts = append(parts, formatFloat(f))
	}
	e.add(k, "["+strings.Join(parts, ", ")+"]")
}

func (e *fieldEmitter) uints(k string, v pcommon.UInt64Slice) {
	parts := make([]string, 0, v.Len())
	for _, u := range v.All() {
		parts = append(parts, strconv.FormatUint(u, 10))
	}
	e.add(k, "["+strings.Join(parts, ", ")+"]")
}

func (e *fieldEmitter) dur(k string, from, to pcommon.Timestamp) {
	if from == 0 || to == 0 {
		e.add(k, "unset")
		return
	}
	e.add(k, time.Duration(int64(to)-int64(from)).String())
}

func (e *fieldEmitter) traceID(k string, id pcommon.TraceID) {
	if !e.shifted {
		e.add(k, FormatTraceID(id))
	}
}

func (e *fieldEmitter) spanID(k string, id pcommon.SpanID) {
	if !e.shifted {
		e.add(k, FormatSpanID(id))
	}
}

func (e *fieldEmitter) ref(k string, r ref) {
	if e.resolve != nil {
		e.add(k, e.resolve(r))
	}
}

func sortedMap(m pcommon.Map) []kv {
	out := make([]kv, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
	return out
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// FormatValue renders an attribute value on one line: strings quoted (so
// that "1" and 1 differ), maps with their keys sorted, bytes in hex.
func FormatValue(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return strconv.Quote(v.Str())
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return formatFloat(v.Double())
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.Bool())
	case pcommon.ValueTypeBytes:
		return "0x" + hex.EncodeToString(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		return FormatAttributes(v.Map())
	case pcommon.ValueTypeSlice:
		parts := make([]string, 0, v.Slice().Len())
		for _, el := range v.Slice().All() {
			parts = append(parts, FormatValue(el))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "(empty)"
}

// FormatAttributes renders a map as {k=v, …} with its keys sorted.
func FormatAttributes(m pcommon.Map) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, p := range sortedMap(m) {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(p.k)
		sb.WriteByte('=')
		sb.WriteString(FormatValue(p.v))
	}
	sb.WriteByte('}')
	return sb.String()
}

// FormatTime renders a timestamp in RFC 3339 with nanoseconds, UTC ("unset"
// for zero).
func FormatTime(ts pcommon.Timestamp) string {
	if ts == 0 {
		return "unset"
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// FormatTraceID renders a trace id in hex ("-" when empty).
func FormatTraceID(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return "-"
	}
	return hex.EncodeToString(id[:])
}

// FormatSpanID renders a span id in hex ("-" when empty).
func FormatSpanID(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return "-"
	}
	return hex.EncodeToString(id[:])
}

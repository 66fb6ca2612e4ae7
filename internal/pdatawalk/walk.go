package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Visitor says what a walk does with each set (non-zero, non-empty) field
// it meets: each func returns the field's value from now on, and a value
// returned unchanged is not written (so a walk that changes nothing may run
// over read-only data). A nil func skips that kind of field.
type Visitor struct {
	Time    func(Field, pcommon.Timestamp) pcommon.Timestamp
	TraceID func(Field, pcommon.TraceID) pcommon.TraceID
	SpanID  func(Field, pcommon.SpanID) pcommon.SpanID
}

// WalkTraces visits the fields of every span of td, its events and links.
func WalkTraces(td ptrace.Traces, v Visitor) {
	for _, sp := range Spans(td) {
		spanFields.visit(sp, v)
		if v.Time != nil {
			for _, ev := range sp.Events().All() {
				spanEventFields.visit(ev, v)
			}
		}
		if v.TraceID != nil || v.SpanID != nil {
			for _, ln := range sp.Links().All() {
				spanLinkFields.visit(ln, v)
			}
		}
	}
}

// WalkLogs visits the fields of every log record of ld.
func WalkLogs(ld plog.Logs, v Visitor) {
	for _, lr := range LogRecords(ld) {
		logFields.visit(lr, v)
	}
}

// WalkMetrics visits the fields of every data point of md, all five metric
// types, and of their exemplars.
func WalkMetrics(md pmetric.Metrics, v Visitor) {
	w := pointWalker{v: v}
	for _, m := range Metrics(md) {
		visitPoints[struct{}](m, w)
	}
}

// field is one field of type V of items of type T.
type field[T any, V comparable] struct {
	name Field
	get  func(T) V
	set  func(T, V)
}

// fieldsOf lists the fields of an item type a Visitor can see.
type fieldsOf[T any] struct {
	times    []field[T, pcommon.Timestamp]
	traceIDs []field[T, pcommon.TraceID]
	spanIDs  []field[T, pcommon.SpanID]
}

func (fs *fieldsOf[T]) visit(item T, v Visitor) {
	visitFields(item, fs.times, v.Time)
	visitFields(item, fs.traceIDs, v.TraceID)
	visitFields(item, fs.spanIDs, v.SpanID)
}

func visitFields[T any, V comparable](item T, fields []field[T, V], fn func(Field, V) V) {
	if fn == nil {
		return
	}
	var unset V
	for _, f := range fields {
		if v := f.get(item); v != unset {
			if nv := fn(f.name, v); nv != v {
				f.set(item, nv)
			}
		}
	}
}

// The fields of each item type: "every time field and every id of every
// signal" as data, checked against pdata by TestEveryTimestampField and
// TestEveryIDField.
var (
	spanFields = fieldsOf[ptrace.Span]{
		times:    []field[ptrace.Span, pcommon.Timestamp]{{SpanStart, ptrace.Span.StartTimestamp, ptrace.Span.SetStartTimestamp}, {SpanEnd, ptrace.Span.EndTimestamp, ptrace.Span.SetEndTimestamp}},
		traceIDs: []field[ptrace.Span, pcommon.TraceID]{{SpanTraceID, ptrace.Span.TraceID, ptrace.Span.SetTraceID}},
		spanIDs:  []field[ptrace.Span, pcommon.SpanID]{{SpanSpanID, ptrace.Span.SpanID, ptrace.Span.SetSpanID}, {SpanParentSpanID, ptrace.Span.ParentSpanID, ptrace.Span.SetParentSpanID}},
	}
	spanEventFields = fieldsOf[ptrace.SpanEvent]{times: []field[ptrace.SpanEvent, pcommon.Timestamp]{{SpanEventTime, ptrace.SpanEvent.Timestamp, ptrace.SpanEvent.SetTimestamp}}}
	spanLinkFields  = fieldsOf[ptrace.SpanLink]{
		traceIDs: []field[ptrace.SpanLink, pcommon.TraceID]{{SpanLinkTraceID, ptrace.SpanLink.TraceID, ptrace.SpanLink.SetTraceID}},
		spanIDs:  []field[ptrace.SpanLink, pcommon.SpanID]{{SpanLinkSpanID, ptrace.SpanLink.SpanID, ptrace.SpanLink.SetSpanID}},
	}
	logFields = fieldsOf[plog.LogRecord]{
		times:    []field[plog.LogRecord, pcommon.Timestamp]{{LogTime, plog.LogRecord.Timestamp, plog.LogRecord.SetTimestamp}, {LogObservedTime, plog.LogRecord.ObservedTimestamp, plog.LogRecord.SetObservedTimestamp}},
		traceIDs: []field[plog.LogRecord, pcommon.TraceID]{{LogTraceID, plog.LogRecord.TraceID, plog.LogRecord.SetTraceID}},
		spanIDs:  []field[plog.LogRecord, pcommon.SpanID]{{LogSpanID, plog.LogRecord.SpanID, plog.LogRecord.SetSpanID}},
	}
	numberFields       = pointFields(NumberPointStart, NumberPointTime, pmetric.NumberDataPoint.StartTimestamp, pmetric.NumberDataPoint.SetStartTimestamp, pmetric.NumberDataPoint.Timestamp, pmetric.NumberDataPoint.SetTimestamp)
	histogramFields    = pointFields(HistogramPointStart, HistogramPointTime, pmetric.HistogramDataPoint.StartTimestamp, pmetric.HistogramDataPoint.SetStartTimestamp, pmetric.HistogramDataPoint.Timestamp, pmetric.HistogramDataPoint.SetTimestamp)
	expHistogramFields = pointFields(ExpHistogramPointStart, ExpHistogramPointTime, pmetric.ExponentialHistogramDataPoint.StartTimestamp, pmetric.ExponentialHistogramDataPoint.SetStartTimestamp, pmetric.ExponentialHistogramDataPoint.Timestamp, pmetric.ExponentialHistogramDataPoint.SetTimestamp)
	summaryFields      = pointFields(SummaryPointStart, SummaryPointTime, pmetric.SummaryDataPoint.StartTimestamp, pmetric.SummaryDataPoint.SetStartTimestamp, pmetric.SummaryDataPoint.Timestamp, pmetric.SummaryDataPoint.SetTimestamp)
	exemplarFields     = fieldsOf[pmetric.Exemplar]{
		times:    []field[pmetric.Exemplar, pcommon.Timestamp]{{ExemplarTime, pmetric.Exemplar.Timestamp, pmetric.Exemplar.SetTimestamp}},
		traceIDs: []field[pmetric.Exemplar, pcommon.TraceID]{{ExemplarTraceID, pmetric.Exemplar.TraceID, pmetric.Exemplar.SetTraceID}},
		spanIDs:  []field[pmetric.Exemplar, pcommon.SpanID]{{ExemplarSpanID, pmetric.Exemplar.SpanID, pmetric.Exemplar.SetSpanID}},
	}
)

// pointFields lists the two times every data point type has: start time
// and time.
func pointFields[P any](start, at Field, getStart func(P) pcommon.Timestamp, setStart func(P, pcommon.Timestamp),
	get func(P) pcommon.Timestamp, set func(P, pcommon.Timestamp),
) fieldsOf[P] {
	return fieldsOf[P]{times: []field[P, pcommon.Timestamp]{{start, getStart, setStart}, {at, get, set}}}
}

// pointWalker visits data points, by point type.
type pointWalker struct{ v Visitor }

func (w pointWalker) number(s pmetric.NumberDataPointSlice) struct{} {
	return walkPoints(s, w.v, &numberFields, pmetric.NumberDataPoint.Exemplars)
}

func (w pointWalker) histogram(s pmetric.HistogramDataPointSlice) struct{} {
	return walkPoints(s, w.v, &histogramFields, pmetric.HistogramDataPoint.Exemplars)
}

func (w pointWalker) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) struct{} {
	return walkPoints(s, w.v, &expHistogramFields, pmetric.ExponentialHistogramDataPoint.Exemplars)
}

func (w pointWalker) summary(s pmetric.SummaryDataPointSlice) struct{} {
	return walkPoints(s, w.v, &summaryFields, nil) // summaries have no exemplars
}

// walkPoints is the one loop over the data points of every type; the slice
// stays a type parameter, so nothing is boxed per point.
func walkPoints[P any, S pointSlice[P]](s S, v Visitor, fields *fieldsOf[P], exemplars func(P) pmetric.ExemplarSlice) struct{} {
	for i := range s.Len() {
		p := s.At(i)
		fields.visit(p, v)
		if exemplars == nil {
			continue
		}
		exs := exemplars(p)
		for j := range exs.Len() {
			exemplarFields.visit(exs.At(j), v)
		}
	}
	return struct{}{}
}

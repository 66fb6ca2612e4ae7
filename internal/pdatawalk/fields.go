package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

// Field names one timestamp or id field of pdata.
type Field uint8

// Every timestamp field and every trace and span id field of traces,
// metrics and logs in pdata v1.71.0. A field pdata adds later fails
// TestEveryTimestampField or TestEveryIDField until it is listed here and
// visited.
const (
	SpanStart              Field = iota // ptrace.Span.StartTimestamp
	SpanEnd                             // ptrace.Span.EndTimestamp
	SpanEventTime                       // ptrace.SpanEvent.Timestamp
	LogTime                             // plog.LogRecord.Timestamp
	LogObservedTime                     // plog.LogRecord.ObservedTimestamp
	NumberPointStart                    // pmetric.NumberDataPoint.StartTimestamp
	NumberPointTime                     // pmetric.NumberDataPoint.Timestamp
	HistogramPointStart                 // pmetric.HistogramDataPoint.StartTimestamp
	HistogramPointTime                  // pmetric.HistogramDataPoint.Timestamp
	ExpHistogramPointStart              // pmetric.ExponentialHistogramDataPoint.StartTimestamp
	ExpHistogramPointTime               // pmetric.ExponentialHistogramDataPoint.Timestamp
	SummaryPointStart                   // pmetric.SummaryDataPoint.StartTimestamp
	SummaryPointTime                    // pmetric.SummaryDataPoint.Timestamp
	ExemplarTime                        // pmetric.Exemplar.Timestamp

	SpanTraceID      // ptrace.Span.TraceID
	SpanSpanID       // ptrace.Span.SpanID
	SpanParentSpanID // ptrace.Span.ParentSpanID
	SpanLinkTraceID  // ptrace.SpanLink.TraceID
	SpanLinkSpanID   // ptrace.SpanLink.SpanID
	LogTraceID       // plog.LogRecord.TraceID
	LogSpanID        // plog.LogRecord.SpanID
	ExemplarTraceID  // pmetric.Exemplar.TraceID
	ExemplarSpanID   // pmetric.Exemplar.SpanID

	numFields
)

var fieldNames = [numFields]string{
	SpanStart:              "ptrace.Span.StartTimestamp",
	SpanEnd:                "ptrace.Span.EndTimestamp",
	SpanEventTime:          "ptrace.SpanEvent.Timestamp",
	LogTime:                "plog.LogRecord.Timestamp",
	LogObservedTime:        "plog.LogRecord.ObservedTimestamp",
	NumberPointStart:       "pmetric.NumberDataPoint.StartTimestamp",
	NumberPointTime:        "pmetric.NumberDataPoint.Timestamp",
	HistogramPointStart:    "pmetric.HistogramDataPoint.StartTimestamp",
	HistogramPointTime:     "pmetric.HistogramDataPoint.Timestamp",
	ExpHistogramPointStart: "pmetric.ExponentialHistogramDataPoint.StartTimestamp",
	ExpHistogramPointTime:  "pmetric.ExponentialHistogramDataPoint.Timestamp",
	SummaryPointStart:      "pmetric.SummaryDataPoint.StartTimestamp",
	SummaryPointTime:       "pmetric.SummaryDataPoint.Timestamp",
	ExemplarTime:           "pmetric.Exemplar.Timestamp",
	SpanTraceID:            "ptrace.Span.TraceID",
	SpanSpanID:             "ptrace.Span.SpanID",
	SpanParentSpanID:       "ptrace.Span.ParentSpanID",
	SpanLinkTraceID:        "ptrace.SpanLink.TraceID",
	SpanLinkSpanID:         "ptrace.SpanLink.SpanID",
	LogTraceID:             "plog.LogRecord.TraceID",
	LogSpanID:              "plog.LogRecord.SpanID",
	ExemplarTraceID:        "pmetric.Exemplar.TraceID",
	ExemplarSpanID:         "pmetric.Exemplar.SpanID",
}

// String returns the field as package.Type.Method, e.g. ptrace.Span.StartTimestamp.
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "unknown"
}

// IsPointTime reports whether f is the time of a data point (the instant a
// point describes, as opposed to its start time or an exemplar's time).
func (f Field) IsPointTime() bool {
	return f == NumberPointTime || f == HistogramPointTime || f == ExpHistogramPointTime || f == SummaryPointTime
}

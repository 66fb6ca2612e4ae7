package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"iter"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Parents are the resource and instrumentation scope an item sits in.
type Parents struct {
	Resource pcommon.Resource
	Scope    pcommon.InstrumentationScope
}

// Spans yields every span of td with its resource and scope.
func Spans(td ptrace.Traces) iter.Seq2[Parents, ptrace.Span] {
	return nested[ptrace.Span](td.ResourceSpans(), ptrace.ResourceSpans.Resource, ptrace.ResourceSpans.ScopeSpans,
		ptrace.ScopeSpans.Scope, ptrace.ScopeSpans.Spans)
}

// LogRecords yields every log record of ld with its resource and scope.
func LogRecords(ld plog.Logs) iter.Seq2[Parents, plog.LogRecord] {
	return nested[plog.LogRecord](ld.ResourceLogs(), plog.ResourceLogs.Resource, plog.ResourceLogs.ScopeLogs,
		plog.ScopeLogs.Scope, plog.ScopeLogs.LogRecords)
}

// Metrics yields every metric of md (a metric holds the data points) with
// its resource and scope.
func Metrics(md pmetric.Metrics) iter.Seq2[Parents, pmetric.Metric] {
	return nested[pmetric.Metric](md.ResourceMetrics(), pmetric.ResourceMetrics.Resource, pmetric.ResourceMetrics.ScopeMetrics,
		pmetric.ScopeMetrics.Scope, pmetric.ScopeMetrics.Metrics)
}

// slice is what pdata's generated slices have in common.
type slice[T any] interface {
	Len() int
	At(int) T
}

// nested is the one resource → scope → item walk, for every signal. The
// slices stay type parameters, so walking allocates nothing per resource,
// scope or item.
func nested[I, R, S any, RS slice[R], SS slice[S], IS slice[I]](
	resources RS, resource func(R) pcommon.Resource,
	scopes func(R) SS, scope func(S) pcommon.InstrumentationScope,
	items func(S) IS,
) iter.Seq2[Parents, I] {
	return func(yield func(Parents, I) bool) {
		for i := range resources.Len() {
			r := resources.At(i)
			ss := scopes(r)
			for j := range ss.Len() {
				s := ss.At(j)
				at := Parents{Resource: resource(r), Scope: scope(s)}
				is := items(s)
				for k := range is.Len() {
					if !yield(at, is.At(k)) {
						return
					}
				}
			}
		}
	}
}

// ResourceSpanCount counts the spans of one resource.
func ResourceSpanCount(rs ptrace.ResourceSpans) int {
	n := 0
	for _, ss := range rs.ScopeSpans().All() {
		n += ss.Spans().Len()
	}
	return n
}

// ResourceLogRecordCount counts the log records of one resource.
func ResourceLogRecordCount(rl plog.ResourceLogs) int {
	n := 0
	for _, sl := range rl.ScopeLogs().All() {
		n += sl.LogRecords().Len()
	}
	return n
}

// ResourceDataPointCount counts the data points of one resource, all types.
func ResourceDataPointCount(rm pmetric.ResourceMetrics) int {
	n := 0
	for _, sm := range rm.ScopeMetrics().All() {
		for _, m := range sm.Metrics().All() {
			n += DataPointCount(m)
		}
	}
	return n
}

package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
)

// Canonical serializes every span, every metric data point and every log
// record on its own (as a one-item OTLP export request with its resource,
// scope and metric) and sorts the results: two data sets are equal in this
// form exactly when they hold the same items with the same bytes, however
// they were batched.
func Canonical(t testing.TB, td ptrace.Traces, md pmetric.Metrics, ld plog.Logs) [][]byte {
	t.Helper()
	var out [][]byte
	add := func(tag byte, b []byte, err error) {
		require.NoError(t, err)
		out = append(out, append([]byte{tag}, b...))
	}
	for at, sp := range pdatawalk.Spans(td) {
		one := ptrace.NewTraces()
		rs := one.ResourceSpans().AppendEmpty()
		at.Resource.CopyTo(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		at.Scope.CopyTo(ss.Scope())
		sp.CopyTo(ss.Spans().AppendEmpty())
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(one)
		add('T', b, err)
	}
	for at, m := range pdatawalk.Metrics(md) {
		for p := range pdatawalk.DataPointCount(m) {
			one := pmetric.NewMetrics()
			rm := one.ResourceMetrics().AppendEmpty()
			at.Resource.CopyTo(rm.Resource())
			sm := rm.ScopeMetrics().AppendEmpty()
			at.Scope.CopyTo(sm.Scope())
			om := sm.Metrics().AppendEmpty()
			m.CopyTo(om)
			pdatawalk.KeepDataPoint(om, p)
			b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(one)
			add('M', b, err)
		}
	}
	for at, lr := range pdatawalk.LogRecords(ld) {
		one := plog.NewLogs()
		rl := one.ResourceLogs().AppendEmpty()
		at.Resource.CopyTo(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		at.Scope.CopyTo(sl.Scope())
		lr.CopyTo(sl.LogRecords().AppendEmpty())
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(one)
		add('L', b, err)
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"bytes"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Canonical serializes every span, every metric data point and every log
// record on its own (as a one-item OTLP export request with its resource,
// scope and metric) and sorts the results: two data sets are equal in this
// form exactly when they hold the same items with the same bytes, however
// they were batched.
func Canonical(t testing.TB, td ptrace.Traces, md pmetric.Metrics, ld plog.Logs) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			for k := range ss.Spans().Len() {
				one := ptrace.NewTraces()
				ors := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(ors.Resource())
				oss := ors.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(oss.Scope())
				ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
				b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(one)
				require.NoError(t, err)
				out = append(out, append([]byte("T"), b...))
			}
		}
	}
	for i := range md.ResourceMetrics().Len() {
		rm := md.ResourceMetrics().At(i)
		for j := range rm.ScopeMetrics().Len() {
			sm := rm.ScopeMetrics().At(j)
			for k := range sm.Metrics().Len() {
				m := sm.Metrics().At(k)
				for p := range sessionstore.DataPoints(m) {
					one := pmetric.NewMetrics()
					orm := one.ResourceMetrics().AppendEmpty()
					rm.Resource().CopyTo(orm.Resource())
					osm := orm.ScopeMetrics().AppendEmpty()
					sm.Scope().CopyTo(osm.Scope())
					om := osm.Metrics().AppendEmpty()
					m.CopyTo(om)
					keepPoint(om, p)
					b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(one)
					require.NoError(t, err)
					out = append(out, append([]byte("M"), b...))
				}
			}
		}
	}
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			for k := range sl.LogRecords().Len() {
				one := plog.NewLogs()
				orl := one.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				osl := orl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(osl.Scope())
				sl.LogRecords().At(k).CopyTo(osl.LogRecords().AppendEmpty())
				b, err := (&plog.ProtoMarshaler{}).MarshalLogs(one)
				require.NoError(t, err)
				out = append(out, append([]byte("L"), b...))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

// keepPoint leaves only data point p in m.
func keepPoint(m pmetric.Metric, p int) {
	i := 0
	keep := func() bool { k := i == p; i++; return !k }
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		m.Gauge().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return keep() })
	case pmetric.MetricTypeSum:
		m.Sum().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return keep() })
	case pmetric.MetricTypeHistogram:
		m.Histogram().DataPoints().RemoveIf(func(pmetric.HistogramDataPoint) bool { return keep() })
	case pmetric.MetricTypeExponentialHistogram:
		m.ExponentialHistogram().DataPoints().RemoveIf(func(pmetric.ExponentialHistogramDataPoint) bool { return keep() })
	case pmetric.MetricTypeSummary:
		m.Summary().DataPoints().RemoveIf(func(pmetric.SummaryDataPoint) bool { return keep() })
	}
}

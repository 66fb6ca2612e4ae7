package tests

// Content comparison of telemetry, item by item. Each span, metric data point
// or log record is taken with its resource and scope (and, for a data point,
// its metric's name, description, unit, type and temporality) into a request
// of its own, marshalled to OTLP protobuf and hashed; two streams of data are
// equal when they hold the same multiset of such items, however they are
// batched. pdata marshals fields and attributes in order, so equal content
// gives equal bytes.

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type itemKey [20]byte

// itemSet is a multiset of items by content, with a short description of each
// for failure messages.
type itemSet struct {
	mu     sync.Mutex
	counts map[itemKey]int32
	desc   map[itemKey]string
	n      int64
}

func newItemSet() *itemSet {
	return &itemSet{counts: map[itemKey]int32{}, desc: map[itemKey]string{}}
}

func (s *itemSet) add(b []byte, describe func() string) {
	var k itemKey
	h := sha256.Sum256(b)
	copy(k[:], h[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[k]++
	if _, ok := s.desc[k]; !ok {
		s.desc[k] = describe()
	}
	s.n++
}

// Len is the number of items added.
func (s *itemSet) Len() int64 { return s.n }

var (
	traceMarshaler  ptrace.ProtoMarshaler
	metricMarshaler pmetric.ProtoMarshaler
	logMarshaler    plog.ProtoMarshaler
)

// AddTraces adds every span of td.
func (s *itemSet) AddTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				span := ss.Spans().At(k)
				one := ptrace.NewTraces()
				ors := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(ors.Resource())
				ors.SetSchemaUrl(rs.SchemaUrl())
				oss := ors.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(oss.Scope())
				oss.SetSchemaUrl(ss.SchemaUrl())
				span.CopyTo(oss.Spans().AppendEmpty())
				b, err := traceMarshaler.MarshalTraces(one)
				if err != nil {
					panic(err)
				}
				s.add(b, func() string {
					return fmt.Sprintf("span %q trace_id=%s span_id=%s", span.Name(), span.TraceID(), span.SpanID())
				})
			}
		}
	}
}

// AddMetrics adds every data point of md.
func (s *itemSet) AddMetrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				for p := 0; p < dataPointCount(m); p++ {
					one := pmetric.NewMetrics()
					orm := one.ResourceMetrics().AppendEmpty()
					rm.Resource().CopyTo(orm.Resource())
					orm.SetSchemaUrl(rm.SchemaUrl())
					osm := orm.ScopeMetrics().AppendEmpty()
					sm.Scope().CopyTo(osm.Scope())
					osm.SetSchemaUrl(sm.SchemaUrl())
					attrs := copyDataPoint(m, p, osm.Metrics().AppendEmpty())
					b, err := metricMarshaler.MarshalMetrics(one)
					if err != nil {
						panic(err)
					}
					s.add(b, func() string { return fmt.Sprintf("data point of %q %v", m.Name(), attrs) })
				}
			}
		}
	}
}

// AddLogs adds every log record of ld.
func (s *itemSet) AddLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				one := plog.NewLogs()
				orl := one.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				orl.SetSchemaUrl(rl.SchemaUrl())
				osl := orl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(osl.Scope())
				osl.SetSchemaUrl(sl.SchemaUrl())
				lr.CopyTo(osl.LogRecords().AppendEmpty())
				b, err := logMarshaler.MarshalLogs(one)
				if err != nil {
					panic(err)
				}
				s.add(b, func() string { return fmt.Sprintf("log record %q %v", lr.Body().AsString(), lr.Attributes().AsRaw()) })
			}
		}
	}
}

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// copyDataPoint makes dst a metric like m with only its data point p, and
// returns that point's attributes.
func copyDataPoint(m pmetric.Metric, p int, dst pmetric.Metric) map[string]any {
	dst.SetName(m.Name())
	dst.SetDescription(m.Description())
	dst.SetUnit(m.Unit())
	m.Metadata().CopyTo(dst.Metadata())
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dp := m.Gauge().DataPoints().At(p)
		dp.CopyTo(dst.SetEmptyGauge().DataPoints().AppendEmpty())
		return dp.Attributes().AsRaw()
	case pmetric.MetricTypeSum:
		sum := dst.SetEmptySum()
		sum.SetAggregationTemporality(m.Sum().AggregationTemporality())
		sum.SetIsMonotonic(m.Sum().IsMonotonic())
		dp := m.Sum().DataPoints().At(p)
		dp.CopyTo(sum.DataPoints().AppendEmpty())
		return dp.Attributes().AsRaw()
	case pmetric.MetricTypeHistogram:
		h := dst.SetEmptyHistogram()
		h.SetAggregationTemporality(m.Histogram().AggregationTemporality())
		dp := m.Histogram().DataPoints().At(p)
		dp.CopyTo(h.DataPoints().AppendEmpty())
		return dp.Attributes().AsRaw()
	case pmetric.MetricTypeExponentialHistogram:
		h := dst.SetEmptyExponentialHistogram()
		h.SetAggregationTemporality(m.ExponentialHistogram().AggregationTemporality())
		dp := m.ExponentialHistogram().DataPoints().At(p)
		dp.CopyTo(h.DataPoints().AppendEmpty())
		return dp.Attributes().AsRaw()
	case pmetric.MetricTypeSummary:
		dp := m.Summary().DataPoints().At(p)
		dp.CopyTo(dst.SetEmptySummary().DataPoints().AppendEmpty())
		return dp.Attributes().AsRaw()
	}
	return nil
}

// diffItems says how want and got differ: items missing from got, items got
// has in excess (duplicates or altered content), with up to max examples of
// each. It returns "" when they are equal.
func diffItems(want, got *itemSet, max int) string {
	var missing, extra []string
	var nMissing, nExtra int64
	for k, c := range want.counts {
		if d := c - got.counts[k]; d > 0 {
			nMissing += int64(d)
			missing = append(missing, fmt.Sprintf("%s (×%d)", want.desc[k], d))
		}
	}
	for k, c := range got.counts {
		if d := c - want.counts[k]; d > 0 {
			nExtra += int64(d)
			extra = append(extra, fmt.Sprintf("%s (×%d)", got.desc[k], d))
		}
	}
	if nMissing == 0 && nExtra == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var b strings.Builder
	fmt.Fprintf(&b, "content differs: %d items sent, %d received; %d sent items missing, %d received items not sent (or altered)",
		want.Len(), got.Len(), nMissing, nExtra)
	for i, m := range missing {
		if i == max {
			fmt.Fprintf(&b, "\n  ... %d more missing", len(missing)-max)
			break
		}
		fmt.Fprintf(&b, "\n  missing: %s", m)
	}
	for i, e := range extra {
		if i == max {
			fmt.Fprintf(&b, "\n  ... %d more not sent", len(extra)-max)
			break
		}
		fmt.Fprintf(&b, "\n  not sent: %s", e)
	}
	return b.String()
}

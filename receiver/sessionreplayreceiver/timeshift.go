package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// shifter adds a fixed delta to every non-zero timestamp it visits and
// records the earliest and latest original timestamps (the event range that
// sizes a pass for `relative` loops). A zero timestamp means "unset" in
// OTLP and stays zero.
type shifter struct {
	delta  int64 // nanoseconds
	lo, hi pcommon.Timestamp
}

func (s *shifter) shift(ts pcommon.Timestamp) pcommon.Timestamp {
	if ts == 0 {
		return 0
	}
	if s.lo == 0 || ts < s.lo {
		s.lo = ts
	}
	if ts > s.hi {
		s.hi = ts
	}
	v := int64(ts) + s.delta
	if v <= 0 {
		return 1 // never turn a set timestamp into "unset" or wrap around
	}
	return pcommon.Timestamp(v)
}

// shiftTraces shifts span start and end times and span event times.
func (s *shifter) shiftTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				sp.SetStartTimestamp(s.shift(sp.StartTimestamp()))
				sp.SetEndTimestamp(s.shift(sp.EndTimestamp()))
				evs := sp.Events()
				for e := range evs.Len() {
					evs.At(e).SetTimestamp(s.shift(evs.At(e).Timestamp()))
				}
			}
		}
	}
}

// shiftLogs shifts log record time and observed time.
func (s *shifter) shiftLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			recs := sls.At(j).LogRecords()
			for k := range recs.Len() {
				lr := recs.At(k)
				lr.SetTimestamp(s.shift(lr.Timestamp()))
				lr.SetObservedTimestamp(s.shift(lr.ObservedTimestamp()))
			}
		}
	}
}

// shiftMetrics shifts time and start time of the data points of all five
// metric types, and exemplar times.
func (s *shifter) shiftMetrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				s.shiftMetric(ms.At(k))
			}
		}
	}
}

func (s *shifter) shiftMetric(m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		s.shiftNumberPoints(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		s.shiftNumberPoints(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			dp.SetStartTimestamp(s.shift(dp.StartTimestamp()))
			dp.SetTimestamp(s.shift(dp.Timestamp()))
			s.shiftExemplars(dp.Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			dp.SetStartTimestamp(s.shift(dp.StartTimestamp()))
			dp.SetTimestamp(s.shift(dp.Timestamp()))
			s.shiftExemplars(dp.Exemplars())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			dp.SetStartTimestamp(s.shift(dp.StartTimestamp()))
			dp.SetTimestamp(s.shift(dp.Timestamp()))
		}
	}
}

func (s *shifter) shiftNumberPoints(dps pmetric.NumberDataPointSlice) {
	for i := range dps.Len() {
		dp := dps.At(i)
		dp.SetStartTimestamp(s.shift(dp.StartTimestamp()))
		dp.SetTimestamp(s.shift(dp.Timestamp()))
		s.shiftExemplars(dp.Exemplars())
	}
}

func (s *shifter) shiftExemplars(exs pmetric.ExemplarSlice) {
	for i := range exs.Len() {
		exs.At(i).SetTimestamp(s.shift(exs.At(i).Timestamp()))
	}
}

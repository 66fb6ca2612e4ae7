package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// eventRange accumulates the earliest and latest non-zero timestamps.
type eventRange struct{ lo, hi pcommon.Timestamp }

func (r *eventRange) add(ts pcommon.Timestamp) {
	if ts == 0 {
		return
	}
	if r.lo == 0 || ts < r.lo {
		r.lo = ts
	}
	if ts > r.hi {
		r.hi = ts
	}
}

func (r *eventRange) times() (time.Time, time.Time) {
	if r.lo == 0 {
		return time.Time{}, time.Time{}
	}
	return r.lo.AsTime(), r.hi.AsTime()
}

// TracesEventRange bounds the span start and end times of td (zero times
// when it has none). It is what metadata.json's eventTimeRange covers.
func TracesEventRange(td ptrace.Traces) (time.Time, time.Time) {
	var er eventRange
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				er.add(spans.At(k).StartTimestamp())
				er.add(spans.At(k).EndTimestamp())
			}
		}
	}
	return er.times()
}

// LogsEventRange bounds the log record times of ld (the observed time
// where a record has no time).
func LogsEventRange(ld plog.Logs) (time.Time, time.Time) {
	var er eventRange
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			recs := sls.At(j).LogRecords()
			for k := range recs.Len() {
				ts := recs.At(k).Timestamp()
				if ts == 0 {
					ts = recs.At(k).ObservedTimestamp()
				}
				er.add(ts)
			}
		}
	}
	return er.times()
}

// MetricsEventRange bounds the data point times of md, all five types.
func MetricsEventRange(md pmetric.Metrics) (time.Time, time.Time) {
	var er eventRange
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					addNumberPoints(&er, m.Gauge().DataPoints())
				case pmetric.MetricTypeSum:
					addNumberPoints(&er, m.Sum().DataPoints())
				case pmetric.MetricTypeHistogram:
					dps := m.Histogram().DataPoints()
					for p := range dps.Len() {
						er.add(dps.At(p).Timestamp())
					}
				case pmetric.MetricTypeExponentialHistogram:
					dps := m.ExponentialHistogram().DataPoints()
					for p := range dps.Len() {
						er.add(dps.At(p).Timestamp())
					}
				case pmetric.MetricTypeSummary:
					dps := m.Summary().DataPoints()
					for p := range dps.Len() {
						er.add(dps.At(p).Timestamp())
					}
				}
			}
		}
	}
	return er.times()
}

func addNumberPoints(er *eventRange, dps pmetric.NumberDataPointSlice) {
	for p := range dps.Len() {
		er.add(dps.At(p).Timestamp())
	}
}

// EventRange bounds the event times in the batch.
func (b Batch) EventRange() (time.Time, time.Time) {
	switch b.Signal {
	case SignalTraces:
		return TracesEventRange(b.Traces)
	case SignalMetrics:
		return MetricsEventRange(b.Metrics)
	case SignalLogs:
		return LogsEventRange(b.Logs)
	}
	return time.Time{}, time.Time{}
}

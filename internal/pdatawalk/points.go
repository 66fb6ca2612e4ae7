package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// pointVisitor receives the data points of one metric, by point type, and
// returns a result. Visitors are small values (no pointers to results), so
// visiting allocates nothing.
type pointVisitor[R any] interface {
	number(pmetric.NumberDataPointSlice) R
	histogram(pmetric.HistogramDataPointSlice) R
	expHistogram(pmetric.ExponentialHistogramDataPointSlice) R
	summary(pmetric.SummaryDataPointSlice) R
}

// visitPoints hands m's data points to v. It is the only place that tells
// the five metric types apart (besides CopyMetricShape, which makes an
// empty metric of one); a metric without data (type empty) yields R's zero
// value.
func visitPoints[R any, V pointVisitor[R]](m pmetric.Metric, v V) R {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return v.number(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		return v.number(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		return v.histogram(m.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		return v.expHistogram(m.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		return v.summary(m.Summary().DataPoints())
	}
	var zero R
	return zero
}

// PointVisitor receives the data points of a metric one by one, each with
// its own type: Number those of gauges and sums, Histogram, ExpHistogram
// and Summary those of their types. A nil function skips its type.
type PointVisitor struct {
	Number       func(pmetric.NumberDataPoint)
	Histogram    func(pmetric.HistogramDataPoint)
	ExpHistogram func(pmetric.ExponentialHistogramDataPoint)
	Summary      func(pmetric.SummaryDataPoint)
}

// VisitPoints hands every data point of m, in order, to v.
func VisitPoints(m pmetric.Metric, v PointVisitor) {
	visitPoints[struct{}](m, pointFuncs(v))
}

// pointFuncs is a PointVisitor as a pointVisitor.
type pointFuncs PointVisitor

func eachPoint[P any, S pointSlice[P]](s S, fn func(P)) struct{} {
	if fn != nil {
		for i := range s.Len() {
			fn(s.At(i))
		}
	}
	return struct{}{}
}

func (v pointFuncs) number(s pmetric.NumberDataPointSlice) struct{} {
	return eachPoint(s, v.Number)
}

func (v pointFuncs) histogram(s pmetric.HistogramDataPointSlice) struct{} {
	return eachPoint(s, v.Histogram)
}

func (v pointFuncs) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) struct{} {
	return eachPoint(s, v.ExpHistogram)
}

func (v pointFuncs) summary(s pmetric.SummaryDataPointSlice) struct{} {
	return eachPoint(s, v.Summary)
}

// pointSlice is what the four data point slice types have in common.
type pointSlice[P any] interface {
	Len() int
	At(int) P
	RemoveIf(func(P) bool)
}

// counter counts data points.
type counter struct{}

func (counter) number(s pmetric.NumberDataPointSlice) int       { return s.Len() }
func (counter) histogram(s pmetric.HistogramDataPointSlice) int { return s.Len() }
func (counter) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) int {
	return s.Len()
}
func (counter) summary(s pmetric.SummaryDataPointSlice) int { return s.Len() }

// DataPointCount counts the data points of m, whatever its type.
func DataPointCount(m pmetric.Metric) int {
	return visitPoints[int](m, counter{})
}

// keeper leaves one data point of a metric.
type keeper struct{ index int }

func keepOne[P any, S pointSlice[P]](s S, index int) struct{} {
	i := 0
	s.RemoveIf(func(P) bool {
		drop := i != index
		i++
		return drop
	})
	return struct{}{}
}

func (k keeper) number(s pmetric.NumberDataPointSlice) struct{} {
	return keepOne[pmetric.NumberDataPoint](s, k.index)
}

func (k keeper) histogram(s pmetric.HistogramDataPointSlice) struct{} {
	return keepOne[pmetric.HistogramDataPoint](s, k.index)
}

func (k keeper) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) struct{} {
	return keepOne[pmetric.ExponentialHistogramDataPoint](s, k.index)
}

func (k keeper) summary(s pmetric.SummaryDataPointSlice) struct{} {
	return keepOne[pmetric.SummaryDataPoint](s, k.index)
}

// KeepDataPoint removes every data point of m but the index-th (in the
// order DataPointCount counts them), leaving a metric of one point with its
// name, unit, type and temporality. The canonical test form compares data
// point by data point with it.
func KeepDataPoint(m pmetric.Metric, index int) {
	visitPoints[struct{}](m, keeper{index: index})
}

// timed is what every data point type has: its timestamp.
type timed interface{ Timestamp() pcommon.Timestamp }

// timeKeeper keeps the data points whose timestamp keep accepts.
type timeKeeper struct{ keep func(pcommon.Timestamp) bool }

func keepTimed[P timed, S pointSlice[P]](s S, keep func(pcommon.Timestamp) bool) int {
	s.RemoveIf(func(p P) bool { return !keep(p.Timestamp()) })
	return s.Len()
}

func (k timeKeeper) number(s pmetric.NumberDataPointSlice) int {
	return keepTimed[pmetric.NumberDataPoint](s, k.keep)
}

func (k timeKeeper) histogram(s pmetric.HistogramDataPointSlice) int {
	return keepTimed[pmetric.HistogramDataPoint](s, k.keep)
}

func (k timeKeeper) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) int {
	return keepTimed[pmetric.ExponentialHistogramDataPoint](s, k.keep)
}

func (k timeKeeper) summary(s pmetric.SummaryDataPointSlice) int {
	return keepTimed[pmetric.SummaryDataPoint](s, k.keep)
}

// KeepDataPoints removes the data points of m whose timestamp keep refuses
// and returns how many are left.
func KeepDataPoints(m pmetric.Metric, keep func(pcommon.Timestamp) bool) int {
	return visitPoints[int](m, timeKeeper{keep: keep})
}

// appender appends one data point of a metric to another metric of its
// type.
type appender struct {
	index int
	to    pmetric.Metric
}

func (a appender) number(s pmetric.NumberDataPointSlice) struct{} {
	if a.to.Type() == pmetric.MetricTypeSum {
		s.At(a.index).CopyTo(a.to.Sum().DataPoints().AppendEmpty())
	} else {
		s.At(a.index).CopyTo(a.to.Gauge().DataPoints().AppendEmpty())
	}
	return struct{}{}
}

func (a appender) histogram(s pmetric.HistogramDataPointSlice) struct{} {
	s.At(a.index).CopyTo(a.to.Histogram().DataPoints().AppendEmpty())
	return struct{}{}
}

func (a appender) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) struct{} {
	s.At(a.index).CopyTo(a.to.ExponentialHistogram().DataPoints().AppendEmpty())
	return struct{}{}
}

func (a appender) summary(s pmetric.SummaryDataPointSlice) struct{} {
	s.At(a.index).CopyTo(a.to.Summary().DataPoints().AppendEmpty())
	return struct{}{}
}

// AppendDataPoint appends the index-th data point of m (in the order
// DataPointCount counts them) to to, a metric made by CopyMetricShape(m).
func AppendDataPoint(m pmetric.Metric, index int, to pmetric.Metric) {
	visitPoints[struct{}](m, appender{index: index, to: to})
}

// CopyMetricShape makes to, an empty metric, like m without its data
// points: name, description, unit, metadata, type, temporality and
// monotonicity.
func CopyMetricShape(m, to pmetric.Metric) {
	to.SetName(m.Name())
	to.SetDescription(m.Description())
	to.SetUnit(m.Unit())
	m.Metadata().CopyTo(to.Metadata())
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		to.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		s := to.SetEmptySum()
		s.SetAggregationTemporality(m.Sum().AggregationTemporality())
		s.SetIsMonotonic(m.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		to.SetEmptyHistogram().SetAggregationTemporality(m.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		to.SetEmptyExponentialHistogram().SetAggregationTemporality(m.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		to.SetEmptySummary()
	}
}

// pointTime reads the timestamp of one data point of a metric.
type pointTime struct{ index int }

func timeAt[P timed, S pointSlice[P]](s S, index int) pcommon.Timestamp {
	return s.At(index).Timestamp()
}

func (t pointTime) number(s pmetric.NumberDataPointSlice) pcommon.Timestamp {
	return timeAt[pmetric.NumberDataPoint](s, t.index)
}

func (t pointTime) histogram(s pmetric.HistogramDataPointSlice) pcommon.Timestamp {
	return timeAt[pmetric.HistogramDataPoint](s, t.index)
}

func (t pointTime) expHistogram(s pmetric.ExponentialHistogramDataPointSlice) pcommon.Timestamp {
	return timeAt[pmetric.ExponentialHistogramDataPoint](s, t.index)
}

func (t pointTime) summary(s pmetric.SummaryDataPointSlice) pcommon.Timestamp {
	return timeAt[pmetric.SummaryDataPoint](s, t.index)
}

// DataPointTime returns the timestamp of the index-th data point of m (in
// the order DataPointCount counts them).
func DataPointTime(m pmetric.Metric, index int) pcommon.Timestamp {
	return visitPoints[pcommon.Timestamp](m, pointTime{index: index})
}

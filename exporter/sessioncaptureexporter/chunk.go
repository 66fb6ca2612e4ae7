package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// A request above the batch limit is cut into chunks of at most limit
// items, in order, when it is accepted: each chunk is a piece of its own,
// stored as an object of its own (see request.go). The chunks are copies;
// the request itself is never changed (pipelines may share it).

func chunkTraces(td ptrace.Traces, limit int) []ptrace.Traces {
	var (
		out      []ptrace.Traces
		cur      ptrace.Traces
		crs      ptrace.ResourceSpans
		css      ptrace.ScopeSpans
		n        int
		haveRes  bool
		haveScop bool
	)
	next := func() {
		cur = ptrace.NewTraces()
		out = append(out, cur)
		n, haveRes, haveScop = 0, false, false
	}
	next()
	for _, rs := range td.ResourceSpans().All() {
		haveRes = false
		for _, ss := range rs.ScopeSpans().All() {
			haveScop = false
			for _, sp := range ss.Spans().All() {
				if n == limit {
					next()
				}
				if !haveRes {
					crs = cur.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(crs.Resource())
					crs.SetSchemaUrl(rs.SchemaUrl())
					haveRes, haveScop = true, false
				}
				if !haveScop {
					css = crs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(css.Scope())
					css.SetSchemaUrl(ss.SchemaUrl())
					haveScop = true
				}
				sp.CopyTo(css.Spans().AppendEmpty())
				n++
			}
		}
	}
	return out
}

func chunkLogs(ld plog.Logs, limit int) []plog.Logs {
	var (
		out      []plog.Logs
		cur      plog.Logs
		crl      plog.ResourceLogs
		csl      plog.ScopeLogs
		n        int
		haveRes  bool
		haveScop bool
	)
	next := func() {
		cur = plog.NewLogs()
		out = append(out, cur)
		n, haveRes, haveScop = 0, false, false
	}
	next()
	for _, rl := range ld.ResourceLogs().All() {
		haveRes = false
		for _, sl := range rl.ScopeLogs().All() {
			haveScop = false
			for _, lr := range sl.LogRecords().All() {
				if n == limit {
					next()
				}
				if !haveRes {
					crl = cur.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(crl.Resource())
					crl.SetSchemaUrl(rl.SchemaUrl())
					haveRes, haveScop = true, false
				}
				if !haveScop {
					csl = crl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(csl.Scope())
					csl.SetSchemaUrl(sl.SchemaUrl())
					haveScop = true
				}
				lr.CopyTo(csl.LogRecords().AppendEmpty())
				n++
			}
		}
	}
	return out
}

func chunkMetrics(md pmetric.Metrics, limit int) []pmetric.Metrics {
	var (
		out      []pmetric.Metrics
		cur      pmetric.Metrics
		crm      pmetric.ResourceMetrics
		csm      pmetric.ScopeMetrics
		cm       pmetric.Metric
		n        int
		haveRes  bool
		haveScop bool
		haveMet  bool
	)
	next := func() {
		cur = pmetric.NewMetrics()
		out = append(out, cur)
		n, haveRes, haveScop, haveMet = 0, false, false, false
	}
	next()
	for _, rm := range md.ResourceMetrics().All() {
		haveRes = false
		for _, sm := range rm.ScopeMetrics().All() {
			haveScop = false
			for _, m := range sm.Metrics().All() {
				haveMet = false
				for i := range pointCount(m) {
					if n == limit {
						next()
					}
					if !haveRes {
						crm = cur.ResourceMetrics().AppendEmpty()
						rm.Resource().CopyTo(crm.Resource())
						crm.SetSchemaUrl(rm.SchemaUrl())
						haveRes, haveScop, haveMet = true, false, false
					}
					if !haveScop {
						csm = crm.ScopeMetrics().AppendEmpty()
						sm.Scope().CopyTo(csm.Scope())
						csm.SetSchemaUrl(sm.SchemaUrl())
						haveScop, haveMet = true, false
					}
					if !haveMet {
						cm = csm.Metrics().AppendEmpty()
						copyMetricHeader(m, cm)
						haveMet = true
					}
					copyPoint(m, i, cm)
					n++
				}
			}
		}
	}
	return out
}

// pointCount returns the number of data points of m, of any type.
func pointCount(m pmetric.Metric) int {
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

// copyMetricHeader copies everything of from but its data points to an
// empty metric.
func copyMetricHeader(from, to pmetric.Metric) {
	to.SetName(from.Name())
	to.SetDescription(from.Description())
	to.SetUnit(from.Unit())
	from.Metadata().CopyTo(to.Metadata())
	switch from.Type() {
	case pmetric.MetricTypeGauge:
		to.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		s := to.SetEmptySum()
		s.SetAggregationTemporality(from.Sum().AggregationTemporality())
		s.SetIsMonotonic(from.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		to.SetEmptyHistogram().SetAggregationTemporality(from.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		to.SetEmptyExponentialHistogram().SetAggregationTemporality(from.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		to.SetEmptySummary()
	}
}

// copyPoint appends the i-th data point of from to to (of the same type).
func copyPoint(from pmetric.Metric, i int, to pmetric.Metric) {
	switch from.Type() {
	case pmetric.MetricTypeGauge:
		from.Gauge().DataPoints().At(i).CopyTo(to.Gauge().DataPoints().AppendEmpty())
	case pmetric.MetricTypeSum:
		from.Sum().DataPoints().At(i).CopyTo(to.Sum().DataPoints().AppendEmpty())
	case pmetric.MetricTypeHistogram:
		from.Histogram().DataPoints().At(i).CopyTo(to.Histogram().DataPoints().AppendEmpty())
	case pmetric.MetricTypeExponentialHistogram:
		from.ExponentialHistogram().DataPoints().At(i).CopyTo(to.ExponentialHistogram().DataPoints().AppendEmpty())
	case pmetric.MetricTypeSummary:
		from.Summary().DataPoints().At(i).CopyTo(to.Summary().DataPoints().AppendEmpty())
	}
}

package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Chunking cuts a batch into batches of at most limit items (spans, data
// points, log records), in order, each with the resources and scopes of
// its items: a capture cuts a request above its batch limit this way, a
// replay an object above what its target takes in one request. The chunks
// are copies: the batch itself is never changed (pipelines may share it).

// ChunkTraces cuts td into batches of at most limit spans.
func ChunkTraces(td ptrace.Traces, limit int) []ptrace.Traces {
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

// ChunkLogs cuts ld into batches of at most limit log records.
func ChunkLogs(ld plog.Logs, limit int) []plog.Logs {
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

// ChunkMetrics cuts md into batches of at most limit data points; a metric
// whose points are cut keeps its shape (name, type, temporality) in each.
func ChunkMetrics(md pmetric.Metrics, limit int) []pmetric.Metrics {
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
				for i := range DataPointCount(m) {
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
						CopyMetricShape(m, cm)
						haveMet = true
					}
					AppendDataPoint(m, i, cm)
					n++
				}
			}
		}
	}
	return out
}

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// part is the share of one exported batch that goes to one session.
type part struct {
	// route is the session id named by the routing attribute, or "" for the
	// exporter's own session.
	route string
	// resource is the first resource of the part, for session metadata.
	resource pcommon.Resource
	items    int64
	// eventStart and eventEnd bound the event timestamps in the part.
	eventStart, eventEnd time.Time
	encode               func(*sessionstore.Encoder) (*sessionstore.Encoded, error)
	// phases counts the items per seed phase (resources that carry
	// test.phase.index), with a resource describing each phase.
	phases map[int64]*phaseItems
}

type phaseItems struct {
	resource pcommon.Resource
	items    int64
}

// countResource adds a resource's items to the part and to its seed
// phase, if it has one.
func (p *part) countResource(res pcommon.Resource, n int) {
	items := int64(n)
	p.items += items
	v, ok := res.Attributes().Get(sessionstore.AttrPhaseIndex)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return
	}
	if p.phases == nil {
		p.phases = map[int64]*phaseItems{}
	}
	ph := p.phases[v.Int()]
	if ph == nil {
		ph = &phaseItems{resource: res}
		p.phases[v.Int()] = ph
	}
	ph.items += items
}

// routeOf returns the session a resource belongs to: the value of attr, or
// "" when attr is unset or the resource lacks it.
func routeOf(res pcommon.Resource, attr string) string {
	if attr == "" {
		return ""
	}
	v, ok := res.Attributes().Get(attr)
	if !ok {
		return ""
	}
	return v.AsString()
}

// groupResources returns, in order of first appearance, the routes of n
// resources and the indexes of the resources of each.
func groupResources(n int, route func(i int) string) ([]string, map[string][]int) {
	var order []string
	groups := map[string][]int{}
	for i := range n {
		r := route(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], i)
	}
	return order, groups
}

// signalOps says how to split one signal's pdata by resource: D is the
// batch type (ptrace.Traces, …), R its resource type (ptrace.ResourceSpans, …).
type signalOps[D, R any] struct {
	resources  func(D) resourceSlice[R]
	newData    func() D
	appendCopy func(to D, r R) // MutatesData is false: copy, never move
	resource   func(R) pcommon.Resource
	items      func(R) int
	encode     func(*sessionstore.Encoder, D) (*sessionstore.Encoded, error)
	eventRange func(D) (time.Time, time.Time)
}

// resourceSlice is what pdata's resource slices have in common.
type resourceSlice[R any] interface {
	Len() int
	At(int) R
}

var (
	tracesSignal = signalOps[ptrace.Traces, ptrace.ResourceSpans]{
		resources:  func(td ptrace.Traces) resourceSlice[ptrace.ResourceSpans] { return td.ResourceSpans() },
		newData:    ptrace.NewTraces,
		appendCopy: func(td ptrace.Traces, rs ptrace.ResourceSpans) { rs.CopyTo(td.ResourceSpans().AppendEmpty()) },
		resource:   ptrace.ResourceSpans.Resource,
		items:      pdatawalk.ResourceSpanCount,
		encode:     (*sessionstore.Encoder).EncodeTraces,
		eventRange: sessionstore.TracesEventRange,
	}
	metricsSignal = signalOps[pmetric.Metrics, pmetric.ResourceMetrics]{
		resources:  func(md pmetric.Metrics) resourceSlice[pmetric.ResourceMetrics] { return md.ResourceMetrics() },
		newData:    pmetric.NewMetrics,
		appendCopy: func(md pmetric.Metrics, rm pmetric.ResourceMetrics) { rm.CopyTo(md.ResourceMetrics().AppendEmpty()) },
		resource:   pmetric.ResourceMetrics.Resource,
		items:      pdatawalk.ResourceDataPointCount,
		encode:     (*sessionstore.Encoder).EncodeMetrics,
		eventRange: sessionstore.MetricsEventRange,
	}
	logsSignal = signalOps[plog.Logs, plog.ResourceLogs]{
		resources:  func(ld plog.Logs) resourceSlice[plog.ResourceLogs] { return ld.ResourceLogs() },
		newData:    plog.NewLogs,
		appendCopy: func(ld plog.Logs, rl plog.ResourceLogs) { rl.CopyTo(ld.ResourceLogs().AppendEmpty()) },
		resource:   plog.ResourceLogs.Resource,
		items:      pdatawalk.ResourceLogRecordCount,
		encode:     (*sessionstore.Encoder).EncodeLogs,
		eventRange: sessionstore.LogsEventRange,
	}
)

// split divides a batch into parts by the session each resource belongs to
// (the value of attr), in order of first appearance; a batch of one route
// is not copied.
func split[D, R any](data D, attr string, sig *signalOps[D, R]) []part {
	rs := sig.resources(data)
	order, groups := groupResources(rs.Len(), func(i int) string { return routeOf(sig.resource(rs.At(i)), attr) })
	parts := make([]part, 0, len(order))
	for _, route := range order {
		sub := data
		if len(order) > 1 {
			sub = sig.newData()
			for _, i := range groups[route] {
				sig.appendCopy(sub, rs.At(i))
			}
		}
		p := part{route: route, encode: func(e *sessionstore.Encoder) (*sessionstore.Encoded, error) { return sig.encode(e, sub) }}
		srs := sig.resources(sub)
		for i := range srs.Len() {
			r := srs.At(i)
			p.countResource(sig.resource(r), sig.items(r))
		}
		p.eventStart, p.eventEnd = sig.eventRange(sub)
		if srs.Len() > 0 {
			p.resource = sig.resource(srs.At(0))
		}
		parts = append(parts, p)
	}
	return parts
}

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"strconv"
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
	// group tells the parts of one batch apart: the route and the arrival
	// window.
	group string
	// arrival is when the part's earliest request arrived (zero for data
	// that was not stamped), and requests the ids of its requests, sorted.
	arrival  time.Time
	requests []uint64
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
	appendCopy func(to D, r R) // copy, never move: a retry sees the batch whole
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
// (the value of attr) and, within a session, by when its requests arrived
// (arrivals, one per resource, from takeArrivals), in order of first
// appearance; a batch of one part is not copied.
func split[D, R any](data D, attr string, sig *signalOps[D, R], arrivals []arrival) []part {
	rs := sig.resources(data)
	var first time.Time
	for _, a := range arrivals {
		if a.id != 0 && (first.IsZero() || a.at.Before(first)) {
			first = a.at
		}
	}
	arrivalOf := func(i int) arrival {
		if i < len(arrivals) {
			return arrivals[i]
		}
		return arrival{}
	}
	order, groups := groupResources(rs.Len(), func(i int) string {
		route := routeOf(sig.resource(rs.At(i)), attr)
		if a := arrivalOf(i); a.id != 0 {
			return route + "\x00" + strconv.FormatInt(int64(a.at.Sub(first)/arrivalResolution), 10)
		}
		return route + "\x00-"
	})
	parts := make([]part, 0, len(order))
	for _, group := range order {
		idx := groups[group]
		sub := data
		if len(order) > 1 {
			sub = sig.newData()
			for _, i := range idx {
				sig.appendCopy(sub, rs.At(i))
			}
		}
		p := part{
			group:  group,
			route:  routeOf(sig.resource(rs.At(idx[0])), attr),
			encode: func(e *sessionstore.Encoder) (*sessionstore.Encoded, error) { return sig.encode(e, sub) },
		}
		own := make([]arrival, 0, len(idx))
		for _, i := range idx {
			if a := arrivalOf(i); a.id != 0 {
				own = append(own, a)
				if p.arrival.IsZero() || a.at.Before(p.arrival) {
					p.arrival = a.at
				}
			}
		}
		p.requests = requestIDs(own)
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

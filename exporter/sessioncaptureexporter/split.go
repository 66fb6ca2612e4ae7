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

func splitTraces(td ptrace.Traces, attr string) []part {
	rss := td.ResourceSpans()
	order, groups := groupResources(rss.Len(), func(i int) string { return routeOf(rss.At(i).Resource(), attr) })
	parts := make([]part, 0, len(order))
	for _, route := range order {
		sub := td
		if len(order) > 1 {
			// MutatesData is false: copy the resources, never move them.
			sub = ptrace.NewTraces()
			for _, i := range groups[route] {
				rss.At(i).CopyTo(sub.ResourceSpans().AppendEmpty())
			}
		}
		p := part{route: route, encode: func(e *sessionstore.Encoder) (*sessionstore.Encoded, error) { return e.EncodeTraces(sub) }}
		srss := sub.ResourceSpans()
		for _, rs := range srss.All() {
			p.countResource(rs.Resource(), pdatawalk.ResourceSpanCount(rs))
		}
		p.eventStart, p.eventEnd = sessionstore.TracesEventRange(sub)
		if srss.Len() > 0 {
			p.resource = srss.At(0).Resource()
		}
		parts = append(parts, p)
	}
	return parts
}

func splitLogs(ld plog.Logs, attr string) []part {
	rls := ld.ResourceLogs()
	order, groups := groupResources(rls.Len(), func(i int) string { return routeOf(rls.At(i).Resource(), attr) })
	parts := make([]part, 0, len(order))
	for _, route := range order {
		sub := ld
		if len(order) > 1 {
			sub = plog.NewLogs()
			for _, i := range groups[route] {
				rls.At(i).CopyTo(sub.ResourceLogs().AppendEmpty())
			}
		}
		p := part{route: route, encode: func(e *sessionstore.Encoder) (*sessionstore.Encoded, error) { return e.EncodeLogs(sub) }}
		srls := sub.ResourceLogs()
		for _, rl := range srls.All() {
			p.countResource(rl.Resource(), pdatawalk.ResourceLogRecordCount(rl))
		}
		p.eventStart, p.eventEnd = sessionstore.LogsEventRange(sub)
		if srls.Len() > 0 {
			p.resource = srls.At(0).Resource()
		}
		parts = append(parts, p)
	}
	return parts
}

func splitMetrics(md pmetric.Metrics, attr string) []part {
	rms := md.ResourceMetrics()
	order, groups := groupResources(rms.Len(), func(i int) string { return routeOf(rms.At(i).Resource(), attr) })
	parts := make([]part, 0, len(order))
	for _, route := range order {
		sub := md
		if len(order) > 1 {
			sub = pmetric.NewMetrics()
			for _, i := range groups[route] {
				rms.At(i).CopyTo(sub.ResourceMetrics().AppendEmpty())
			}
		}
		p := part{route: route, encode: func(e *sessionstore.Encoder) (*sessionstore.Encoded, error) { return e.EncodeMetrics(sub) }}
		srms := sub.ResourceMetrics()
		for _, rm := range srms.All() {
			p.countResource(rm.Resource(), pdatawalk.ResourceDataPointCount(rm))
		}
		p.eventStart, p.eventEnd = sessionstore.MetricsEventRange(sub)
		if srms.Len() > 0 {
			p.resource = srms.At(0).Resource()
		}
		parts = append(parts, p)
	}
	return parts
}

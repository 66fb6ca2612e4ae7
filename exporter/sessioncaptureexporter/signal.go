package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// signalOps is what the exporter needs to know of one signal's pdata: D is
// the batch type (ptrace.Traces, …), R its resource type
// (ptrace.ResourceSpans, …).
type signalOps[D, R any] struct {
	signal     sessionstore.Signal
	resources  func(D) resourceSlice[R]
	newData    func() D
	appendCopy func(to D, r R) // copy, never move: the data may be shared
	resource   func(R) pcommon.Resource
	items      func(R) int
	count      func(D) int
	chunk      func(D, int) []D
	marshal    func(D) ([]byte, error)
	size       func(D) int
	// unmarshalQueued reads a request queued by an earlier release (pdata
	// with its context, or plain protobuf).
	unmarshalQueued func([]byte) (context.Context, D, error)
	unmarshal       func([]byte) (D, error)
	eventRange      func(D) (time.Time, time.Time)
	// sampling counts items by the sampling threshold they carry (traces
	// only: nil for the others).
	sampling   func(D) map[string]int64
	ref, unref func(D)
}

// resourceSlice is what pdata's resource slices have in common.
type resourceSlice[R any] interface {
	Len() int
	At(int) R
}

var (
	tracesSignal = signalOps[ptrace.Traces, ptrace.ResourceSpans]{
		signal:          sessionstore.SignalTraces,
		resources:       func(td ptrace.Traces) resourceSlice[ptrace.ResourceSpans] { return td.ResourceSpans() },
		newData:         ptrace.NewTraces,
		appendCopy:      func(td ptrace.Traces, rs ptrace.ResourceSpans) { rs.CopyTo(td.ResourceSpans().AppendEmpty()) },
		resource:        ptrace.ResourceSpans.Resource,
		items:           pdatawalk.ResourceSpanCount,
		count:           ptrace.Traces.SpanCount,
		chunk:           pdatawalk.ChunkTraces,
		marshal:         (&ptrace.ProtoMarshaler{}).MarshalTraces,
		size:            (&ptrace.ProtoMarshaler{}).TracesSize,
		unmarshalQueued: pdatareq.UnmarshalTraces,
		unmarshal:       (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces,
		eventRange:      sessionstore.TracesEventRange,
		sampling:        sessionstore.TracesSampling,
		ref:             pref.RefTraces,
		unref:           pref.UnrefTraces,
	}
	metricsSignal = signalOps[pmetric.Metrics, pmetric.ResourceMetrics]{
		signal:          sessionstore.SignalMetrics,
		resources:       func(md pmetric.Metrics) resourceSlice[pmetric.ResourceMetrics] { return md.ResourceMetrics() },
		newData:         pmetric.NewMetrics,
		appendCopy:      func(md pmetric.Metrics, rm pmetric.ResourceMetrics) { rm.CopyTo(md.ResourceMetrics().AppendEmpty()) },
		resource:        pmetric.ResourceMetrics.Resource,
		items:           pdatawalk.ResourceDataPointCount,
		count:           pmetric.Metrics.DataPointCount,
		chunk:           pdatawalk.ChunkMetrics,
		marshal:         (&pmetric.ProtoMarshaler{}).MarshalMetrics,
		size:            (&pmetric.ProtoMarshaler{}).MetricsSize,
		unmarshalQueued: pdatareq.UnmarshalMetrics,
		unmarshal:       (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics,
		eventRange:      sessionstore.MetricsEventRange,
		ref:             pref.RefMetrics,
		unref:           pref.UnrefMetrics,
	}
	logsSignal = signalOps[plog.Logs, plog.ResourceLogs]{
		signal:          sessionstore.SignalLogs,
		resources:       func(ld plog.Logs) resourceSlice[plog.ResourceLogs] { return ld.ResourceLogs() },
		newData:         plog.NewLogs,
		appendCopy:      func(ld plog.Logs, rl plog.ResourceLogs) { rl.CopyTo(ld.ResourceLogs().AppendEmpty()) },
		resource:        plog.ResourceLogs.Resource,
		items:           pdatawalk.ResourceLogRecordCount,
		count:           plog.Logs.LogRecordCount,
		chunk:           pdatawalk.ChunkLogs,
		marshal:         (&plog.ProtoMarshaler{}).MarshalLogs,
		size:            (&plog.ProtoMarshaler{}).LogsSize,
		unmarshalQueued: pdatareq.UnmarshalLogs,
		unmarshal:       (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
		eventRange:      sessionstore.LogsEventRange,
		ref:             pref.RefLogs,
		unref:           pref.UnrefLogs,
	}
)

// part is the share of one piece that goes to one session.
type part struct {
	// route is the session id named by the routing attribute, or "" for
	// the exporter's own session.
	route string
	// resource is the first resource of the part, for session metadata.
	resource pcommon.Resource
	items    int64
	// eventStart and eventEnd bound the event timestamps in the part.
	eventStart, eventEnd time.Time
	// phases counts the items per seed phase (resources that carry
	// test.phase.index), with a resource describing each phase.
	phases map[int64]*phaseItems
	// sampling counts the part's spans by sampling threshold.
	sampling map[string]int64
	// raw is the part's protobuf once its piece is sealed; until then
	// marshal makes it from the piece's data.
	raw     []byte
	marshal func() ([]byte, error)
}

// protobuf returns the part as an OTLP protobuf export request.
func (p *part) protobuf() ([]byte, error) {
	if p.raw != nil {
		return p.raw, nil
	}
	return p.marshal()
}

// detach makes the part hold its protobuf (marshalled now unless it has
// it already) and its own copies of the resources it describes, so that
// nothing in it refers to the piece's data any more.
func (p *part) detach() error {
	if p.raw == nil {
		raw, err := p.marshal()
		if err != nil {
			return err
		}
		p.raw = raw
	}
	p.marshal = nil
	p.resource = cloneResource(p.resource)
	for _, ph := range p.phases {
		ph.resource = cloneResource(ph.resource)
	}
	return nil
}

func cloneResource(r pcommon.Resource) pcommon.Resource {
	c := pcommon.NewResource()
	r.CopyTo(c)
	return c
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
	idx, ok := sessionstore.PhaseOf(res)
	if !ok {
		return
	}
	if p.phases == nil {
		p.phases = map[int64]*phaseItems{}
	}
	ph := p.phases[idx]
	if ph == nil {
		ph = &phaseItems{resource: res}
		p.phases[idx] = ph
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

// itemsByRoute counts a batch's items per route ("": none).
func itemsByRoute[D, R any](data D, sig *signalOps[D, R], attr string) map[string]int64 {
	rs := sig.resources(data)
	out := map[string]int64{}
	for i := range rs.Len() {
		r := rs.At(i)
		out[routeOf(sig.resource(r), attr)] += int64(sig.items(r))
	}
	return out
}

// splitByRoute divides a piece's data into parts by the session each
// resource belongs to (the value of attr), in order of first appearance;
// data of one route is not copied.
func splitByRoute[D, R any](data D, sig *signalOps[D, R], attr string) []part {
	rs := sig.resources(data)
	var order []string
	groups := map[string][]int{}
	for i := range rs.Len() {
		r := routeOf(sig.resource(rs.At(i)), attr)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], i)
	}
	parts := make([]part, 0, len(order))
	for _, route := range order {
		sub := data
		if len(order) > 1 {
			sub = sig.newData()
			for _, i := range groups[route] {
				sig.appendCopy(sub, rs.At(i))
			}
		}
		p := part{route: route, marshal: func() ([]byte, error) { return sig.marshal(sub) }}
		srs := sig.resources(sub)
		for i := range srs.Len() {
			r := srs.At(i)
			p.countResource(sig.resource(r), sig.items(r))
		}
		if p.items == 0 {
			continue
		}
		p.eventStart, p.eventEnd = sig.eventRange(sub)
		if sig.sampling != nil {
			p.sampling = sig.sampling(sub)
		}
		p.resource = sig.resource(srs.At(0))
		parts = append(parts, p)
	}
	return parts
}

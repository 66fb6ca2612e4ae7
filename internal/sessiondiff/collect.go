package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Source yields the batches of a session in capture order, calling fn for
// each; it stops at the first error, fn's or its own, and returns it.
// Compare calls a Source once to compare, and once more, only when there
// are differences, to describe the items it reports: both calls must yield
// the same batches in the same order.
type Source func(fn func(sessionstore.Batch) error) error

// Batches is a Source over batches held in memory.
func Batches(bs ...sessionstore.Batch) Source {
	return func(fn func(sessionstore.Batch) error) error {
		for _, b := range bs {
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// group is what items are counted by and what a missing item must share
// with an extra one to be reported as changed: the service and the span
// name, metric name, or log event name or severity.
type group struct{ service, name string }

// item is what a side keeps of one span, data point or log record.
type item struct {
	hash    uint64 // content key
	relaxed uint64 // content key without absolute times
	ids     uint64 // id key: trace and span ids (compared without Shifted)
	time    int64  // the item's time (span start, point time, log time), for the shift
	group   uint32
}

// Parent values of a span that is not a child of a span of its trace.
const (
	isRoot   int32 = -1 // no parent id
	isOrphan int32 = -2 // a parent id that is not in its trace
)

type span struct {
	item
	trace    int32 // the side's number of its trace id
	parent   int32 // index of its parent span, or isRoot or isOrphan (after finish)
	id       pcommon.SpanID
	parentID pcommon.SpanID
	dup      bool // another span of its trace has the same id
}

type logItem struct {
	item
	ref            ref
	partial        uint64 // the content key without the span it points at
	partialRelaxed uint64 // and the relaxed key
	target         int32  // what ref points at (see find)
}

type spanKey struct {
	trace int32
	id    pcommon.SpanID
}

// side is one session reduced to what the comparison needs: per item its
// keys, its group and, for spans, its place in the trace.
type side struct {
	shifted       bool
	metrics, logs bool // signals collected (spans always are: logs and exemplars point at them)

	groups   []group
	groupIdx map[group]uint32

	spans  []span
	points []item
	recs   []logItem

	traces    map[pcommon.TraceID]int32
	spanIdx   map[spanKey]int32
	links     map[int32][]ref // link targets of the spans that have links
	exemplars map[int32][]ref // span references of the points that have them
	// after finish: of the points with exemplars pointing at spans, their
	// content keys without those and the targets (see find)
	exPartial map[int32][2]uint64 // content and relaxed keys
	exTargets map[int32][]int32

	// after finish: the children of span i are children[childStart[i]:childStart[i+1]]
	childStart, children []int32
	// and the spans of trace t are traceSpans[traceStart[t]:traceStart[t+1]]
	traceStart, traceSpans []int32

	e *hashEmitter
}

func newSide(opts Options) *side {
	return &side{
		shifted:   opts.Shifted,
		metrics:   opts.wants(sessionstore.SignalMetrics),
		logs:      opts.wants(sessionstore.SignalLogs),
		groupIdx:  map[group]uint32{},
		traces:    map[pcommon.TraceID]int32{},
		spanIdx:   map[spanKey]int32{},
		links:     map[int32][]ref{},
		exemplars: map[int32][]ref{},
		e:         newHashEmitter(),
	}
}

// collect reads a source into a side.
func collect(src Source, opts Options) (*side, error) {
	s := newSide(opts)
	err := src(func(b sessionstore.Batch) error {
		s.add(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.finish()
	return s, nil
}

func (s *side) add(b sessionstore.Batch) {
	switch b.Signal {
	case sessionstore.SignalTraces:
		s.addTraces(b.Traces)
	case sessionstore.SignalMetrics:
		if s.metrics {
			s.addMetrics(b.Metrics)
		}
	case sessionstore.SignalLogs:
		if s.logs {
			s.addLogs(b.Logs)
		}
	}
}

// groupOf interns a group; the strings are cloned, since pdata's may share
// the memory of the whole decoded object.
func (s *side) groupOf(service, name string) uint32 {
	g := group{service, name}
	if i, ok := s.groupIdx[g]; ok {
		return i
	}
	g = group{strings.Clone(service), strings.Clone(name)}
	i := uint32(len(s.groups))
	s.groups = append(s.groups, g)
	s.groupIdx[g] = i
	return i
}

// parents caches the keys of the resource and scope items sit in, which
// batches share between many items.
type parents struct {
	res       pcommon.Resource
	scope     pcommon.InstrumentationScope
	resHash   uint64
	scopeHash uint64
	service   string
	set       bool
}

func (s *side) enter(p *parents, at pdatawalk.Parents) {
	if !p.set || at.Resource != p.res {
		s.e.reset()
		emitResource(s.e, at.Resource)
		p.res, p.resHash, p.service = at.Resource, s.e.content.Sum64(), ServiceName(at.Resource)
		p.set = false
	}
	if !p.set || at.Scope != p.scope {
		s.e.reset()
		emitScope(s.e, at.Scope)
		p.scope, p.scopeHash = at.Scope, s.e.content.Sum64()
	}
	p.set = true
	s.e.reset()
	s.e.content.u64(p.resHash)
	s.e.content.u64(p.scopeHash)
}

func (s *side) traceNo(id pcommon.TraceID) int32 {
	if t, ok := s.traces[id]; ok {
		return t
	}
	t := int32(len(s.traces))
	s.traces[id] = t
	return t
}

func (s *side) addTraces(td ptrace.Traces) {
	var p parents
	for at, sp := range pdatawalk.Spans(td) {
		s.enter(&p, at)
		emitSpan(s.e, sp, s.shifted)
		i := int32(len(s.spans))
		rec := span{
			item:     item{hash: s.e.content.Sum64(), relaxed: s.e.content.relaxed.Sum64(), ids: s.e.ids.Sum64(), time: int64(sp.StartTimestamp()), group: s.groupOf(p.service, sp.Name())},
			trace:    s.traceNo(sp.TraceID()),
			id:       sp.SpanID(),
			parentID: sp.ParentSpanID(),
		}
		if refs := nonEmpty(s.e.refs); refs != nil {
			s.links[i] = refs
		}
		if !rec.id.IsEmpty() {
			k := spanKey{rec.trace, rec.id}
			if first, ok := s.spanIdx[k]; ok {
				rec.dup = true
				s.spans[first].dup = true
			} else {
				s.spanIdx[k] = i
			}
		}
		s.spans = append(s.spans, rec)
	}
}

// nonEmpty returns a copy of refs if any of them points somewhere.
func nonEmpty(refs []ref) []ref {
	for _, r := range refs {
		if !r.isEmpty() {
			return append([]ref(nil), refs...)
		}
	}
	return nil
}

func (s *side) addMetrics(md pmetric.Metrics) {
	var p parents
	for at, m := range pdatawalk.Metrics(md) {
		s.enter(&p, at)
		emitMetric(s.e, m)
		metricHash := s.e.content.Sum64()
		g := s.groupOf(p.service, m.Name())
		points(m, func(ts pcommon.Timestamp, emit func(emitter, bool)) {
			s.e.reset()
			s.e.content.u64(metricHash)
			emit(s.e, s.shifted)
			i := int32(len(s.points))
			if refs := nonEmpty(s.e.refs); refs != nil {
				s.exemplars[i] = refs
			}
			s.points = append(s.points, item{hash: s.e.content.Sum64(), relaxed: s.e.content.relaxed.Sum64(), ids: s.e.ids.Sum64(), time: int64(ts), group: g})
		})
	}
}

// logGroup names what log records are counted by: their event name, or
// else their severity (bodies mostly carry values, so they are no group).
func logGroup(lr plog.LogRecord) string {
	switch {
	case lr.EventName() != "":
		return "event " + lr.EventName()
	case lr.SeverityText() != "":
		return lr.SeverityText()
	case lr.SeverityNumber() != plog.SeverityNumberUnspecified:
		return lr.SeverityNumber().String()
	}
	return "no severity"
}

func logTime(lr plog.LogRecord) pcommon.Timestamp {
	if ts := lr.Timestamp(); ts != 0 {
		return ts
	}
	return lr.ObservedTimestamp()
}

func (s *side) addLogs(ld plog.Logs) {
	var p parents
	for at, lr := range pdatawalk.LogRecords(ld) {
		s.enter(&p, at)
		emitLog(s.e, lr, s.shifted)
		s.recs = append(s.recs, logItem{
			item: item{hash: s.e.content.Sum64(), relaxed: s.e.content.relaxed.Sum64(), ids: s.e.ids.Sum64(), time: int64(logTime(lr)), group: s.groupOf(p.service, logGroup(lr))},
			ref:  ref{lr.TraceID(), lr.SpanID()},
		})
	}
}

// What a reference resolves to when it does not find a span.
const (
	refNone      int32 = -1 // no ids
	refTraceOnly int32 = -2 // a trace id without a span id
	refDangling  int32 = -3 // a span that is not in the session
)

// find returns the index of the span r points at, or why there is none.
func (s *side) find(r ref) int32 {
	switch {
	case r.isEmpty():
		return refNone
	case r.span.IsEmpty():
		return refTraceOnly
	}
	t, ok := s.traces[r.trace]
	if !ok {
		return refDangling
	}
	i, ok := s.spanIdx[spanKey{t, r.span}]
	if !ok {
		return refDangling
	}
	return i
}

// targetKey is what a reference contributes to a content key: the content
// key of its span (through norm), or why there is none.
func (s *side) targetKey(t int32, norm func(uint64) uint64) uint64 {
	if t >= 0 {
		return norm(s.spans[t].hash)
	}
	return uint64(-t)
}

// targetRelaxed is what a reference contributes to a relaxed key.
func (s *side) targetRelaxed(t int32) uint64 {
	if t >= 0 {
		return s.spans[t].relaxed
	}
	return uint64(-t)
}

// resolveRefs sets the content keys of log records and data points with
// exemplars from those of the spans they point at, through norm: B's side
// maps the keys of its changed spans to those of A's, so that one changed
// span is one difference, not one more per log record pointing at it.
func (s *side) resolveRefs(norm func(uint64) uint64) {
	for i := range s.recs {
		r := &s.recs[i]
		r.hash = mix(r.partial, s.targetKey(r.target, norm))
		r.relaxed = mix(r.partialRelaxed, s.targetRelaxed(r.target))
	}
	for i, targets := range s.exTargets {
		h, rh := s.exPartial[i][0], s.exPartial[i][1]
		for _, t := range targets {
			h = mix(h, s.targetKey(t, norm))
			rh = mix(rh, s.targetRelaxed(t))
		}
		s.points[i].hash, s.points[i].relaxed = h, rh
	}
}

func identity(h uint64) uint64 { return h }

// finish resolves what needed every span: parents, and the references,
// which enter the keys as the content keys of their spans (links as those
// without links, so that links between spans cannot loop).
func (s *side) finish() {
	for i := range s.spans {
		sp := &s.spans[i]
		sp.parent = isRoot
		if !sp.parentID.IsEmpty() {
			sp.parent = isOrphan
			if p, ok := s.spanIdx[spanKey{sp.trace, sp.parentID}]; ok && p != int32(i) {
				sp.parent = p
			}
		}
	}
	linked := make(map[int32][2]uint64, len(s.links))
	for i, refs := range s.links {
		h, rh := s.spans[i].hash, s.spans[i].relaxed
		for _, r := range refs {
			t := s.find(r)
			h, rh = mix(h, s.targetKey(t, identity)), mix(rh, s.targetRelaxed(t))
		}
		linked[i] = [2]uint64{h, rh}
	}
	for i, h := range linked {
		s.spans[i].hash, s.spans[i].relaxed = h[0], h[1]
	}
	for i := range s.recs {
		r := &s.recs[i]
		r.partial, r.partialRelaxed, r.target = r.hash, r.relaxed, s.find(r.ref)
	}
	s.exPartial = make(map[int32][2]uint64, len(s.exemplars))
	s.exTargets = make(map[int32][]int32, len(s.exemplars))
	for i, refs := range s.exemplars {
		s.exPartial[i] = [2]uint64{s.points[i].hash, s.points[i].relaxed}
		targets := make([]int32, len(refs))
		for k, r := range refs {
			targets[k] = s.find(r)
		}
		s.exTargets[i] = targets
	}
	s.resolveRefs(identity)
	n := len(s.spans)
	s.childStart = make([]int32, n+1)
	for _, sp := range s.spans {
		if sp.parent >= 0 {
			s.childStart[sp.parent+1]++
		}
	}
	for i := range n {
		s.childStart[i+1] += s.childStart[i]
	}
	s.children = make([]int32, s.childStart[n])
	fill := append([]int32(nil), s.childStart[:n]...)
	for i, sp := range s.spans {
		if sp.parent >= 0 {
			s.children[fill[sp.parent]] = int32(i)
			fill[sp.parent]++
		}
	}
	nt := len(s.traces)
	s.traceStart = make([]int32, nt+1)
	for _, sp := range s.spans {
		s.traceStart[sp.trace+1]++
	}
	for t := range nt {
		s.traceStart[t+1] += s.traceStart[t]
	}
	s.traceSpans = make([]int32, n)
	fill = append(fill[:0], s.traceStart[:nt]...)
	for i, sp := range s.spans {
		s.traceSpans[fill[sp.trace]] = int32(i)
		fill[sp.trace]++
	}
	s.links, s.exemplars = nil, nil
}

func (s *side) childrenOf(i int32) []int32 { return s.children[s.childStart[i]:s.childStart[i+1]] }
func (s *side) spansOf(t int32) []int32    { return s.traceSpans[s.traceStart[t]:s.traceStart[t+1]] }

// items returns the items of a signal, by index.
func (s *side) items(sig sessionstore.Signal) (int, func(int) *item) {
	switch sig {
	case sessionstore.SignalTraces:
		return len(s.spans), func(i int) *item { return &s.spans[i].item }
	case sessionstore.SignalMetrics:
		return len(s.points), func(i int) *item { return &s.points[i] }
	default:
		return len(s.recs), func(i int) *item { return &s.recs[i].item }
	}
}

// label names an item for a report: span 'GET /cart' (service frontend).
func (s *side) label(sig sessionstore.Signal, g uint32) string {
	return groupLabel(sig, s.groups[g])
}

func groupLabel(sig sessionstore.Signal, g group) string {
	kind := map[sessionstore.Signal]string{sessionstore.SignalTraces: "span", sessionstore.SignalMetrics: "metric", sessionstore.SignalLogs: "log"}[sig]
	return fmt.Sprintf("%s '%s' (service %s)", kind, g.name, serviceLabel(g.service))
}

func serviceLabel(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// spanLabel names span i.
func (s *side) spanLabel(i int32) string {
	return s.label(sessionstore.SignalTraces, s.spans[i].group)
}

// refLabel describes where a reference points, for a report.
func (s *side) refLabel(r ref) string {
	switch i := s.find(r); {
	case i >= 0:
		return s.spanLabel(i)
	case i == refNone:
		return "none"
	case i == refTraceOnly:
		return "a trace, no span id"
	}
	return "a span that is not in the session"
}

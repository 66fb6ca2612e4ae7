package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Splitting cuts a batch into batches by a key of each item (span, data
// point, log record): every item goes, in order, into the batch of its
// key, under a copy of its resource and scope (a data point under a copy
// of its metric's shape). A capture cuts a request above its batch limit
// this way (the key: the item's number over the limit), a replay an
// object above what its target takes in one request, and an object whose
// items span more than a moment into pieces sent at their own times (the
// key: the item's time slot). The pieces are copies: the batch itself is
// never changed (pipelines may share it).

// Piece is the part of a split batch whose items have key Key.
type Piece[T any] struct {
	Key  int64
	Data T
}

// piece is a piece being filled: the indexes of the resource and scope its
// last item came from, and where that item went.
type piece[T, R, S any] struct {
	data   T
	ri, si int
	res    R
	scope  S
}

// splitter fills the pieces of one split, by key, in order of first use.
type splitter[T, R, S any] struct {
	newData func() T
	pieces  map[int64]*piece[T, R, S]
	order   []int64
}

func newSplitter[T, R, S any](newData func() T) *splitter[T, R, S] {
	return &splitter[T, R, S]{newData: newData, pieces: map[int64]*piece[T, R, S]{}}
}

func (s *splitter[T, R, S]) get(key int64) *piece[T, R, S] {
	p, ok := s.pieces[key]
	if !ok {
		p = &piece[T, R, S]{data: s.newData(), ri: -1, si: -1}
		s.pieces[key] = p
		s.order = append(s.order, key)
	}
	return p
}

// result returns the pieces in key order.
func (s *splitter[T, R, S]) result() []Piece[T] {
	slices.Sort(s.order)
	out := make([]Piece[T], len(s.order))
	for i, k := range s.order {
		out[i] = Piece[T]{Key: k, Data: s.pieces[k].data}
	}
	return out
}

// SplitTraces cuts td by key(span).
func SplitTraces(td ptrace.Traces, key func(ptrace.Span) int64) []Piece[ptrace.Traces] {
	s := newSplitter[ptrace.Traces, ptrace.ResourceSpans, ptrace.ScopeSpans](ptrace.NewTraces)
	for ri, rs := range td.ResourceSpans().All() {
		for si, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				p := s.get(key(sp))
				if p.ri != ri {
					p.res = p.data.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(p.res.Resource())
					p.res.SetSchemaUrl(rs.SchemaUrl())
					p.ri, p.si = ri, -1
				}
				if p.si != si {
					p.scope = p.res.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(p.scope.Scope())
					p.scope.SetSchemaUrl(ss.SchemaUrl())
					p.si = si
				}
				sp.CopyTo(p.scope.Spans().AppendEmpty())
			}
		}
	}
	return s.result()
}

// SplitLogs cuts ld by key(log record).
func SplitLogs(ld plog.Logs, key func(plog.LogRecord) int64) []Piece[plog.Logs] {
	s := newSplitter[plog.Logs, plog.ResourceLogs, plog.ScopeLogs](plog.NewLogs)
	for ri, rl := range ld.ResourceLogs().All() {
		for si, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				p := s.get(key(lr))
				if p.ri != ri {
					p.res = p.data.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(p.res.Resource())
					p.res.SetSchemaUrl(rl.SchemaUrl())
					p.ri, p.si = ri, -1
				}
				if p.si != si {
					p.scope = p.res.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(p.scope.Scope())
					p.scope.SetSchemaUrl(sl.SchemaUrl())
					p.si = si
				}
				lr.CopyTo(p.scope.LogRecords().AppendEmpty())
			}
		}
	}
	return s.result()
}

// metricPiece is where a metrics piece's last data point went: its metric
// (and which of the batch's metrics that is a copy of).
type metricPiece struct {
	sm     pmetric.ScopeMetrics
	mi     int
	metric pmetric.Metric
}

// SplitMetrics cuts md by key(metric, index of the data point, its
// timestamp); a metric whose points are cut keeps its shape (name, type,
// temporality) in each piece.
func SplitMetrics(md pmetric.Metrics, key func(m pmetric.Metric, index int, ts pcommon.Timestamp) int64) []Piece[pmetric.Metrics] {
	s := newSplitter[pmetric.Metrics, pmetric.ResourceMetrics, metricPiece](pmetric.NewMetrics)
	for ri, rm := range md.ResourceMetrics().All() {
		for si, sm := range rm.ScopeMetrics().All() {
			for mi, m := range sm.Metrics().All() {
				for i := range DataPointCount(m) {
					p := s.get(key(m, i, DataPointTime(m, i)))
					if p.ri != ri {
						p.res = p.data.ResourceMetrics().AppendEmpty()
						rm.Resource().CopyTo(p.res.Resource())
						p.res.SetSchemaUrl(rm.SchemaUrl())
						p.ri, p.si = ri, -1
					}
					if p.si != si {
						p.scope.sm = p.res.ScopeMetrics().AppendEmpty()
						sm.Scope().CopyTo(p.scope.sm.Scope())
						p.scope.sm.SetSchemaUrl(sm.SchemaUrl())
						p.si, p.scope.mi = si, -1
					}
					if p.scope.mi != mi {
						p.scope.metric = p.scope.sm.Metrics().AppendEmpty()
						CopyMetricShape(m, p.scope.metric)
						p.scope.mi = mi
					}
					AppendDataPoint(m, i, p.scope.metric)
				}
			}
		}
	}
	return s.result()
}

// inOrder returns a key that numbers items in order, limit to a key.
func inOrder(limit int) func() int64 {
	n := 0
	return func() int64 {
		k := n / limit
		n++
		return int64(k)
	}
}

// data returns the batches of pieces.
func data[T any](pieces []Piece[T]) []T {
	out := make([]T, len(pieces))
	for i, p := range pieces {
		out[i] = p.Data
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ChunkTraces cuts td into batches of at most limit spans, in order.
func ChunkTraces(td ptrace.Traces, limit int) []ptrace.Traces {
	next := inOrder(limit)
	return orEmpty(data(SplitTraces(td, func(ptrace.Span) int64 { return next() })), ptrace.NewTraces)
}

// ChunkLogs cuts ld into batches of at most limit log records, in order.
func ChunkLogs(ld plog.Logs, limit int) []plog.Logs {
	next := inOrder(limit)
	return orEmpty(data(SplitLogs(ld, func(plog.LogRecord) int64 { return next() })), plog.NewLogs)
}

// ChunkMetrics cuts md into batches of at most limit data points, in
// order.
func ChunkMetrics(md pmetric.Metrics, limit int) []pmetric.Metrics {
	next := inOrder(limit)
	return orEmpty(data(SplitMetrics(md, func(pmetric.Metric, int, pcommon.Timestamp) int64 { return next() })), pmetric.NewMetrics)
}

// orEmpty gives a batch without items one empty chunk, as chunking always
// has.
func orEmpty[T any](chunks []T, empty func() T) []T {
	if len(chunks) == 0 {
		return []T{empty()}
	}
	return chunks
}

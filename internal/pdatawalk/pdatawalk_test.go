package pdatawalk

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pdataFields finds, by reflection, every getter reachable from traces,
// metrics and logs that returns one of the wanted types, as
// "package.Type.Method". It follows getters that return pdata types and
// the At method of slices, so a field added to pdata shows up here.
func pdataFields(t *testing.T, wanted ...reflect.Type) []string {
	t.Helper()
	var found []string
	seen := map[reflect.Type]bool{}
	queue := []reflect.Type{reflect.TypeFor[ptrace.Traces](), reflect.TypeFor[pmetric.Metrics](), reflect.TypeFor[plog.Logs]()}
	for len(queue) > 0 {
		typ := queue[0]
		queue = queue[1:]
		if seen[typ] {
			continue
		}
		seen[typ] = true
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			in := m.Type.NumIn() - 1 // minus the receiver
			if m.Type.NumOut() != 1 || (in != 0 && !(m.Name == "At" && in == 1)) {
				continue
			}
			out := m.Type.Out(0)
			if slices.Contains(wanted, out) {
				found = append(found, typ.String()+"."+m.Name)
				continue
			}
			switch pkg := out.PkgPath(); {
			case strings.HasSuffix(pkg, "/pdata/ptrace"), strings.HasSuffix(pkg, "/pdata/pmetric"), strings.HasSuffix(pkg, "/pdata/plog"):
				if out.Kind() == reflect.Struct {
					queue = append(queue, out)
				}
			}
		}
	}
	slices.Sort(found)
	require.NotEmpty(t, found)
	return found
}

// everything builds one of every kind of item, each timestamp field set to
// a distinct value and each id field to a distinct id.
func everything() (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	next := pcommon.Timestamp(1_000_000_000)
	ts := func() pcommon.Timestamp { next += 1000; return next }
	var idSeq byte
	tid := func() pcommon.TraceID { idSeq++; return pcommon.TraceID{15: idSeq} }
	sid := func() pcommon.SpanID { idSeq++; return pcommon.SpanID{7: idSeq} }

	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetStartTimestamp(ts())
	sp.SetEndTimestamp(ts())
	sp.SetTraceID(tid())
	sp.SetSpanID(sid())
	sp.SetParentSpanID(sid())
	sp.Events().AppendEmpty().SetTimestamp(ts())
	ln := sp.Links().AppendEmpty()
	ln.SetTraceID(tid())
	ln.SetSpanID(sid())

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(ts())
	lr.SetObservedTimestamp(ts())
	lr.SetTraceID(tid())
	lr.SetSpanID(sid())

	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	exemplar := func(exs pmetric.ExemplarSlice) {
		ex := exs.AppendEmpty()
		ex.SetTimestamp(ts())
		ex.SetTraceID(tid())
		ex.SetSpanID(sid())
	}
	g := ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	g.SetStartTimestamp(ts())
	g.SetTimestamp(ts())
	exemplar(g.Exemplars())
	s := ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	s.SetStartTimestamp(ts())
	s.SetTimestamp(ts())
	exemplar(s.Exemplars())
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	h.SetStartTimestamp(ts())
	h.SetTimestamp(ts())
	exemplar(h.Exemplars())
	e := ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	e.SetStartTimestamp(ts())
	e.SetTimestamp(ts())
	exemplar(e.Exemplars())
	su := ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty()
	su.SetStartTimestamp(ts())
	su.SetTimestamp(ts())
	return td, md, ld
}

// TestEveryTimestampField: the walk visits exactly the timestamp fields
// pdata has. The list is the contract of "every time field of every
// signal"; reflection checks it against pdata, the walk against the list.
func TestEveryTimestampField(t *testing.T) {
	want := []string{
		"plog.LogRecord.ObservedTimestamp",
		"plog.LogRecord.Timestamp",
		"pmetric.Exemplar.Timestamp",
		"pmetric.ExponentialHistogramDataPoint.StartTimestamp",
		"pmetric.ExponentialHistogramDataPoint.Timestamp",
		"pmetric.HistogramDataPoint.StartTimestamp",
		"pmetric.HistogramDataPoint.Timestamp",
		"pmetric.NumberDataPoint.StartTimestamp",
		"pmetric.NumberDataPoint.Timestamp",
		"pmetric.SummaryDataPoint.StartTimestamp",
		"pmetric.SummaryDataPoint.Timestamp",
		"ptrace.Span.EndTimestamp",
		"ptrace.Span.StartTimestamp",
		"ptrace.SpanEvent.Timestamp",
	}
	require.Equal(t, want, pdataFields(t, reflect.TypeFor[pcommon.Timestamp]()),
		"pdata's timestamp fields changed: list the new field in times.go, visit it, and add it here")

	td, md, ld := everything()
	seen := map[string]pcommon.Timestamp{}
	shift := func(f Field, ts pcommon.Timestamp) pcommon.Timestamp {
		seen[f.String()] = ts
		return ts + 7
	}
	WalkTraces(td, Visitor{Time: shift})
	WalkMetrics(md, Visitor{Time: shift})
	WalkLogs(ld, Visitor{Time: shift})
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
	assert.Equal(t, want, got, "fields visited")

	// Every field was rewritten: a second walk sees each value 7 later.
	again := map[string]pcommon.Timestamp{}
	read := func(f Field, ts pcommon.Timestamp) pcommon.Timestamp { again[f.String()] = ts; return ts }
	WalkTraces(td, Visitor{Time: read})
	WalkMetrics(md, Visitor{Time: read})
	WalkLogs(ld, Visitor{Time: read})
	for k, v := range seen {
		assert.Equal(t, v+7, again[k], k)
	}
}

type recordIDs struct {
	seen map[string]bool
}

func (r recordIDs) TraceID(f Field, id pcommon.TraceID) pcommon.TraceID {
	r.seen[f.String()] = true
	id[0] ^= 0xff
	return id
}

func (r recordIDs) SpanID(f Field, id pcommon.SpanID) pcommon.SpanID {
	r.seen[f.String()] = true
	id[0] ^= 0xff
	return id
}

// TestEveryField: the walk visits exactly the trace and span id fields
// pdata has, and writes what the mapper returns.
func TestEveryField(t *testing.T) {
	want := []string{
		"plog.LogRecord.SpanID",
		"plog.LogRecord.TraceID",
		"pmetric.Exemplar.SpanID",
		"pmetric.Exemplar.TraceID",
		"ptrace.Span.ParentSpanID",
		"ptrace.Span.SpanID",
		"ptrace.Span.TraceID",
		"ptrace.SpanLink.SpanID",
		"ptrace.SpanLink.TraceID",
	}
	require.Equal(t, want, pdataFields(t, reflect.TypeFor[pcommon.TraceID](), reflect.TypeFor[pcommon.SpanID]()),
		"pdata's id fields changed: list the new field in ids.go, visit it, and add it here")

	td, md, ld := everything()
	r := recordIDs{seen: map[string]bool{}}
	WalkTraces(td, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	WalkMetrics(md, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	WalkLogs(ld, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	var got []string
	for k := range r.seen {
		got = append(got, k)
	}
	slices.Sort(got)
	assert.Equal(t, want, got)

	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, byte(0xff), sp.TraceID()[0])
	assert.Equal(t, byte(0xff), sp.Links().At(0).SpanID()[0])
	ex := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(2).Histogram().DataPoints().At(0).Exemplars().At(0)
	assert.Equal(t, byte(0xff), ex.TraceID()[0])
}

// TestUnsetIsNeverVisited: zero timestamps and empty ids mean "unset" and
// stay so; a walk that changes nothing may run over read-only data.
func TestUnsetIsNeverVisited(t *testing.T) {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events().AppendEmpty()
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().Exemplars().AppendEmpty()
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	fail := func(f Field, ts pcommon.Timestamp) pcommon.Timestamp { t.Errorf("visited unset %s", f); return ts }
	WalkTraces(td, Visitor{Time: fail})
	WalkMetrics(md, Visitor{Time: fail})
	WalkLogs(ld, Visitor{Time: fail})
	r := recordIDs{seen: map[string]bool{}}
	WalkTraces(td, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	WalkMetrics(md, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	WalkLogs(ld, Visitor{TraceID: r.TraceID, SpanID: r.SpanID})
	assert.Empty(t, r.seen)

	full, fmd, fld := everything()
	full.MarkReadOnly()
	fmd.MarkReadOnly()
	fld.MarkReadOnly()
	var n int
	same := func(_ Field, ts pcommon.Timestamp) pcommon.Timestamp { n++; return ts }
	assert.NotPanics(t, func() {
		WalkTraces(full, Visitor{Time: same})
		WalkMetrics(fmd, Visitor{Time: same})
		WalkLogs(fld, Visitor{Time: same})
	})
	assert.Equal(t, 3+2+5*2+4, n) // span 3, log 2, five points and four exemplars
}

func TestItemsAndCounts(t *testing.T) {
	td, md, ld := everything()
	td.ResourceSpans().At(0).ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	assert.Equal(t, td.SpanCount(), countSeq(Spans(td)))
	assert.Equal(t, 2, ResourceSpanCount(td.ResourceSpans().At(0)))
	assert.Equal(t, ld.LogRecordCount(), countSeq(LogRecords(ld)))
	assert.Equal(t, 1, ResourceLogRecordCount(ld.ResourceLogs().At(0)))

	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	ms.At(1).Sum().DataPoints().AppendEmpty()
	ms.AppendEmpty() // a metric without data
	assert.Equal(t, 6, countSeq(Metrics(md)))
	var points int
	for _, m := range Metrics(md) {
		points += DataPointCount(m)
	}
	assert.Equal(t, md.DataPointCount(), points)
	assert.Equal(t, md.DataPointCount(), ResourceDataPointCount(md.ResourceMetrics().At(0)))

	// Stopping early stops.
	n := 0
	for at, sp := range Spans(td) {
		require.Equal(t, td.ResourceSpans().At(0).Resource(), at.Resource)
		require.Equal(t, td.ResourceSpans().At(0).ScopeSpans().At(0).Scope(), at.Scope)
		require.Equal(t, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0), sp)
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func countSeq[T any](seq func(func(Parents, T) bool)) int {
	n := 0
	for range seq {
		n++
	}
	return n
}

func TestKeepDataPoint(t *testing.T) {
	// Each case makes a metric of its type and returns a func appending a
	// point at a given time.
	cases := map[string]func(m pmetric.Metric) func(pcommon.Timestamp){
		"gauge": func(m pmetric.Metric) func(pcommon.Timestamp) {
			s := m.SetEmptyGauge().DataPoints()
			return func(ts pcommon.Timestamp) { s.AppendEmpty().SetTimestamp(ts) }
		},
		"sum": func(m pmetric.Metric) func(pcommon.Timestamp) {
			s := m.SetEmptySum().DataPoints()
			return func(ts pcommon.Timestamp) { s.AppendEmpty().SetTimestamp(ts) }
		},
		"histogram": func(m pmetric.Metric) func(pcommon.Timestamp) {
			s := m.SetEmptyHistogram().DataPoints()
			return func(ts pcommon.Timestamp) { s.AppendEmpty().SetTimestamp(ts) }
		},
		"exponential_histogram": func(m pmetric.Metric) func(pcommon.Timestamp) {
			s := m.SetEmptyExponentialHistogram().DataPoints()
			return func(ts pcommon.Timestamp) { s.AppendEmpty().SetTimestamp(ts) }
		},
		"summary": func(m pmetric.Metric) func(pcommon.Timestamp) {
			s := m.SetEmptySummary().DataPoints()
			return func(ts pcommon.Timestamp) { s.AppendEmpty().SetTimestamp(ts) }
		},
	}
	for name, makeMetric := range cases {
		t.Run(name, func(t *testing.T) {
			md := pmetric.NewMetrics()
			m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			m.SetName("m")
			add := makeMetric(m)
			for i := range 3 {
				add(pcommon.Timestamp(i + 1))
			}
			require.Equal(t, 3, DataPointCount(m))
			KeepDataPoint(m, 1)
			require.Equal(t, 1, DataPointCount(m))
			var got []pcommon.Timestamp
			WalkMetrics(md, Visitor{Time: func(f Field, ts pcommon.Timestamp) pcommon.Timestamp {
				if f.IsPointTime() {
					got = append(got, ts)
				}
				return ts
			}})
			assert.Equal(t, []pcommon.Timestamp{2}, got)
			assert.Equal(t, "m", m.Name())

			// KeepDataPoints keeps the points whose timestamp it accepts.
			for i := range 4 {
				add(pcommon.Timestamp(10 + i))
			}
			left := KeepDataPoints(m, func(ts pcommon.Timestamp) bool { return ts >= 11 && ts < 13 })
			assert.Equal(t, 2, left)
			assert.Equal(t, 2, DataPointCount(m))
			assert.Equal(t, 0, KeepDataPoints(m, func(pcommon.Timestamp) bool { return false }))

			// CopyMetricShape and AppendDataPoint copy a metric point by
			// point: the copy of every point is the metric.
			for i := range 3 {
				add(pcommon.Timestamp(20 + i))
			}
			m.SetUnit("ms")
			cp := pmetric.NewMetrics()
			c := cp.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			CopyMetricShape(m, c)
			for i := range DataPointCount(m) {
				AppendDataPoint(m, i, c)
			}
			var marshaler pmetric.ProtoMarshaler
			want, err := marshaler.MarshalMetrics(md)
			require.NoError(t, err)
			got2, err := marshaler.MarshalMetrics(cp)
			require.NoError(t, err)
			assert.Equal(t, want, got2, "a point-by-point copy of a %s", name)
		})
	}
}

func TestTimeRange(t *testing.T) {
	var r TimeRange
	assert.True(t, r.IsEmpty())
	lo, hi := r.Times()
	assert.True(t, lo.IsZero() && hi.IsZero())
	r.Add(0)
	assert.True(t, r.IsEmpty())
	r.Add(50)
	r.Add(20)
	r.Add(40)
	assert.Equal(t, TimeRange{Lo: 20, Hi: 50}, r)
	r.Merge(TimeRange{})
	assert.Equal(t, TimeRange{Lo: 20, Hi: 50}, r)
	r.Merge(TimeRange{Lo: 10, Hi: 60})
	assert.Equal(t, TimeRange{Lo: 10, Hi: 60}, r)
	lo, hi = r.Times()
	assert.Equal(t, pcommon.Timestamp(10).AsTime(), lo)
	assert.Equal(t, pcommon.Timestamp(60).AsTime(), hi)
}

func BenchmarkWalkMetrics(b *testing.B) {
	_, md, _ := everything()
	for range 10 {
		md.ResourceMetrics().At(0).CopyTo(md.ResourceMetrics().AppendEmpty())
	}
	b.ReportAllocs()
	for b.Loop() {
		WalkMetrics(md, Visitor{Time: func(_ Field, ts pcommon.Timestamp) pcommon.Timestamp { return ts + 1 }})
	}
}

// TestWalkAllocatesNothingPerItem: a walk that rewrites every field of
// every item (a replay's time shift and id remapping) allocates the same
// for one item of each kind as for a thousand.
func TestWalkAllocatesNothingPerItem(t *testing.T) {
	times := func(_ Field, ts pcommon.Timestamp) pcommon.Timestamp { return ts + 1 }
	traceIDs := func(_ Field, id pcommon.TraceID) pcommon.TraceID { id[0]++; return id }
	spanIDs := func(_ Field, id pcommon.SpanID) pcommon.SpanID { id[0]++; return id }
	v := Visitor{Time: times, TraceID: traceIDs, SpanID: spanIDs}
	allocs := func(n int) (tr, me, lo float64) {
		td, md, ld := everything()
		// n resources, each of n items of every kind
		grow := func(s interface{ Len() int }, appendCopy func()) {
			for s.Len() < n {
				appendCopy()
			}
		}
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		grow(spans, func() { spans.At(0).CopyTo(spans.AppendEmpty()) })
		records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		grow(records, func() { records.At(0).CopyTo(records.AppendEmpty()) })
		for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				ps := m.Gauge().DataPoints()
				grow(ps, func() { ps.At(0).CopyTo(ps.AppendEmpty()) })
			case pmetric.MetricTypeSum:
				ps := m.Sum().DataPoints()
				grow(ps, func() { ps.At(0).CopyTo(ps.AppendEmpty()) })
			case pmetric.MetricTypeHistogram:
				ps := m.Histogram().DataPoints()
				grow(ps, func() { ps.At(0).CopyTo(ps.AppendEmpty()) })
			case pmetric.MetricTypeExponentialHistogram:
				ps := m.ExponentialHistogram().DataPoints()
				grow(ps, func() { ps.At(0).CopyTo(ps.AppendEmpty()) })
			case pmetric.MetricTypeSummary:
				ps := m.Summary().DataPoints()
				grow(ps, func() { ps.At(0).CopyTo(ps.AppendEmpty()) })
			}
		}
		grow(td.ResourceSpans(), func() { td.ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty()) })
		grow(ld.ResourceLogs(), func() { ld.ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty()) })
		grow(md.ResourceMetrics(), func() { md.ResourceMetrics().At(0).CopyTo(md.ResourceMetrics().AppendEmpty()) })
		require.Equal(t, n*n, td.SpanCount())
		return testing.AllocsPerRun(10, func() { WalkTraces(td, v) }),
			testing.AllocsPerRun(10, func() { WalkMetrics(md, v) }),
			testing.AllocsPerRun(10, func() { WalkLogs(ld, v) })
	}
	t1, m1, l1 := allocs(1)
	tn, mn, ln := allocs(32)
	assert.Equal(t, t1, tn, "traces: 1 item, 1024 items")
	assert.Equal(t, m1, mn, "metrics: 1 point of each type, 1024 of each")
	assert.Equal(t, l1, ln, "logs: 1 record, 1024 records")
}

// TestVisitPoints: each metric type's points reach the function of their
// point type, in order, each once; a nil function skips its type; a
// metric without data reaches none.
func TestVisitPoints(t *testing.T) {
	_, md, _ := everything()
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	ms.At(0).Gauge().DataPoints().AppendEmpty().SetTimestamp(7) // a second gauge point
	ms.AppendEmpty().SetName("no data")
	var got []string
	seen := func(kind string, ts pcommon.Timestamp) { got = append(got, fmt.Sprintf("%s@%d", kind, ts)) }
	all := PointVisitor{
		Number:       func(p pmetric.NumberDataPoint) { seen("number", p.Timestamp()) },
		Histogram:    func(p pmetric.HistogramDataPoint) { seen("histogram", p.Timestamp()) },
		ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) { seen("exp", p.Timestamp()) },
		Summary:      func(p pmetric.SummaryDataPoint) { seen("summary", p.Timestamp()) },
	}
	var want []string
	for _, m := range ms.All() {
		VisitPoints(m, all)
		for i := range DataPointCount(m) {
			kind := map[pmetric.MetricType]string{pmetric.MetricTypeGauge: "number", pmetric.MetricTypeSum: "number",
				pmetric.MetricTypeHistogram: "histogram", pmetric.MetricTypeExponentialHistogram: "exp", pmetric.MetricTypeSummary: "summary"}[m.Type()]
			want = append(want, fmt.Sprintf("%s@%d", kind, DataPointTime(m, i)))
		}
	}
	assert.Equal(t, want, got)
	assert.Len(t, got, 6, "two gauge points and one of each other type")

	got = nil
	for _, m := range ms.All() {
		VisitPoints(m, PointVisitor{Summary: all.Summary})
	}
	assert.Equal(t, []string{want[len(want)-1]}, got, "only the summary's point")
}

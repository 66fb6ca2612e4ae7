package sessionreplayreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
)

var t0 = pcommon.NewTimestampFromTime(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))

func ts(ms int) pcommon.Timestamp {
	return t0 + pcommon.Timestamp(ms)*pcommon.Timestamp(time.Millisecond)
}

// richTraces has every kind of timestamp and id reference a trace can hold.
func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	parent := ss.Spans().AppendEmpty()
	parent.SetTraceID([16]byte{1, 2, 3})
	parent.SetSpanID([8]byte{1})
	parent.SetStartTimestamp(ts(0))
	parent.SetEndTimestamp(ts(50))
	child := ss.Spans().AppendEmpty()
	child.SetTraceID([16]byte{1, 2, 3})
	child.SetSpanID([8]byte{2})
	child.SetParentSpanID([8]byte{1})
	child.SetStartTimestamp(ts(10))
	child.SetEndTimestamp(ts(40))
	ev := child.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(20))
	link := child.Links().AppendEmpty()
	link.SetTraceID([16]byte{9})
	link.SetSpanID([8]byte{9})
	return td
}

func richLogs() plog.Logs {
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	a := recs.AppendEmpty()
	a.SetTimestamp(ts(5))
	a.SetObservedTimestamp(ts(6))
	a.SetTraceID([16]byte{1, 2, 3})
	a.SetSpanID([8]byte{2})
	b := recs.AppendEmpty() // no event time, no trace context
	b.SetObservedTimestamp(ts(7))
	return ld
}

func richMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	g.SetTimestamp(ts(100))
	ex := g.Exemplars().AppendEmpty()
	ex.SetTimestamp(ts(99))
	ex.SetTraceID([16]byte{1, 2, 3})
	ex.SetSpanID([8]byte{1})
	s := ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	s.SetStartTimestamp(ts(-1000))
	s.SetTimestamp(ts(100))
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	h.SetStartTimestamp(ts(-2000))
	h.SetTimestamp(ts(100))
	h.Exemplars().AppendEmpty().SetTimestamp(ts(98))
	e := ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	e.SetStartTimestamp(ts(-3000))
	e.SetTimestamp(ts(100))
	e.Exemplars().AppendEmpty().SetTimestamp(ts(97))
	sm := ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty()
	sm.SetStartTimestamp(ts(-4000))
	sm.SetTimestamp(ts(100))
	return md
}

// allTimestamps lists every timestamp field in a fixed order.
func allTimestamps(td ptrace.Traces, md pmetric.Metrics, ld plog.Logs) []pcommon.Timestamp {
	var out []pcommon.Timestamp
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		sp := spans.At(i)
		out = append(out, sp.StartTimestamp(), sp.EndTimestamp())
		for e := range sp.Events().Len() {
			out = append(out, sp.Events().At(e).Timestamp())
		}
	}
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range recs.Len() {
		out = append(out, recs.At(i).Timestamp(), recs.At(i).ObservedTimestamp())
	}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	g := ms.At(0).Gauge().DataPoints().At(0)
	out = append(out, g.StartTimestamp(), g.Timestamp(), g.Exemplars().At(0).Timestamp())
	s := ms.At(1).Sum().DataPoints().At(0)
	out = append(out, s.StartTimestamp(), s.Timestamp())
	h := ms.At(2).Histogram().DataPoints().At(0)
	out = append(out, h.StartTimestamp(), h.Timestamp(), h.Exemplars().At(0).Timestamp())
	e := ms.At(3).ExponentialHistogram().DataPoints().At(0)
	out = append(out, e.StartTimestamp(), e.Timestamp(), e.Exemplars().At(0).Timestamp())
	sm := ms.At(4).Summary().DataPoints().At(0)
	out = append(out, sm.StartTimestamp(), sm.Timestamp())
	return out
}

func TestShiftEveryTimestamp(t *testing.T) {
	td, md, ld := richTraces(), richMetrics(), richLogs()
	before := allTimestamps(td, md, ld)
	delta := 36*time.Hour + 123456789*time.Nanosecond
	sh := &shifter{delta: int64(delta)}
	pdatawalk.WalkTraces(td, pdatawalk.Visitor{Time: sh.shift})
	pdatawalk.WalkMetrics(md, pdatawalk.Visitor{Time: sh.shift})
	pdatawalk.WalkLogs(ld, pdatawalk.Visitor{Time: sh.shift})
	after := allTimestamps(td, md, ld)
	require.Len(t, after, len(before))
	for i := range before {
		if before[i] == 0 {
			assert.Zero(t, after[i], "field %d: unset stays unset", i)
			continue
		}
		assert.Equal(t, int64(delta), int64(after[i])-int64(before[i]), "field %d", i)
	}
	// Every pairwise gap is unchanged.
	for i := range before {
		for j := range before {
			if before[i] != 0 && before[j] != 0 {
				require.Equal(t, int64(before[i])-int64(before[j]), int64(after[i])-int64(after[j]))
			}
		}
	}
	assert.Equal(t, ts(-4000), sh.seen.Lo)
	assert.Equal(t, ts(100), sh.seen.Hi)
}

func TestRemapIDsIsConsistent(t *testing.T) {
	var seed [32]byte
	seed[0] = 7
	k1, k2 := passKey(seed, 1), passKey(seed, 2)
	assert.NotEqual(t, k1, k2)

	td, md, ld := richTraces(), richMetrics(), richLogs()
	pdatawalk.WalkTraces(td, pdatawalk.Visitor{TraceID: k1.TraceID, SpanID: k1.SpanID})
	pdatawalk.WalkMetrics(md, pdatawalk.Visitor{TraceID: k1.TraceID, SpanID: k1.SpanID})
	pdatawalk.WalkLogs(ld, pdatawalk.Visitor{TraceID: k1.TraceID, SpanID: k1.SpanID})
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	parent, child := spans.At(0), spans.At(1)
	assert.NotEqual(t, pcommon.TraceID([16]byte{1, 2, 3}), parent.TraceID(), "new trace id")
	assert.Equal(t, parent.TraceID(), child.TraceID())
	assert.Equal(t, parent.SpanID(), child.ParentSpanID(), "the parent still resolves")
	assert.True(t, parent.ParentSpanID().IsEmpty(), "a root stays a root")
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.Equal(t, child.TraceID(), recs.At(0).TraceID(), "log correlation follows")
	assert.Equal(t, child.SpanID(), recs.At(0).SpanID())
	assert.True(t, recs.At(1).TraceID().IsEmpty(), "no trace context stays none")
	ex := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Exemplars().At(0)
	assert.Equal(t, parent.TraceID(), ex.TraceID(), "exemplars follow")
	assert.Equal(t, parent.SpanID(), ex.SpanID())
	link := child.Links().At(0)
	assert.NotEqual(t, pcommon.TraceID([16]byte{9}), link.TraceID())

	// Another pass gives other ids; applying the key twice restores them.
	td2 := richTraces()
	pdatawalk.WalkTraces(td2, pdatawalk.Visitor{TraceID: k2.TraceID, SpanID: k2.SpanID})
	assert.NotEqual(t, parent.TraceID(), td2.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
	pdatawalk.WalkTraces(td, pdatawalk.Visitor{TraceID: k1.TraceID, SpanID: k1.SpanID})
	assert.Equal(t, richTraces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SpanID(),
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SpanID())
}

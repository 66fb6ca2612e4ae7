package sessionreplayreceiver

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/collector/consumer"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// timedSession writes 4 rich objects per signal, 50 ms apart, whose data
// lies partly before its capture time (as real spans do).
func timedSession(t *testing.T, id string) (*Config, time.Time) {
	t.Helper()
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, id, c0)
	for i := range 4 {
		at := c0.Add(time.Duration(i) * 50 * time.Millisecond)
		shift := &shifter{delta: int64(at.Sub(t0.AsTime()))}
		td, md, ld := richTraces(), richMetrics(), richLogs()
		// Distinct ids per object; the session's data times sit around at.
		tid := pcommon.TraceID([16]byte{byte(i + 1)})
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(tid)
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetTraceID(tid)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTraceID(tid)
		md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Exemplars().At(0).SetTraceID(tid)
		pdatawalk.WalkTraces(td, pdatawalk.Visitor{Time: shift.shift})
		pdatawalk.WalkMetrics(md, pdatawalk.Visitor{Time: shift.shift})
		pdatawalk.WalkLogs(ld, pdatawalk.Visitor{Time: shift.shift})
		w.Traces(at, td)
		w.Metrics(at.Add(time.Millisecond), md)
		w.Logs(at.Add(2*time.Millisecond), ld)
	}
	w.Complete()
	return baseConfig(storeCfg, id), c0
}

// traceTimes returns the earliest and latest timestamp of td.
func traceTimes(td ptrace.Traces) []pcommon.Timestamp {
	sh := &timeCollector{}
	pdatawalk.WalkTraces(td, pdatawalk.Visitor{Time: sh.shifter.shift})
	return sh.seen()
}

// timeCollector reuses the shifter's walk (delta 0) to find the earliest
// and latest timestamp.
type timeCollector struct{ shifter shifter }

func (c *timeCollector) seen() []pcommon.Timestamp {
	return []pcommon.Timestamp{c.shifter.seen.Lo, c.shifter.seen.Hi}
}

func TestTimestampsNoneIsByteIdentical(t *testing.T) {
	cfg, _ := timedSession(t, "none")
	s := newSinks()
	startReplay(t, cfg, s.traces, s.metrics, s.logs).wait(t, 30*time.Second)
	st, err := sessionstore.OpenFilesystem(cfg.Store.Directory)
	require.NoError(t, err)
	defer st.Close()
	// Every replayed batch marshals to exactly the protobuf that was stored.
	var stored [][]byte
	for o, err := range sessionstore.ListObjectsByTime(context.Background(), st, "none") {
		require.NoError(t, err)
		data, err := sessionstore.ReadStored(context.Background(), st, o, 1<<20)
		require.NoError(t, err)
		raw, err := sessionstore.Decompress(data, 1<<20)
		require.NoError(t, err)
		stored = append(stored, raw)
	}
	var replayed [][]byte
	traces, metrics, logs := s.traces.AllTraces(), s.metrics.AllMetrics(), s.logs.AllLogs()
	require.Len(t, traces, 4)
	for i := range 4 { // objects alternate traces, metrics, logs in capture order
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(traces[i])
		require.NoError(t, err)
		replayed = append(replayed, b)
		b, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(metrics[i])
		require.NoError(t, err)
		replayed = append(replayed, b)
		b, err = (&plog.ProtoMarshaler{}).MarshalLogs(logs[i])
		require.NoError(t, err)
		replayed = append(replayed, b)
	}
	assert.Equal(t, stored, replayed)
}

func TestTimestampsRelativeLoops(t *testing.T) {
	cfg, c0 := timedSession(t, "relative")
	cfg.Timestamps = TimestampsRelative
	cfg.Loops = 3
	cfg.RegenerateIDs = true
	s := newSinks()
	before := time.Now()
	rep := startReplay(t, cfg, s.traces, s.metrics, s.logs)
	rep.wait(t, 30*time.Second)
	require.Equal(t, 3, rep.r.lastSummary().passes)

	traces := s.traces.AllTraces()
	require.Len(t, traces, 12)
	// Session length: data spans from the earliest start time (4 s before
	// the first object, the summary's start) to the last object's data.
	sh := &shifter{}
	for i := range 4 {
		at := c0.Add(time.Duration(i) * 50 * time.Millisecond)
		x := &shifter{delta: int64(at.Sub(t0.AsTime()))}
		td, md, ld := richTraces(), richMetrics(), richLogs()
		pdatawalk.WalkTraces(td, pdatawalk.Visitor{Time: x.shift})
		pdatawalk.WalkMetrics(md, pdatawalk.Visitor{Time: x.shift})
		pdatawalk.WalkLogs(ld, pdatawalk.Visitor{Time: x.shift})
		pdatawalk.WalkTraces(td, pdatawalk.Visitor{Time: sh.shift})
		pdatawalk.WalkMetrics(md, pdatawalk.Visitor{Time: sh.shift})
		pdatawalk.WalkLogs(ld, pdatawalk.Visitor{Time: sh.shift})
	}
	length := time.Duration(sh.seen.Hi-sh.seen.Lo) + time.Millisecond

	// Pass k is shifted by delta_0 + k*length; within a pass every
	// timestamp moved by the same delta, so all gaps are preserved.
	recorded := richTraces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).StartTimestamp()
	var deltas []int64
	seen := map[pcommon.TraceID]int{}
	for i, td := range traces {
		pass := i / 4
		obj := i % 4
		at := c0.Add(time.Duration(obj) * 50 * time.Millisecond)
		orig := int64(recorded) + int64(at.Sub(t0.AsTime()))
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		d := int64(spans.At(0).StartTimestamp()) - orig
		deltas = append(deltas, d)
		assert.Equal(t, deltas[pass*4], d, "one delta per pass (object %d of pass %d)", obj, pass)
		// ids: new per pass, parent resolves within the pass
		assert.Equal(t, spans.At(0).SpanID(), spans.At(1).ParentSpanID())
		seen[spans.At(0).TraceID()]++
	}
	// The first object's capture time maps to the pass start (within the
	// time it took to start).
	firstStart := time.Unix(0, int64(c0.UnixNano())+deltas[0])
	assert.WithinDuration(t, before, firstStart, 2*time.Second)
	assert.Equal(t, int64(length), deltas[4]-deltas[0], "pass 1 is one session length further")
	assert.Equal(t, 2*int64(length), deltas[8]-deltas[0], "pass 2 two lengths")
	for id, n := range seen {
		assert.Equal(t, 1, n, "trace id %s repeats across passes", id)
	}
	// Time never runs backwards: every timestamp of pass k+1 is after every one of pass k.
	var passMax [3]pcommon.Timestamp
	var passMin [3]pcommon.Timestamp
	for i, td := range traces {
		tl := traceTimes(td)
		p := i / 4
		if passMin[p] == 0 || tl[0] < passMin[p] {
			passMin[p] = tl[0]
		}
		passMax[p] = max(passMax[p], tl[1])
	}
	assert.Less(t, passMax[0], passMin[1])
	assert.Less(t, passMax[1], passMin[2])
	// Logs and exemplars keep pointing at the (remapped) spans of their pass.
	logs := s.logs.AllLogs()
	require.Len(t, logs, 12)
	for i, ld := range logs {
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		child := traces[i].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
		assert.Equal(t, child.TraceID(), lr.TraceID(), "log %d", i)
		assert.Equal(t, child.SpanID(), lr.SpanID(), "log %d", i)
	}
	metrics := s.metrics.AllMetrics()
	for i, md := range metrics {
		ex := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Exemplars().At(0)
		parent := traces[i].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		assert.Equal(t, parent.SpanID(), ex.SpanID(), "exemplar %d", i)
	}
}

// TestTimestampsCurrent runs on a virtual clock, where the emit time of an
// object is exactly when it arrives: its shift must be exactly arrival
// minus capture time.
func TestTimestampsCurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, c0 := timedSession(t, "current")
		cfg.Timestamps = TimestampsCurrent
		cfg.Speed = 1
		sink := &arrivals{}
		startReplay(t, cfg, sink, nil, nil).wait(t, 30*time.Second)
		require.Len(t, sink.got, 4)
		recorded := richTraces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).StartTimestamp()
		for i, a := range sink.got {
			at := c0.Add(time.Duration(i) * 50 * time.Millisecond)
			orig := int64(recorded) + int64(at.Sub(t0.AsTime()))
			span := a.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			shift := time.Duration(int64(span.StartTimestamp()) - orig)
			// The object's shift is its emit time minus its capture time.
			assert.Equal(t, a.at.Sub(at), shift, "object %d", i)
			if i > 0 {
				assert.Equal(t, 50*time.Millisecond, a.at.Sub(sink.got[i-1].at), "paced at 1x")
			}
			// Gaps inside the object are exact.
			child := a.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
			assert.Equal(t, 10*time.Millisecond, time.Duration(child.StartTimestamp()-span.StartTimestamp()))
		}
	})
}

type arrival struct {
	at time.Time
	td ptrace.Traces
}

// arrivals records when each batch arrived.
type arrivals struct {
	mu  sync.Mutex
	got []arrival
}

func (a *arrivals) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (a *arrivals) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, arrival{at: time.Now(), td: td})
	return nil
}

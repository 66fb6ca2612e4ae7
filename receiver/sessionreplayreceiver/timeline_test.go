package sessionreplayreceiver

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
)

// stamped is an item as a sink saw it: when it arrived, its signal and its
// (replayed) event time.
type stamped struct {
	at     time.Time
	signal sessionstore.Signal
	event  time.Time
}

// itemClock records every item of every signal with its arrival time.
type itemClock struct {
	mu    sync.Mutex
	items []stamped
	reqs  int
}

func (c *itemClock) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *itemClock) add(sig sessionstore.Signal, ts []pcommon.Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.reqs++
	for _, t := range ts {
		c.items = append(c.items, stamped{at: now, signal: sig, event: t.AsTime()})
	}
}

func (c *itemClock) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	var ts []pcommon.Timestamp
	for _, sp := range pdatawalk.Spans(td) {
		ts = append(ts, sp.StartTimestamp())
	}
	c.add(sessionstore.SignalTraces, ts)
	return nil
}

func (c *itemClock) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	var ts []pcommon.Timestamp
	for _, m := range pdatawalk.Metrics(md) {
		for i := range pdatawalk.DataPointCount(m) {
			ts = append(ts, pdatawalk.DataPointTime(m, i))
		}
	}
	c.add(sessionstore.SignalMetrics, ts)
	return nil
}

func (c *itemClock) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	var ts []pcommon.Timestamp
	for _, lr := range pdatawalk.LogRecords(ld) {
		ts = append(ts, lr.Timestamp())
	}
	c.add(sessionstore.SignalLogs, ts)
	return nil
}

// fastSeed writes what a seed made with clock: fast looks like: 30 s of
// events (a trace of two spans, a data point and a log record every
// 100 ms, from c0) captured within 40 ms of c0, each signal's events in
// objects captured in event order (traces in two objects). It returns the
// items per signal.
func fastSeed(t *testing.T, st sessionstore.Store, id string, c0 time.Time) map[sessionstore.Signal]int {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	tds := []ptrace.Traces{ptrace.NewTraces(), ptrace.NewTraces()}
	md, ld := pmetric.NewMetrics(), plog.NewLogs()
	spans := tds[0].ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("requests")
	points := g.SetEmptyGauge().DataPoints()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 300 {
		at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
		if i == 150 {
			spans = tds[1].ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		}
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
		for j := range 2 {
			sp := spans.AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(pcommon.SpanID{byte(j + 1), 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
			if j == 1 {
				sp.SetParentSpanID(pcommon.SpanID{1, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
			}
			// the child starts 60 ms after its root: often in the next 100 ms
			start := at.Add(time.Duration(j) * 60 * time.Millisecond)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(30 * time.Millisecond)))
		}
		p := points.AppendEmpty()
		p.SetTimestamp(pcommon.NewTimestampFromTime(at))
		p.SetIntValue(int64(i))
		r := records.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(at))
		r.Body().SetStr("tick")
	}
	w.Meta.SessionType = sessionstore.SessionTypeSeed
	w.Meta.Seed = &sessionstore.SeedInfo{Pattern: "ticks", Phases: []sessionstore.Phase{}}
	w.Traces(c0, tds[0])
	w.Metrics(c0.Add(10*time.Millisecond), md)
	w.Logs(c0.Add(20*time.Millisecond), ld)
	w.Traces(c0.Add(40*time.Millisecond), tds[1])
	w.Complete()
	return map[sessionstore.Signal]int{sessionstore.SignalTraces: 600, sessionstore.SignalMetrics: 300, sessionstore.SignalLogs: 300}
}

// TestFastSeedPacesByEventTime: a session whose 30 s of events were
// captured in 40 ms (a clock: fast seed) replays at speed 1 over 30 s with
// pace_by left at auto: every item at its own time after the first (at
// most 100 ms early, the width of a piece; never late on a virtual clock),
// the three signals interleaved by event time although each signal's
// objects hold all of its seconds, every trace whole, every item once. With
// pace_by: capture_time the same session is the burst it was captured as.
func TestFastSeedPacesByEventTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		want := fastSeed(t, st, "fast", c0)
		cfg := baseConfig(storeCfg, "fast")
		cfg.Speed = 1
		sink := &itemClock{}
		rep := startReplay(t, cfg, sink, sink, sink)
		rep.wait(t, time.Hour)
		assert.Equal(t, PaceByEventTime, rep.r.current().pace, "auto: the metadata says the events outrun the capture")

		require.NotEmpty(t, sink.items)
		start := sink.items[0].at
		got := map[sessionstore.Signal]int{}
		seconds := map[sessionstore.Signal]map[int]bool{}
		var last time.Time
		for _, it := range sink.items {
			got[it.signal]++
			off, want := it.at.Sub(start), it.event.Sub(c0)
			assert.LessOrEqual(t, off, want, "%s item of %s not late", it.signal, want)
			assert.Greater(t, off, want-100*time.Millisecond, "%s item of %s at most one piece early", it.signal, want)
			if seconds[it.signal] == nil {
				seconds[it.signal] = map[int]bool{}
			}
			seconds[it.signal][int(off/time.Second)] = true
			last = it.at
		}
		assert.Equal(t, want, got, "every item once")
		assert.Equal(t, 29900*time.Millisecond, last.Sub(start), "the replay lasts as long as the events")
		for sig, s := range seconds {
			assert.Len(t, s, 30, "%s in every one of its 30 seconds", sig)
		}
		assert.Greater(t, sink.reqs, 3*290, "pieces of 100 ms")
		status := rep.r.Status()
		assert.Equal(t, int64(4), status.ObjectsDone, "objects, not pieces")
		assert.Equal(t, int64(1200), status.ItemsDone)
		assert.InDelta(t, 100, status.Percent, 0.01)
	})

	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		fastSeed(t, st, "fast", c0)
		cfg := baseConfig(storeCfg, "fast")
		cfg.Speed = 1
		cfg.PaceBy = PaceByCaptureTime
		sink := &itemClock{}
		startReplay(t, cfg, sink, sink, sink).wait(t, time.Hour)
		first, last := sink.items[0].at, sink.items[len(sink.items)-1].at
		assert.Equal(t, 40*time.Millisecond, last.Sub(first), "by capture time: the burst it was captured in")
		assert.Equal(t, 4, sink.reqs, "one request per object")
	})

	// At speed 0 nothing is paced: the objects go whole, as fast as the
	// pipeline takes them, not as 300 pieces each.
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		want := fastSeed(t, st, "fast", time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
		cfg := baseConfig(storeCfg, "fast")
		sink := &itemClock{}
		startReplay(t, cfg, sink, sink, sink).wait(t, time.Hour)
		assert.Equal(t, 4, sink.reqs, "one request per object")
		got := map[sessionstore.Signal]int{}
		for _, it := range sink.items {
			got[it.signal]++
		}
		assert.Equal(t, want, got)
	})
}

// TestEventTimelineKeepsTracesWhole: with timestamps: current at speed 4
// every piece is shifted by its own emit time; a trace whose child starts
// in the next 100 ms still goes out in one piece, so its spans keep their
// 60 ms apart.
func TestEventTimelineKeepsTracesWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		fastSeed(t, st, "fast", c0)
		cfg := baseConfig(storeCfg, "fast")
		cfg.Speed = 4
		cfg.Timestamps = TimestampsCurrent
		cfg.Signals = []sessionstore.Signal{sessionstore.SignalTraces}
		sink := newSinks()
		startReplay(t, cfg, sink.traces, nil, nil).wait(t, time.Hour)
		td, _, _ := merged(sink)
		starts := map[pcommon.SpanID]pcommon.Timestamp{}
		for _, sp := range pdatawalk.Spans(td) {
			starts[sp.SpanID()] = sp.StartTimestamp()
		}
		require.Len(t, starts, 600)
		for _, sp := range pdatawalk.Spans(td) {
			if sp.ParentSpanID().IsEmpty() {
				continue
			}
			gap := time.Duration(sp.StartTimestamp() - starts[sp.ParentSpanID()])
			require.Equal(t, 60*time.Millisecond, gap, "child of %s", sp.ParentSpanID())
		}
	})
}

// TestEventTimelineHoldsAtMostItsLimit: the timeline gives out a piece
// ahead of an object it has not seen only when it holds its limit of
// objects: memory stays bounded whatever the session's order.
func TestEventTimelineHoldsAtMostItsLimit(t *testing.T) {
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	objects := make(chan fetched)
	var held atomic.Int64 // objects handed to the timeline (the producer counts, the loop reads)
	go func() {
		defer close(objects)
		// 20 trace objects, each 2 s of events; logs are in the session
		// (metadata) and never come: only the limit lets pieces out.
		for i := range 20 {
			td := sessiontest.Traces("svc", i, 3, c0.Add(time.Duration(i)*2*time.Second))
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2).SetStartTimestamp(
				pcommon.NewTimestampFromTime(c0.Add(time.Duration(i)*2*time.Second + 1500*time.Millisecond)))
			f := fetched{obj: sessionstore.Object{ObjectKey: sessionstore.NewObjectKey("s", sessionstore.SignalTraces, c0.Add(time.Duration(i)*time.Millisecond))},
				batch: sessionstore.Batch{Signal: sessionstore.SignalTraces, Traces: td}, release: func() {}}
			f.at, f.lastEvent = f.batch.EventRange() // as the prefetch has them when pacing by event time
			objects <- f
			held.Add(1)
		}
	}()
	last := map[sessionstore.Signal]time.Time{
		sessionstore.SignalTraces: c0.Add(time.Hour), sessionstore.SignalLogs: c0.Add(time.Hour),
	}
	n := 0
	var prev time.Time
	for u := range eventTimeline(objects, 4, last) {
		assert.LessOrEqual(t, held.Load()-int64(n/3), int64(5), "at most the limit held (and the one being handed over)")
		assert.False(t, u.at.Before(prev), "in event order")
		prev = u.at
		n += u.batch().ItemCount()
	}
	assert.Equal(t, 60, n)
}

// TestPaceByAuto: auto paces by event time a seed session whose events
// outran its capture (clock: fast); any other session by capture time,
// whatever its timestamps: a live capture of a load generator whose spans
// are dated weeks ahead (contrib's testbed does that) replays as it was
// captured, not over weeks.
func TestPaceByAuto(t *testing.T) {
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	meta := func(typ sessionstore.SessionType, captured, events time.Duration) *sessionstore.Metadata {
		m := sessionstore.NewMetadata("s", typ, c0, "test")
		m.Add(sessionstore.SignalTraces, c0, 1, 1, 1)
		m.Add(sessionstore.SignalTraces, c0.Add(captured), 1, 1, 1)
		m.ExtendEventTime(c0, c0.Add(events))
		return m
	}
	for _, tc := range []struct {
		name string
		m    *sessionstore.Metadata
		want PaceBy
	}{
		{"fast seed", meta(sessionstore.SessionTypeSeed, 40*time.Millisecond, 30*time.Second), PaceByEventTime},
		{"realtime seed", meta(sessionstore.SessionTypeSeed, 30*time.Second, 30*time.Second), PaceByCaptureTime},
		{"capture with timestamps weeks ahead", meta(sessionstore.SessionTypeCapture, 60*time.Second, 70*24*time.Hour), PaceByCaptureTime},
		{"capture", meta(sessionstore.SessionTypeCapture, 60*time.Second, 60*time.Second), PaceByCaptureTime},
		{"training", meta(sessionstore.SessionTypeTraining, time.Second, time.Hour), PaceByCaptureTime},
	} {
		assert.Equal(t, tc.want, resolvePace(PaceByAuto, tc.m), tc.name)
		assert.Equal(t, PaceByCaptureTime, resolvePace(PaceByCaptureTime, tc.m), tc.name)
		assert.Equal(t, PaceByEventTime, resolvePace(PaceByEventTime, tc.m), tc.name)
	}
}

// TestEventTimelineCheckpoint: a replay paced by event time, with a
// checkpoint, stopped part-way through its second traces object's pieces
// and started again, delivers every span, and goes on after the first
// object (done): what comes twice is only the pieces of the object that
// was not done (pieces are not checkpointed one by one).
func TestEventTimelineCheckpoint(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	fastSeed(t, st, "fast", c0)
	start := time.Now().Add(200 * time.Millisecond).Truncate(time.Millisecond)
	cfg := baseConfig(storeCfg, "fast")
	cfg.Speed = 20 // 30 s of events in 1.5 s
	cfg.StartAt = start
	host, storageID := storagehost.FileStorage(t, filepath.Join(t.TempDir(), "storage"))
	cfg.Checkpoint.Storage = &storageID
	id := component.MustNewIDWithName("session_replay", "timeline")
	got := newSpanLog(start, 200) // 200 pieces: 20 s of events, into the second traces object (15-30 s)
	r, stop := runReplay(t, id, cfg, host, got)
	select {
	case <-got.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the first run did not deliver 200 pieces")
	}
	stop()
	assert.Equal(t, PaceByEventTime, r.current().pace)
	got.mu.Lock()
	first := len(got.spans)
	got.mu.Unlock()
	require.Less(t, first, 600, "stopped part-way")

	finishReplay(t, id, cfg, host, got)
	got.mu.Lock()
	defer got.mu.Unlock()
	require.Len(t, got.spans, 600, "nothing skipped")
	twice := 0
	for _, at := range got.spans {
		twice += len(at) - 1
	}
	assert.Positive(t, twice, "the second object's pieces of the first run come again")
	assert.LessOrEqual(t, twice, first-300, "the first object (300 spans, done) is not replayed again (%d of %d spans twice)", twice, first)
}

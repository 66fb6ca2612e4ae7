package sessionreplayreceiver

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// rotated writes an incident's sessions: one replica's capture rotated at
// 10:00 (capture-a-09, capture-a-10) and another replica's (capture-b)
// beside both, objects 100 ms apart in turn; it returns each object's
// capture time by its first span's batch number.
func rotated(t *testing.T, st sessionstore.Store, c0 time.Time) map[int64]time.Time {
	t.Helper()
	captured := map[int64]time.Time{}
	writers := map[string]*sessiontest.Writer{}
	for _, id := range []string{"capture-a-09", "capture-a-10", "capture-b"} {
		writers[id] = sessiontest.NewWriter(t, st, id, c0)
	}
	for i := range 30 {
		at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
		id := "capture-b"
		if i%2 == 0 {
			id = "capture-a-09"
			if at.Hour() == 10 {
				id = "capture-a-10"
			}
		}
		writers[id].Traces(at, sessiontest.Traces(id, i, 3, at))
		captured[int64(i)] = at
	}
	for _, w := range writers {
		w.Complete()
	}
	return captured
}

// TestSessionsReplayAsOneTimeline: sessions: [three rotated sessions]
// replays their objects as one session, in capture order at their recorded
// gaps, with one time shift (relative timestamps: every span moved by the
// same delta); a time_range in absolute time cuts the window across all
// three.
func TestSessionsReplayAsOneTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 9, 59, 59, 0, time.UTC) // rotation at 10:00
		captured := rotated(t, st, c0)
		cfg := baseConfig(storeCfg, AutoSession)
		cfg.Sessions = []string{"capture-b", "capture-a-10", "capture-a-09"}
		cfg.Speed = 1
		cfg.Timestamps = TimestampsRelative
		require.NoError(t, cfg.Validate())
		sink := &arrivals{}
		rep := startReplay(t, cfg, sink, nil, nil)
		rep.wait(t, time.Minute)
		require.Len(t, sink.got, 30)
		var delta time.Duration
		for i, a := range sink.got {
			batch, _ := a.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("batch")
			require.Equal(t, int64(i), batch.Int(), "capture order across the sessions")
			assert.Equal(t, captured[int64(i)].Sub(c0), a.at.Sub(sink.got[0].at), "object %d at its recorded gap", i)
			for j, sp := range a.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
				d := sp.StartTimestamp().AsTime().Sub(captured[int64(i)].Add(time.Duration(j) * time.Millisecond))
				if i == 0 && j == 0 {
					delta = d
				}
				assert.Equal(t, delta, d, "one shift for all")
			}
		}
		assert.Equal(t, "capture-b,capture-a-10,capture-a-09", rep.r.Status().Session)
		assert.Equal(t, int64(90), rep.r.Status().ItemsTotal)

		// The window 09:59:59.5 to 10:00:01.5, across the three.
		cfg = baseConfig(storeCfg, AutoSession)
		cfg.Sessions = []string{"capture-a-09", "capture-a-10", "capture-b"}
		cfg.TimeRange = TimeRangeConfig{Start: c0.Add(500 * time.Millisecond).Format(time.RFC3339Nano), End: c0.Add(2500 * time.Millisecond).Format(time.RFC3339Nano)}
		window := &arrivals{}
		startReplay(t, cfg, window, nil, nil).wait(t, time.Minute)
		var batches []int64
		for _, a := range window.got {
			for _, sp := range pdatawalk.Spans(a.td) {
				b, _ := sp.Attributes().Get("batch")
				if len(batches) == 0 || batches[len(batches)-1] != b.Int() {
					batches = append(batches, b.Int())
				}
				ts := sp.StartTimestamp().AsTime()
				assert.False(t, ts.Before(c0.Add(500*time.Millisecond)) || !ts.Before(c0.Add(2500*time.Millisecond)), "span at %s in the window", ts)
			}
		}
		var want []int64
		for i := int64(5); i < 25; i++ {
			want = append(want, i)
		}
		assert.Equal(t, want, batches, "every object of the window, from all three sessions, in order")
	})
}

// TestSessionsConfig: sessions is checked as session is; it excludes a
// session id and a checkpoint; a session that is not there is named.
func TestSessionsConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sessions = []string{"a", "../b", "a"}
	err := cfg.Validate()
	assert.ErrorContains(t, err, "sessions[1]")
	assert.ErrorContains(t, err, `sessions[2]: "a" is listed twice`)
	cfg.Sessions = []string{"a", "b"}
	cfg.Session = "c"
	assert.ErrorContains(t, cfg.Validate(), `sessions: [a b] and session "c": set one of them`)
	cfg.Session = AutoSession
	id := component.MustNewID("file_storage")
	cfg.Checkpoint.Storage = &id
	assert.ErrorContains(t, cfg.Validate(), "sessions: a replay of several sessions cannot resume from checkpoint.storage")

	storeCfg, st := fsStore(t)
	rotated(t, st, time.Date(2026, 12, 7, 9, 59, 59, 0, time.UTC))
	cfg = baseConfig(storeCfg, AutoSession)
	cfg.Sessions = []string{"capture-a-09", "capture-c"}
	s := createReplay(t, cfg, nil, &arrivals{}, nil, nil)
	err = s.comp.Start(context.Background(), nil)
	require.Error(t, err)
	assert.ErrorContains(t, err, `no such session "capture-c"`)
	assert.ErrorContains(t, err, "capture-a-09 (completed, 15 items)")
}

// TestMergedMetadata: the view of several sessions sums counts, unites
// time ranges and completes only if all did.
func TestMergedMetadata(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 7, 10, 0, s, 0, time.UTC) }
	mk := func(id string, from, to int, status sessionstore.Status) *sessionstore.Metadata {
		m := sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, at(from), "test")
		m.Add(sessionstore.SignalTraces, at(from), 10, 100, 50)
		m.Add(sessionstore.SignalTraces, at(to), 10, 100, 50)
		m.ExtendEventTime(at(from), at(to))
		m.Status = status
		return m
	}
	m := mergeMetadata([]*sessionstore.Metadata{mk("b", 20, 30, sessionstore.StatusCompleted), mk("a", 5, 25, sessionstore.StatusCompleted)})
	assert.Equal(t, "b,a", m.SessionID)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	assert.Equal(t, int64(40), m.Items())
	assert.Equal(t, at(5), m.StartTime)
	assert.Equal(t, &sessionstore.TimeRange{Start: at(5), End: at(30)}, m.EventTimeRange)
	st := m.Signals[sessionstore.SignalTraces]
	assert.Equal(t, int64(4), st.Objects)
	assert.Equal(t, at(5), *st.FirstCaptureTime)
	assert.Equal(t, at(30), *st.LastCaptureTime)
	m = mergeMetadata([]*sessionstore.Metadata{mk("a", 0, 1, sessionstore.StatusCompleted), mk("b", 2, 3, sessionstore.StatusFailed)})
	assert.Equal(t, sessionstore.StatusFailed, m.Status)
}

// TestSelectionWindow: selection: window replays, as one timeline, every
// completed session of the filter that was capturing during time_range:
// here the three rotated sessions, not one from an hour before nor a seed.
func TestSelectionWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 9, 59, 59, 0, time.UTC)
		rotated(t, st, c0)
		old := sessiontest.NewWriter(t, st, "capture-a-08", c0.Add(-time.Hour))
		old.Traces(c0.Add(-time.Hour), sessiontest.Traces("old", 99, 3, c0.Add(-time.Hour)))
		old.Complete()
		seed := sessiontest.NewWriter(t, st, "seed-x", c0)
		seed.Meta.SessionType = sessionstore.SessionTypeSeed
		seed.Traces(c0.Add(time.Second), sessiontest.Traces("seed", 98, 3, c0.Add(time.Second)))
		seed.Complete()

		cfg := baseConfig(storeCfg, AutoSession)
		cfg.Selection = SelectionWindow
		cfg.Filter.SessionType = "capture"
		cfg.TimeRange = TimeRangeConfig{Start: c0.Format(time.RFC3339), End: c0.Add(3 * time.Second).Format(time.RFC3339)}
		require.NoError(t, cfg.Validate())
		sink := &arrivals{}
		rep := startReplay(t, cfg, sink, nil, nil)
		rep.wait(t, time.Minute)
		assert.Equal(t, "capture-a-09,capture-a-10,capture-b", rep.r.Status().Session, "oldest first (ties by id)")
		assert.Len(t, sink.got, 30)

		cfg.TimeRange = TimeRangeConfig{Start: "5m", End: "10m"}
		assert.ErrorContains(t, cfg.Validate(), "selection: window: needs time_range with both ends RFC 3339 times")
		cfg.TimeRange = TimeRangeConfig{Start: c0.Add(2 * time.Hour).Format(time.RFC3339), End: c0.Add(3 * time.Hour).Format(time.RFC3339)}
		s := createReplay(t, cfg, nil, &arrivals{}, nil, nil)
		err := s.comp.Start(context.Background(), nil)
		assert.ErrorContains(t, err, "no completed, non-empty session")
		assert.ErrorContains(t, err, "was capturing from 2026-12-07T11:59:59Z")
	})
}

package sessioncaptureexporter

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestStartPaused: with session.start: paused the capture is armed, not
// recording: what arrives is counted and dropped, no session opens and
// nothing is written to the store, with a fixed id as with auto, until the
// control API resumes it; then it records as usual.
func TestStartPaused(t *testing.T) {
	for _, id := range []string{"armed", AutoSessionID} {
		t.Run(id, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg, st := fsConfig(t)
				require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"id": id, "start": "paused"}}).Unmarshal(cfg))
				tr, _, c := startControlled(t, cfg)
				ctx := context.Background()
				assert.Equal(t, control.Paused, c.State(ctx).State)
				assert.Nil(t, c.State(ctx).Session, "no session while armed")

				require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(4)))
				synctest.Wait()
				assert.Empty(t, sessiontest.IDs(t, st), "nothing stored while armed")
				assert.Equal(t, int64(4), c.State(ctx).DroppedWhilePaused["traces"])

				_, err := c.Resume(ctx)
				require.NoError(t, err)
				require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(3)))
				tr.shutdown(t)

				ids := sessiontest.IDs(t, st)
				require.Len(t, ids, 1)
				got := sessiontest.Read(t, st, ids[0])
				assert.Equal(t, 3, got.Traces.SpanCount(), "what arrived after the resume")
				sessiontest.CheckCounts(t, got)
			})
		})
	}
}

// TestStartPausedThenNewSession: an armed capture starts recording when
// the control API asks for a new session.
func TestStartPausedThenNewSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "paused"}}).Unmarshal(cfg))
		tr, _, c := startControlled(t, cfg)
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
		state, err := c.NewSession(ctx, control.SessionRequest{ID: "incident-7"})
		require.NoError(t, err)
		assert.Equal(t, control.Recording, state.State, "a new session records")
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(5)))
		tr.shutdown(t)
		assert.Equal(t, []string{"incident-7"}, sessiontest.IDs(t, st))
		assert.Equal(t, 5, sessiontest.Read(t, st, "incident-7").Traces.SpanCount())
	})
}

// TestStartPausedNeedsControl: an armed capture that nothing could resume
// is refused, naming both settings.
func TestStartPausedNeedsControl(t *testing.T) {
	cfg, _ := fsConfig(t)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "paused"}}).Unmarshal(cfg))
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session.start: paused")
	assert.Contains(t, err.Error(), "control")

	require.ErrorContains(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "later"}}).Unmarshal(cfg), `"later"`)
}

// recorderConfig is a filesystem config with recorder: {window}, set as a
// user sets it, into the fixed session "recorder".
func recorderConfig(t *testing.T, window string) (*Config, sessionstore.Store) {
	t.Helper()
	cfg, st := fsConfig(t)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"recorder": map[string]any{"window": window},
		"session":  map[string]any{"id": "recorder"},
		// The recorder's tests count what each second of a store outage
		// loses: batches of a fifth of a second, so that what one second
		// accepted is written (or not) within it.
		"sending_queue": map[string]any{"batch": map[string]any{"flush_timeout": "200ms"}},
	}).Unmarshal(cfg))
	return cfg, st
}

// oldestObject returns the capture time of the oldest object of a session.
func oldestObject(t *testing.T, st sessionstore.Store, id string) (time.Time, int) {
	t.Helper()
	var oldest time.Time
	n := 0
	for o, err := range sessionstore.ListObjects(context.Background(), st, id) {
		require.NoError(t, err)
		if oldest.IsZero() || o.CaptureTime.Before(oldest) {
			oldest = o.CaptureTime
		}
		n++
	}
	return oldest, n
}

// TestRecorderKeepsTheWindow: a recorder with a 10 s window, fed a request
// a second for two minutes (every signal in turn), never holds an object
// older than the window plus one clean-up period (1 s for this window);
// its metadata.json says what it holds at every moment: its counts and
// stats are those of the objects there, its first capture time the oldest
// one's. It stays active while it runs.
func TestRecorderKeepsTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "10s")
		cfg.MetadataInterval = time.Second
		tr := newTrio(t, cfg, nil)
		ctx := context.Background()
		const period = time.Second
		for i := range 120 {
			signal := allSignals[i%3]
			require.NoError(t, tr.consumeItems(ctx, signal, itemBatch(signal, i*10, 10, 1, "")))
			time.Sleep(time.Second)
			if i < 15 {
				continue
			}
			synctest.Wait()
			oldest, n := oldestObject(t, st, "recorder")
			require.Positive(t, n)
			assert.False(t, oldest.Before(time.Now().Add(-10*time.Second-period-time.Second)),
				"second %d: an object from %s, %s ago", i, oldest.Format(time.TimeOnly), time.Since(oldest))
			if i%20 == 0 {
				// metadata written each second: the counts of what is there now,
				// give or take the last second's object
				a := audit(t, st)
				m := a.meta["recorder"]
				require.NotNil(t, m)
				assert.Equal(t, sessionstore.StatusActive, m.Status)
				held := a.objectItems["recorder"]
				assert.InDelta(t, held[sessionstore.SignalTraces]+held[sessionstore.SignalMetrics]+held[sessionstore.SignalLogs], m.Items(), 10)
			}
		}
		tr.shutdown(t)

		a := audit(t, st)
		a.checkLedger(t) // metadata = what the objects hold, nothing twice
		m := a.meta["recorder"]
		assert.Equal(t, sessionstore.StatusCompleted, m.Status)
		assert.InDelta(t, 110, m.Items(), 20, "about the window's worth: 10 items a second")
		oldest, n := oldestObject(t, st, "recorder")
		first, _ := m.CaptureRange()
		assert.Equal(t, oldest, first, "firstCaptureTime is the oldest object's")
		var objects int64
		for _, s := range m.Signals {
			objects += s.Objects
		}
		assert.Equal(t, int64(n), objects)
	})
}

// TestRecorderConfig: a recorder cannot rotate, and its window must not be
// negative; the errors name the settings.
func TestRecorderConfig(t *testing.T) {
	cfg, _ := recorderConfig(t, "30m")
	require.NoError(t, cfg.Validate())
	auto, _ := recorderConfig(t, "30m")
	auto.Session.ID = AutoSessionID
	require.NoError(t, auto.Validate(), "auto: the rolling session is named recorder")
	rot, _ := recorderConfig(t, "30m")
	rot.Session.MaxDuration = time.Hour
	require.ErrorContains(t, rot.Validate(), "session.max_duration")
	neg, _ := recorderConfig(t, "-1s")
	require.ErrorContains(t, neg.Validate(), "recorder.window: -1s")
}

// TestRecorderAfterRestart: a recorder restarted on its rolling session
// goes on with it: the objects the earlier run left are deleted when they
// fall out of the window, and the counts stay those of what is stored.
func TestRecorderAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "10s")
		ctx := context.Background()
		feed := func(tr *trio, from, seconds int) {
			for i := from; i < from+seconds; i++ {
				require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*10, 10, 1, "")))
				time.Sleep(time.Second)
			}
		}
		tr := newTrio(t, cfg, nil)
		feed(tr, 0, 30)
		tr.shutdown(t)
		first := audit(t, st)
		first.checkLedger(t)

		tr = newTrio(t, cfg, nil)
		feed(tr, 30, 25)
		tr.shutdown(t)
		a := audit(t, st)
		a.checkLedger(t)
		oldest, _ := oldestObject(t, st, "recorder")
		assert.False(t, oldest.Before(time.Now().Add(-12*time.Second)), "the earlier run's objects went too: oldest %s ago", time.Since(oldest))
		for k := range first.items {
			if w := a.items[k]; w != nil {
				assert.True(t, k.n >= 400, "item %d of the first run is still there", k.n)
			}
		}
		assert.Equal(t, sessionstore.StatusCompleted, a.meta["recorder"].Status)
	})
}

// TestRecorderUnderAStoreOutage: while the store refuses deletions (and
// writes), the rolling session keeps its old objects and its counts say
// so; when the store is back they go, and the accounting rule holds for
// what was accepted meanwhile: stored or counted lost.
func TestRecorderUnderAStoreOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "10s")
		cfg.RetryConfig.Enabled = false // a failed write is lost at once
		var down atomic.Bool
		refuse := func(faultstore.Call) faultstore.Fault {
			if down.Load() {
				return faultstore.Fault{Err: errors.New("connection refused")}
			}
			return faultstore.Fault{}
		}
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			return faultstore.New(s, faultstore.Data(faultstore.Put, refuse), faultstore.Data(faultstore.Delete, refuse))
		})
		ctx := context.Background()
		sent := 0
		for i := range 60 {
			down.Store(i >= 20 && i < 40)
			require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, sent, 10, 1, "")))
			sent += 10
			time.Sleep(time.Second)
			if i == 39 {
				synctest.Wait()
				oldest, _ := oldestObject(t, st, "recorder")
				assert.True(t, oldest.Before(time.Now().Add(-15*time.Second)), "nothing deleted while the store refuses")
			}
		}
		tr.shutdown(t)
		a := audit(t, st)
		a.checkLedger(t)
		m := a.meta["recorder"]
		assert.Equal(t, int64(200), lostOf(m, sessionstore.SignalTraces), "the writes refused are lost, and said so")
		assert.Equal(t, sessionstore.StatusFailed, m.Status)
		oldest, _ := oldestObject(t, st, "recorder")
		assert.False(t, oldest.Before(time.Now().Add(-12*time.Second)), "the old objects went once the store was back")
	})
}

// TestRecorderWithAutoID: a recorder whose session.id is auto (the
// container's default) rolls the session named "recorder", so that a
// restart, or another replica, goes on with the same one.
func TestRecorderWithAutoID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "5s")
		cfg.Session.ID = AutoSessionID
		for run := range 2 {
			tr := newTrio(t, cfg, nil)
			require.NoError(t, tr.consumeItems(context.Background(), sessionstore.SignalLogs, itemBatch(sessionstore.SignalLogs, run*10, 10, 1, "")))
			time.Sleep(time.Second)
			tr.shutdown(t)
		}
		assert.Equal(t, []string{"recorder"}, sessiontest.IDs(t, st))
		assert.Equal(t, int64(20), audit(t, st).meta["recorder"].CapturedLogs)
	})
}

// TestRecorderBesideAnotherWriter: two recorders writing one rolling
// session (distinct writer ids) each delete the objects they stored as
// they fall out of the window, and the merged metadata counts exactly
// what is stored (neither takes the other's objects out of its own view).
func TestRecorderBesideAnotherWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "5s")
		start := func(name string) *trio {
			set := exportertest.NewNopSettings(metadata.Type)
			set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
			return startTrio(t, set, cfg, nil)
		}
		a := start("a")
		ctx := context.Background()
		var b *trio
		for i := range 30 {
			require.NoError(t, a.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*20, 10, 1, "")))
			if i == 10 { // b finds a's objects in the session
				b = start("b")
			}
			if b != nil {
				require.NoError(t, b.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*20+10, 10, 1, "")))
			}
			time.Sleep(time.Second)
		}
		a.shutdown(t)
		b.shutdown(t)
		au := audit(t, st)
		au.checkLedger(t)
		oldest, _ := oldestObject(t, st, "recorder")
		assert.False(t, oldest.Before(time.Now().Add(-7*time.Second)), "both deleted their old objects: oldest %s ago", time.Since(oldest))
	})
}

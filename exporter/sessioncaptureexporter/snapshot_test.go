package sessioncaptureexporter

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// itemsOf returns the item numbers of signal a session's objects hold.
func (a storeAudit) itemsOf(id string, signal sessionstore.Signal) []int64 {
	var out []int64
	for k, w := range a.items {
		if k.signal == signal && slices.Contains(w.sessions, id) {
			out = append(out, k.n)
		}
	}
	return out
}

// TestSnapshotSavesTheWindow: a recorder (30 s window) fed a request of 10
// spans a second; 40 s in, a snapshot of the 10 s before and the 2 s after
// is asked for. It is a normal session, completed once the 2 s have
// passed, holding exactly the requests accepted in [30 s, 42 s], with
// metadata that counts them, names the recorder and the window; the
// recorder goes on, and its later deletions leave the snapshot whole.
func TestSnapshotSavesTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "30s")
		tr, _, c := startControlled(t, cfg)
		ctx := context.Background()
		start := time.Now()
		var state control.SnapshotState
		for i := range 80 {
			require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*10, 10, 1, "")))
			if i == 40 {
				var err error
				state, err = c.Snapshot(ctx, control.SnapshotRequest{ID: "incident-1", Before: control.Duration(10 * time.Second),
					After: control.Duration(2 * time.Second), Description: "checkout errors", Labels: map[string]string{"severity": "page"}})
				require.NoError(t, err)
				assert.Equal(t, "incident-1", state.Session)
				assert.Equal(t, start.Add(30*time.Second).UTC(), state.From)
				assert.Equal(t, start.Add(42*time.Second).UTC(), state.To)
				m, err := sessionstore.ReadMetadata(ctx, st, "incident-1")
				require.NoError(t, err, "the snapshot session exists at once")
				assert.Equal(t, sessionstore.StatusActive, m.Status, "until the window has passed")
			}
			time.Sleep(time.Second)
		}
		tr.shutdown(t)

		a := audit(t, st)
		a.checkLedger(t)
		m := a.meta["incident-1"]
		require.NotNil(t, m)
		assert.Equal(t, sessionstore.StatusCompleted, m.Status)
		got := a.itemsOf("incident-1", sessionstore.SignalTraces)
		assert.Len(t, got, 130, "the 13 requests of seconds 30 to 42")
		for _, n := range got {
			assert.True(t, n >= 300 && n < 430, "item %d is outside the window", n)
		}
		require.NotNil(t, m.Snapshot)
		assert.Equal(t, "recorder", m.Snapshot.Recorder)
		assert.Equal(t, start.Add(30*time.Second).UTC(), m.Snapshot.From)
		assert.Equal(t, start.Add(42*time.Second).UTC(), m.Snapshot.To)
		assert.Equal(t, "checkout errors", m.Description)
		assert.Equal(t, "page", m.Labels["severity"])
		assert.NotContains(t, a.itemsOf("recorder", sessionstore.SignalTraces), int64(300), "the recorder deleted its copy long ago")
		sessiontest.CheckCounts(t, sessiontest.Read(t, st, "incident-1"))
	})
}

// TestSnapshotRequests: what a snapshot request may ask, with errors that
// name the field, and conflicts.
func TestSnapshotRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, _ := recorderConfig(t, "30s")
		tr, _, c := startControlled(t, cfg)
		defer tr.shutdown(t)
		ctx := context.Background()
		require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalLogs, itemBatch(sessionstore.SignalLogs, 0, 5, 1, "")))
		time.Sleep(time.Second)
		var fe *control.FieldError
		_, err := c.Snapshot(ctx, control.SnapshotRequest{Before: control.Duration(time.Minute)})
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "before", fe.Field, "more than the recorder keeps: %v", err)
		_, err = c.Snapshot(ctx, control.SnapshotRequest{ID: "../x", Before: control.Duration(time.Second)})
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "id", fe.Field)
		_, err = c.Snapshot(ctx, control.SnapshotRequest{ID: "recorder", Before: control.Duration(time.Second)})
		require.ErrorIs(t, err, control.ErrConflict, "an existing session")
		s, err := c.Snapshot(ctx, control.SnapshotRequest{Before: control.Duration(time.Second)})
		require.NoError(t, err)
		assert.Regexp(t, `^snapshot-\d{8}T\d{6}Z-[0-9a-f]{8}$`, s.Session, "a generated id")
		time.Sleep(time.Second)
		s, err = c.Snapshot(ctx, control.SnapshotRequest{ID: AutoSessionID, Before: control.Duration(time.Second)})
		require.NoError(t, err)
		assert.Regexp(t, `^snapshot-\d{8}T\d{6}Z-[0-9a-f]{8}$`, s.Session, "auto: generated, as session.id: auto")
		_, err = c.Snapshot(ctx, control.SnapshotRequest{Labels: map[string]string{"": "x"}, Before: control.Duration(time.Second)})
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "labels", fe.Field)
	})
	t.Run("no recorder", func(t *testing.T) {
		plain, _ := fsConfig(t)
		tr, _, c := startControlled(t, plain)
		defer tr.shutdown(t)
		_, err := c.Snapshot(context.Background(), control.SnapshotRequest{Before: control.Duration(time.Second)})
		require.True(t, errors.Is(err, control.ErrConflict), "no recorder: %v", err)
	})
}

// TestSnapshotKeepsItsWindowFromTheRecorder: a snapshot whose window
// starts a full recorder window back (before = window) and ends 5 s later
// still holds all of it: the recorder keeps the objects a pending snapshot
// will copy, though they pass out of its window meanwhile.
func TestSnapshotKeepsItsWindowFromTheRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "10s")
		tr, _, c := startControlled(t, cfg)
		ctx := context.Background()
		for i := range 60 {
			require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*10, 10, 1, "")))
			if i == 40 {
				_, err := c.Snapshot(ctx, control.SnapshotRequest{ID: "pinned", Before: control.Duration(10 * time.Second), After: control.Duration(5 * time.Second)})
				require.NoError(t, err)
			}
			time.Sleep(time.Second)
		}
		tr.shutdown(t)
		a := audit(t, st)
		a.checkLedger(t)
		assert.Len(t, a.itemsOf("pinned", sessionstore.SignalTraces), 160, "the requests of seconds 30 to 45")
		assert.Equal(t, sessionstore.StatusCompleted, a.meta["pinned"].Status)
		oldest, _ := oldestObject(t, st, "recorder")
		assert.False(t, oldest.Before(time.Now().Add(-12*time.Second)), "the recorder deleted them once the snapshot was done")
	})
}

// TestSnapshotDuringAnOutage: the store refuses writes for seconds 35 to
// 42 (retries off: those requests are lost); a snapshot of [30 s, 42 s]
// holds what was stored and says what was lost in its window: stored +
// lost = accepted, failed, nothing silently missing.
func TestSnapshotDuringAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "30s")
		cfg.RetryConfig.Enabled = false
		var down atomic.Bool
		tr, _, c := startControlledWrapped(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			return faultstore.New(s, failingPuts(&down))
		})
		ctx := context.Background()
		for i := range 60 {
			down.Store(i >= 35 && i <= 42)
			require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*10, 10, 1, "")))
			if i == 40 {
				_, err := c.Snapshot(ctx, control.SnapshotRequest{ID: "outage", Before: control.Duration(10 * time.Second), After: control.Duration(2 * time.Second)})
				require.NoError(t, err)
			}
			time.Sleep(time.Second)
		}
		tr.shutdown(t)
		a := audit(t, st)
		a.checkLedger(t)
		m := a.meta["outage"]
		assert.Len(t, a.itemsOf("outage", sessionstore.SignalTraces), 50, "seconds 30 to 34")
		assert.Equal(t, int64(80), lostOf(m, sessionstore.SignalTraces), "seconds 35 to 42, lost")
		assert.Equal(t, sessionstore.StatusFailed, m.Status)
	})
}

// TestSnapshotOfASharedRecorder: two recorders (distinct writer ids) write
// one rolling session, each its own requests; a snapshot asked of one holds
// both writers' requests of the window, each once, and completes once both
// shares are saved (the other reads the request in the store within a
// metadata interval).
func TestSnapshotOfASharedRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "30s")
		cfg.MetadataInterval = time.Second
		a, _, ca := startControlled(t, cfg)
		b := startReplicaB(t, cfg, nil)
		feedReplicasAndSnapshot(t, a, b, ca, "shared", 60)
		ctx := context.Background()
		au := audit(t, st)
		au.checkLedger(t)
		m := au.meta["shared"]
		require.NotNil(t, m)
		assert.Equal(t, sessionstore.StatusCompleted, m.Status)
		got := au.itemsOf("shared", sessionstore.SignalTraces)
		assert.Len(t, got, 260, "13 seconds of both writers' requests")
		views, err := sessionstore.ReadWriters(ctx, st, "shared")
		require.NoError(t, err)
		assert.Len(t, views, 2, "a share per writer")
		exists, err := sessionstore.Exists(ctx, st, sessionstore.SnapshotRequestKey("recorder", "shared"))
		require.NoError(t, err)
		assert.False(t, exists, "the request goes once done")
	})
}

// TestSnapshotWindowEndingMidSecond: requests every 100 ms, a snapshot
// whose window ends 300 ms into a second, and copies that take their time
// (a few ms each, as on a loaded machine or a remote store): the share is
// saved while requests accepted after the window's end, in its last
// second, are still on their way to the store. They are not the window's:
// the snapshot completes, holding the requests of the window (whole
// objects: an object that began in the window may hold requests of up to a
// batch's flush_timeout after its end), and nothing is counted lost.
func TestSnapshotWindowEndingMidSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "30s")
		tr, _, c := startControlledWrapped(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			return faultstore.New(s, func(call faultstore.Call) faultstore.Fault {
				if call.Op == faultstore.Copy {
					return faultstore.Fault{Delay: 5 * time.Millisecond}
				}
				return faultstore.Fault{}
			})
		})
		ctx := context.Background()
		var state control.SnapshotState
		for i := range 500 {
			require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i, 1, 1, "")))
			if i == 403 {
				var err error
				state, err = c.Snapshot(ctx, control.SnapshotRequest{ID: "mid", Before: control.Duration(10 * time.Second),
					After: control.Duration(2 * time.Second)})
				require.NoError(t, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		tr.shutdown(t)
		a := audit(t, st)
		a.checkLedger(t)
		m := a.meta["mid"]
		require.NotNil(t, m)
		assert.Equal(t, sessionstore.StatusCompleted, m.Status, "lost %v", m.LostItems)
		assert.Nil(t, m.LostItems)
		got := a.itemsOf("mid", sessionstore.SignalTraces)
		for _, n := range got {
			at := time.Duration(n) * 100 * time.Millisecond
			assert.True(t, at >= 30300*time.Millisecond && at <= 42500*time.Millisecond, "request %d (at %s) is in the window %s..%s, or in an object begun there", n, at, state.From, state.To)
		}
		assert.NotEmpty(t, got)
	})
}

// TestSnapshotSharesSavedTogether: two writers of one rolling session save
// their shares of a snapshot at the same moment (both wait for the end of
// the window's last second). Writer a reads the shares before b's is
// written, and its store is slow to take metadata.json; b then finds both
// shares and completes the snapshot. Whatever a writes after that must not
// turn the completed snapshot back to active.
func TestSnapshotSharesSavedTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := recorderConfig(t, "30s")
		cfg.MetadataInterval = time.Second
		slow := func(key string, d time.Duration) func(sessionstore.Store) sessionstore.Store {
			return func(s sessionstore.Store) sessionstore.Store {
				return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
					if c.Op == faultstore.Put && strings.HasPrefix(c.Key, key) {
						return faultstore.Fault{Delay: d}
					}
					return faultstore.Fault{}
				})
			}
		}
		a, _, ca := startControlledWrapped(t, cfg, slow(sessionstore.MetadataKey("both"), 500*time.Millisecond))
		b := startReplicaB(t, cfg, slow("sessions/both/writers/", 100*time.Millisecond))
		feedReplicasAndSnapshot(t, a, b, ca, "both", 50)
		ctx := context.Background()
		au := audit(t, st)
		au.checkLedger(t) // metadata.json counts what the objects hold
		m := au.meta["both"]
		require.NotNil(t, m)
		assert.Equal(t, sessionstore.StatusCompleted, m.Status)
		views, err := sessionstore.ReadWriters(ctx, st, "both")
		require.NoError(t, err)
		assert.Len(t, views, 2, "a share per writer")
		assert.Equal(t, views[a.shared.writerID()].CapturedTraces+views[b.shared.writerID()].CapturedTraces, m.CapturedTraces, "the merge of both shares")
	})
}

// startReplicaB starts a second writer of cfg's sessions (replica-b), not
// registered with the control extension: a snapshot is asked of the other.
func startReplicaB(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "replica-b")
	cb := *cfg
	cb.Control = nil
	return startTrio(t, set, &cb, wrap)
}

// feedReplicasAndSnapshot gives both replicas 10 spans a second for
// seconds, asks replica a for snapshot id (10 s before, 2 s after) at
// second 40, and shuts both down.
func feedReplicasAndSnapshot(t *testing.T, a, b *trio, ca control.Capture, id string, seconds int) {
	t.Helper()
	ctx := context.Background()
	for i := range seconds {
		require.NoError(t, a.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*20, 10, 1, "")))
		require.NoError(t, b.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*20+10, 10, 1, "")))
		if i == 40 {
			_, err := ca.Snapshot(ctx, control.SnapshotRequest{ID: id, Before: control.Duration(10 * time.Second), After: control.Duration(2 * time.Second)})
			require.NoError(t, err)
		}
		time.Sleep(time.Second)
	}
	a.shutdown(t)
	b.shutdown(t)
}

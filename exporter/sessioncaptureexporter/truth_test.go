package sessioncaptureexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
)

var allSignals = []sessionstore.Signal{sessionstore.SignalTraces, sessionstore.SignalMetrics, sessionstore.SignalLogs}

// TestRequestsAboveAndBelowTheBatchLimit: one request of any size, with
// the default sending queue (batches of 8192 to 16384 items), is stored
// whole, item by item once, and the session says completed with exactly
// what its objects hold. exporterhelper splits a request above the
// batch's max_size into pieces; each piece must land in its own object.
func TestRequestsAboveAndBelowTheBatchLimit(t *testing.T) {
	for _, signal := range allSignals {
		sizes := []int{1, 8191, 16384, 16385, 40000}
		if signal == sessionstore.SignalLogs {
			sizes = append(sizes, 100000)
		}
		for _, n := range sizes {
			for _, id := range []string{"fixed-session", AutoSessionID} {
				t.Run(fmt.Sprintf("%s/%d/%s", signal, n, id), func(t *testing.T) {
					cfg, st := fsConfig(t)
					cfg.Session.ID = id
					tr := newTrio(t, cfg, nil)
					require.NoError(t, tr.consumeItems(context.Background(), signal, itemBatch(signal, 0, n, 3, "")))
					tr.shutdown(t)

					a := audit(t, st)
					got := a.checkLedger(t)
					assert.Equal(t, n, got[signal], "items stored")
					require.Len(t, a.meta, 1)
					for _, m := range a.meta {
						assert.Equal(t, int64(n), capturedOf(m, signal))
						assert.Equal(t, sessionstore.StatusCompleted, m.Status)
					}
				})
			}
		}
	}
}

// failingPuts fails every data object write with a retryable error while
// it is on.
func failingPuts(on *atomic.Bool) faultstore.Rule {
	return faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
		if on.Load() {
			return faultstore.Fault{Err: errors.New("connection refused")}
		}
		return faultstore.Fault{}
	})
}

// TestGivenUpBatchesAreLost: the store refuses writes while 400 spans are
// accepted (the sender sees success: they are queued), then comes back
// and 300 more are stored. With retries off, or with retries that run out
// (max_elapsed_time) before the store is back, the 400 are lost: the code
// that gives up on them records it, and the session says failed with
// lostItems, never completed.
func TestGivenUpBatchesAreLost(t *testing.T) {
	for _, retries := range []string{"off", "max_elapsed_time_2s"} {
		for _, id := range []string{"fixed-session", AutoSessionID} {
			t.Run(retries+"/"+id, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					cfg, st := fsConfig(t)
					cfg.Session.ID = id
					if retries == "off" {
						cfg.RetryConfig.Enabled = false
					} else {
						cfg.RetryConfig.MaxElapsedTime = 2 * time.Second
					}
					var down atomic.Bool
					down.Store(true)
					tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store { return faultstore.New(s, failingPuts(&down)) })
					ctx := context.Background()
					for i := range 4 {
						require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*100, 100, 1, "")))
					}
					time.Sleep(3 * time.Minute) // longer than any retry or bookkeeping of the batch
					down.Store(false)
					for i := range 3 {
						require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 400+i*100, 100, 1, "")))
					}
					time.Sleep(time.Second)
					tr.shutdown(t)

					a := audit(t, st)
					got := a.checkLedger(t)
					assert.Equal(t, 300, got[sessionstore.SignalTraces], "stored")
					var lost, captured int64
					for id, m := range a.meta {
						lost += lostOf(m, sessionstore.SignalTraces)
						captured += m.CapturedTraces
						if lostOf(m, sessionstore.SignalTraces) > 0 {
							assert.Equal(t, sessionstore.StatusFailed, m.Status, "session %s", id)
						}
					}
					assert.Equal(t, int64(400), lost, "accepted = stored + lost")
					assert.Equal(t, int64(300), captured)
				})
			})
		}
	}
}

// persistentRun is one run of a collector with a persistent sending queue
// in dir (one consumer, no batching: while one request is being stored,
// the next waits in the queue): a restart is another persistentRun on the
// same dir.
func persistentRun(t *testing.T, cfg *Config, dir string, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	host, id := storagehost.FileStorage(t, dir)
	c := *cfg
	q := metadata.NewDefaultSendingQueueConfig()
	q.GetOrInsertDefault().StorageID = &id
	q.Get().NumConsumers = 1
	q.Get().Batch = configoptional.None[exporterhelper.BatchConfig]()
	c.QueueConfig = q
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "persistent")
	set.Logger = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)) // shown when the test fails
	return startTrioOn(t, host, set, &c, wrap)
}

// slowFirstWrite makes the first data object write of a store take a
// second (then it lands): the request after it waits in the queue.
func slowFirstWrite(puts *atomic.Int32) faultstore.Rule {
	return faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
		if puts.Add(1) == 1 {
			return faultstore.Fault{Delay: time.Second}
		}
		return faultstore.Fault{}
	})
}

// leaveQueued sends a batch whose write is slow, then batch into the
// queue behind it, and stops the collector while the first is being
// written: the first is stored, batch stays in the persistent queue.
func leaveQueued(t *testing.T, tr *trio, puts *atomic.Int32, first, batch any) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, first))
	require.Eventually(t, func() bool { return puts.Load() > 0 }, 10*time.Second, time.Millisecond, "the slow write began")
	require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, batch))
	tr.shutdown(t)
}

// dataPuts counts the data object writes a fault store saw.
func dataPuts(fs *faultstore.Store) int {
	n := 0
	for _, c := range fs.Calls(faultstore.Put) {
		if isObjectKey(c.Key) {
			n++
		}
	}
	return n
}

// TestRedeliveryGoesToTheSessionItWasAcceptedInto: a batch accepted into
// a session and still in the persistent queue when the collector stops is
// delivered by the next run, and lands in that session, not in the new
// run's own session (a new generated id, or a fixed id's first session
// when the batch was accepted after a rotation). The session it was
// accepted into says active with queuedItems until then, then completes.
func TestRedeliveryGoesToTheSessionItWasAcceptedInto(t *testing.T) {
	for _, mode := range []string{"auto", "fixed_after_rotation"} {
		t.Run(mode, func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.ShutdownTimeout = 4 * time.Second
			cfg.MetadataInterval = 50 * time.Millisecond
			if mode == "fixed_after_rotation" {
				cfg.Session.ID = "rot"
				cfg.Session.MaxDuration = 500 * time.Millisecond
			}
			dir := t.TempDir()
			ctx := context.Background()
			var puts atomic.Int32
			if mode == "fixed_after_rotation" {
				tr := persistentRun(t, cfg, dir, nil)
				require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 100, 2, 1, "")))
				require.Eventually(t, func() bool {
					m, err := sessionstore.ReadMetadata(ctx, st, "rot")
					return err == nil && m.Status == sessionstore.StatusCompleted
				}, 10*time.Second, 10*time.Millisecond, "the first session rotates")
				tr.shutdown(t)
				tr = persistentRun(t, cfg, dir, nil) // "rot" again, then rot-2
				require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 200, 1, 1, "")))
				require.Eventually(t, func() bool {
					m, err := sessionstore.ReadMetadata(ctx, st, "rot")
					return err == nil && m.Status == sessionstore.StatusCompleted && m.CapturedTraces == 3
				}, 10*time.Second, 10*time.Millisecond, "the first session rotates again")
				tr.shutdown(t)
			}
			tr := persistentRun(t, cfg, dir, func(s sessionstore.Store) sessionstore.Store { return faultstore.New(s, slowFirstWrite(&puts)) })
			if mode == "fixed_after_rotation" {
				// the first session continues "rot" and rotates: what follows goes to the next
				require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 300, 1, 1, "")))
				require.Eventually(t, func() bool { return puts.Load() > 0 }, 10*time.Second, time.Millisecond)
				time.Sleep(1500 * time.Millisecond) // past max_duration: the rotation is due
				require.Eventually(t, func() bool {
					m, err := sessionstore.ReadMetadata(ctx, st, "rot")
					return err == nil && m.Status == sessionstore.StatusCompleted && m.CapturedTraces == 4
				}, 10*time.Second, 10*time.Millisecond)
				puts.Store(0)
			}
			leaveQueued(t, tr, &puts, itemBatch(sessionstore.SignalTraces, 10, 1, 1, ""), itemBatch(sessionstore.SignalTraces, 0, 4, 1, ""))
			first := audit(t, st)
			var acceptedInto string
			for id, m := range first.meta {
				if m.QueuedItems.Total() > 0 {
					require.Empty(t, acceptedInto, "one session waits")
					acceptedInto = id
					assert.Equal(t, sessionstore.StatusActive, m.Status)
					assert.Equal(t, int64(4), m.QueuedItems.Traces)
				}
			}
			require.NotEmpty(t, acceptedInto, "the session the batch was accepted into says it waits for it:%s", summarize(st))
			if mode == "fixed_after_rotation" {
				require.NotEqual(t, "rot", acceptedInto)
			}

			tr = persistentRun(t, cfg, dir, nil)
			require.Eventually(t, func() bool { return !anyQueued(st) }, 10*time.Second, 10*time.Millisecond, "the queue delivers the batch")
			tr.shutdown(t)

			a := audit(t, st)
			a.checkLedger(t)
			assert.Equal(t, map[string]int{acceptedInto: 4}, a.sessionsOf(sessionstore.SignalTraces, 0, 4), "every span once, in the session it was accepted into")
			m := a.meta[acceptedInto]
			require.NotNil(t, m)
			assert.Equal(t, sessionstore.StatusCompleted, m.Status)
			assert.Nil(t, m.LostItems)
		})
	}
}

// stopAsKilled stops the trio whose final metadata cannot be written (its
// store refuses it): what is left in the store is what a killed collector
// leaves. The error that says so is expected.
func (tr *trio) stopAsKilled() {
	ctx := context.Background()
	_ = tr.traces.Shutdown(ctx)
	_ = tr.metrics.Shutdown(ctx)
	_ = tr.logs.Shutdown(ctx)
}

// TestRedeliveryKeepsPermanentLosses: a session lost 3 spans for good (a
// permanent write error), and a batch of 4 spans was still in the
// persistent queue when the collector died (its final metadata never
// written). The next run stores the 4; the 3 stay lost and the session
// stays failed.
func TestRedeliveryKeepsPermanentLosses(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "nightly"
	cfg.ShutdownTimeout = 4 * time.Second
	cfg.MetadataInterval = 20 * time.Millisecond
	dir := t.TempDir()
	ctx := context.Background()
	var metadataDown atomic.Bool
	var puts atomic.Int32
	tr := persistentRun(t, cfg, dir, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
			switch {
			case c.Op == faultstore.Put && c.IsMetadata() && metadataDown.Load():
				return faultstore.Fault{Err: errors.New("connection refused")}
			case c.Op != faultstore.Put || !isObjectKey(c.Key):
				return faultstore.Fault{}
			}
			switch puts.Add(1) {
			case 1:
				return faultstore.Fault{Err: sessionstore.Permanent(errors.New("AccessDenied"))}
			case 2:
				return faultstore.Fault{Delay: time.Second}
			}
			return faultstore.Fault{}
		})
	})
	require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 0, 3, 1, "")))
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(ctx, st, "nightly")
		return err == nil && lostOf(m, sessionstore.SignalTraces) == 3
	}, 10*time.Second, 10*time.Millisecond, "the loss is recorded")
	require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 20, 1, 1, "")))
	require.Eventually(t, func() bool { return puts.Load() > 1 }, 10*time.Second, time.Millisecond, "the slow write began")
	require.NoError(t, tr.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 10, 4, 1, "")))
	metadataDown.Store(true) // as if killed: no final metadata
	tr.stopAsKilled()

	tr = persistentRun(t, cfg, dir, nil)
	require.Eventually(t, func() bool {
		s, err := sessionstore.ReadMetadata(ctx, st, "nightly")
		return err == nil && s.CapturedTraces == 5
	}, 10*time.Second, 10*time.Millisecond, "the queue delivers the batch")
	tr.shutdown(t)

	a := audit(t, st)
	a.checkLedger(t)
	m := a.meta["nightly"]
	require.NotNil(t, m)
	assert.Equal(t, int64(3), lostOf(m, sessionstore.SignalTraces), "the permanent loss stays")
	assert.Equal(t, sessionstore.StatusFailed, m.Status)
	assert.Equal(t, map[string]int{"nightly": 4}, a.sessionsOf(sessionstore.SignalTraces, 10, 4))
}

// TestCrashedCoWriterIsRecounted: writers w1 and w2 share session
// "shared". w1 dies after objects of 7 spans landed that its view never
// counted; it restarts (w2 still writing), stores more, and both stop.
// The session's metadata counts every object: the objects stored after
// the crashed writer's last view are not forgotten.
func TestCrashedCoWriterIsRecounted(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "shared"
	cfg.MetadataInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 200 * time.Millisecond
	ctx := context.Background()
	w2cfg := *cfg
	w2cfg.Session.WriterID = "w2"
	w2 := newWriter(t, &w2cfg, "w2")
	require.NoError(t, w2.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 0, 5, 1, "")))

	w1cfg := *cfg
	w1cfg.Session.WriterID = "w1"
	var metadataDown atomic.Bool
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "w1")
	w1 := startTrio(t, set, &w1cfg, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
			if c.Op == faultstore.Put && c.IsMetadata() && metadataDown.Load() {
				return faultstore.Fault{Err: errors.New("connection refused")}
			}
			return faultstore.Fault{}
		})
	})
	require.NoError(t, w1.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 100, 10, 1, "")))
	require.Eventually(t, func() bool {
		v, err := sessionstore.ReadWriter(ctx, st, "shared", "w1")
		return err == nil && v.CapturedTraces == 10
	}, 10*time.Second, 10*time.Millisecond)
	metadataDown.Store(true) // from here on w1's view is never written: as if it died
	require.NoError(t, w1.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 200, 7, 1, "")))
	require.Eventually(t, func() bool { return audit(t, st).objectItems["shared"][sessionstore.SignalTraces] == 22 }, 10*time.Second, 10*time.Millisecond)
	w1.stopAsKilled()

	w1 = newWriter(t, &w1cfg, "w1") // restarted, healthy
	require.NoError(t, w1.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 300, 3, 1, "")))
	w1.shutdown(t)
	w2.shutdown(t)

	a := audit(t, st)
	a.checkLedger(t)
	m := a.meta["shared"]
	require.NotNil(t, m)
	assert.Equal(t, int64(25), m.CapturedTraces, "5 + 10 + 7 + 3")
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

// TestTwoLiveWritersWithOneID: two collectors run with the same writer
// id (two on one host without session.writer_id). Each notices the other,
// says so loudly, and neither's items are lost from the counts; the
// session completes only when both have stopped.
func TestTwoLiveWritersWithOneID(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "shared"
	cfg.Session.WriterID = "same"
	cfg.MetadataInterval = 10 * time.Millisecond
	ctx := context.Background()
	core, logs := observer.New(zapcore.ErrorLevel)
	start := func(name string) *trio {
		set := exportertest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
		set.Logger = zap.New(core)
		return startTrio(t, set, cfg, nil)
	}
	a, b := start("a"), start("b")
	view := func() []byte {
		rc, err := st.Get(ctx, sessionstore.MetadataKey("shared"))
		if err != nil {
			return nil
		}
		defer rc.Close()
		data, err := sessionstore.ReadAll(rc, 1<<20)
		require.NoError(t, err)
		return data
	}
	// Turn by turn, each waiting until its view and the merge are written:
	// each writes over the other's view in between (until it notices).
	for i := range 3 {
		for j, w := range []*trio{a, b} {
			before := view()
			require.NoError(t, w.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, i*100+j*10, 3+j, 1, "")))
			require.Eventually(t, func() bool { return !bytes.Equal(before, view()) }, 10*time.Second, 5*time.Millisecond)
		}
	}
	a.shutdown(t)
	m, err := sessionstore.ReadMetadata(ctx, st, "shared")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusActive, m.Status, "b still writes")
	b.shutdown(t)

	assert.NotZero(t, logs.FilterMessageSnippet("writer").Len(), "the shared writer id is reported")
	au := audit(t, st)
	au.checkLedger(t)
	assert.Equal(t, int64(21), au.meta["shared"].CapturedTraces, "3 x (3 + 4)")
	assert.Equal(t, sessionstore.StatusCompleted, au.meta["shared"].Status)
}

// TestGivingUpAsksTheStore: a write that stored its object but whose
// answer was lost (a timeout after the fact), with retries off. Before
// the batch is given up as lost, the store is asked: the object is there,
// so the batch is stored, counted once, and the session completes.
func TestGivingUpAsksTheStore(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "landed"
	cfg.RetryConfig.Enabled = false
	tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
			return faultstore.Fault{Err: errors.New("i/o timeout"), Land: true}
		}))
	})
	require.NoError(t, tr.consumeItems(context.Background(), sessionstore.SignalLogs, itemBatch(sessionstore.SignalLogs, 0, 7, 2, "")))
	tr.shutdown(t)
	a := audit(t, st)
	a.checkLedger(t)
	m := a.meta["landed"]
	require.NotNil(t, m)
	assert.Equal(t, int64(7), m.CapturedLogs)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

// TestRefusalAfterALandedWrite: a write stores its object but answers an
// error (a timeout after the fact); the retry is refused for good
// (AccessDenied). The object is there: the batch is stored, not lost.
// (Found by FuzzAccounting: the session counted the items both stored
// and lost.)
func TestRefusalAfterALandedWrite(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "landed"
	tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, faultstore.Data(faultstore.Put, func(c faultstore.Call) faultstore.Fault {
			if c.Attempt == 0 {
				return faultstore.Fault{Err: errors.New("i/o timeout"), Land: true}
			}
			return faultstore.Fault{Err: sessionstore.Permanent(errors.New("AccessDenied"))}
		}))
	})
	require.NoError(t, tr.consumeItems(context.Background(), sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 0, 9, 1, "")))
	tr.shutdown(t)
	a := audit(t, st)
	a.checkLedger(t)
	m := a.meta["landed"]
	require.NotNil(t, m)
	assert.Equal(t, int64(9), m.CapturedTraces)
	assert.Zero(t, lostOf(m, sessionstore.SignalTraces), "stored, not lost")
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

// TestLostPieceThatComesBack: an earlier run of this writer counted a
// piece of a request lost (its view says so, in lostPieces) and then died
// before its persistent queue let the request go; the queue delivers the
// piece again. It is stored and no longer counted lost. (Found by
// FuzzAccounting: the session counted it both stored and lost.)
func TestLostPieceThatComesBack(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "pieces"
	ctx := context.Background()
	earlier := stamp{accepted: time.Now().UTC().Truncate(time.Millisecond), instance: 42, request: 7, index: 1, count: 2, session: "pieces"}
	key := pieceRef{name: earlier.name()}.key(sessionstore.SignalTraces)
	view := sessionstore.NewMetadata("pieces", sessionstore.SessionTypeCapture, earlier.accepted, "earlier run")
	view.LostItems = &sessionstore.ItemCounts{Traces: 500}
	view.LostPieces = []sessionstore.LostPiece{{Name: key, Signal: sessionstore.SignalTraces, Items: 500}}
	view.Instance = "2a"
	tr := newTrio(t, cfg, nil)
	require.NoError(t, sessionstore.WriteWriter(ctx, st, tr.shared.writerID(), view))
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, view))

	td := itemBatch(sessionstore.SignalTraces, 0, 500, 1, "").(ptrace.Traces)
	req := newCaptureRequest(&tracesSignal, []*piece[ptrace.Traces]{{stamp: earlier, data: td, items: 500}})
	require.NoError(t, pushRequest(tr.shared, &tracesSignal)(ctx, req))
	tr.shutdown(t)

	a := audit(t, st)
	a.checkLedger(t)
	m := a.meta["pieces"]
	assert.Equal(t, int64(500), m.CapturedTraces)
	assert.Zero(t, lostOf(m, sessionstore.SignalTraces), "the piece that came back is stored, no longer lost")
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

// TestQueuedItemsOfAnUnopenedSession: with a persistent queue and
// from_attribute, a batch for session seed-y waits in the queue (behind a
// slow write for seed-x) when the collector stops, before anything of
// seed-y was stored. seed-y's metadata still says so (active, queuedItems
// 4), and the next run stores the batch there and completes it. (Found by
// FuzzAccounting: the items waited in no session's metadata, so nothing
// said they were still to come.)
func TestQueuedItemsOfAnUnopenedSession(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.FromAttribute = "test.session.id"
	cfg.ShutdownTimeout = 4 * time.Second
	cfg.MetadataInterval = 20 * time.Millisecond
	dir := t.TempDir()
	ctx := context.Background()
	var puts atomic.Int32
	tr := persistentRun(t, cfg, dir, func(s sessionstore.Store) sessionstore.Store { return faultstore.New(s, slowFirstWrite(&puts)) })
	leaveQueued(t, tr, &puts, itemBatch(sessionstore.SignalTraces, 10, 1, 1, "seed-x"), itemBatch(sessionstore.SignalTraces, 0, 4, 1, "seed-y"))
	m, err := sessionstore.ReadMetadata(ctx, st, "seed-y")
	require.NoError(t, err, "seed-y says what waits for it:%s", summarize(st))
	assert.Equal(t, sessionstore.StatusActive, m.Status)
	assert.Equal(t, int64(4), m.QueuedItems.Of(sessionstore.SignalTraces))

	tr = persistentRun(t, cfg, dir, nil)
	require.Eventually(t, func() bool { return !anyQueued(st) }, 10*time.Second, 10*time.Millisecond, "the queue delivers the batch")
	tr.shutdown(t)
	a := audit(t, st)
	a.checkLedger(t)
	assert.Equal(t, map[string]int{"seed-y": 4}, a.sessionsOf(sessionstore.SignalTraces, 0, 4))
	assert.Equal(t, sessionstore.StatusCompleted, a.meta["seed-y"].Status)
}

// TestSharedWriterIDCountsEachItemOnce: b starts with the writer id that a
// (alive) writes under, while a's view still says nothing of what a has
// stored: b takes that view over as a crashed run's, with the recount of
// a's objects. Whichever of the two stops first, and whichever notices
// the other, every item is counted once when the session completes.
func TestSharedWriterIDCountsEachItemOnce(t *testing.T) {
	for _, bStopsFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("b stops first %v", bStopsFirst), func(t *testing.T) {
			cfgA, st := fsConfig(t)
			cfgA.Session.ID, cfgA.Session.WriterID = "shared", "same"
			cfgA.MetadataInterval = time.Hour // a's view keeps saying what it said at open
			cfgB := *cfgA
			cfgB.MetadataInterval = 10 * time.Millisecond
			ctx := context.Background()
			start := func(name string, cfg *Config) *trio {
				set := exportertest.NewNopSettings(metadata.Type)
				set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
				return startTrio(t, set, cfg, nil)
			}
			stored := func(n int64) func() bool {
				return func() bool {
					rc, err := sessionstore.RecountSession(ctx, st, "shared", sessionstore.DefaultRecountObjectBytes)
					return err == nil && rc != nil && rc.Counts.Items() >= n
				}
			}
			a := start("a", cfgA)
			require.NoError(t, a.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 0, 3, 1, "")))
			require.Eventually(t, stored(3), 10*time.Second, 5*time.Millisecond)
			b := start("b", &cfgB)
			require.NoError(t, b.consumeItems(ctx, sessionstore.SignalTraces, itemBatch(sessionstore.SignalTraces, 100, 4, 1, "")))
			require.Eventually(t, stored(7), 10*time.Second, 5*time.Millisecond)
			if bStopsFirst {
				b.shutdown(t)
				a.shutdown(t)
			} else {
				a.shutdown(t)
				b.shutdown(t)
			}
			au := audit(t, st)
			au.checkLedger(t)
			assert.Equal(t, int64(7), au.meta["shared"].CapturedTraces, "3 + 4")
			assert.Equal(t, sessionstore.StatusCompleted, au.meta["shared"].Status)
		})
	}
}

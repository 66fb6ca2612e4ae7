package sessioncaptureexporter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
)

func isObjectKey(key string) bool { return strings.HasSuffix(key, ".otlp.gz") }

// TestRedeliveryAfterCrashIsStoredOnce: with a persistent queue, a batch
// whose object landed but whose answer was lost is still in the queue when
// the collector stops (the session says so: active, with queuedItems), and
// the restarted collector delivers it again. The session holds it once,
// counts it once, and completes.
func TestRedeliveryAfterCrashIsStoredOnce(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "nightly"
	cfg.ShutdownTimeout = 200 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 0
	storageDir := t.TempDir()
	q := metadata.NewDefaultSendingQueueConfig()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "persistent")

	// First run: every object write lands, but its answer is lost, and
	// the store cannot be asked whether it landed.
	host, id := storagehost.FileStorage(t, storageDir)
	q.GetOrInsertDefault().StorageID = &id
	cfg.QueueConfig = q
	var fs1 *faultstore.Store
	tr := startTrioOn(t, host, set, cfg, func(s sessionstore.Store) sessionstore.Store {
		fs1 = faultstore.New(s,
			faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
				return faultstore.Fault{Err: errors.New("i/o timeout"), Land: true}
			}),
			func(c faultstore.Call) faultstore.Fault {
				if c.Op == faultstore.List && isObjectKey(c.Key) {
					return faultstore.Fault{Err: errors.New("connection refused")}
				}
				return faultstore.Fault{}
			})
		return fs1
	})
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(4)))
	require.Eventually(t, func() bool { return len(fs1.Calls(faultstore.Put)) > 0 }, 10*time.Second, 5*time.Millisecond)
	tr.shutdown(t)
	m, err := sessionstore.ReadMetadata(context.Background(), st, "nightly")
	require.NoError(t, err)
	require.Equal(t, sessionstore.StatusActive, m.Status, "the first run could not confirm its batch, which waits in the queue")
	require.NotNil(t, m.QueuedItems)
	require.Equal(t, int64(4), m.QueuedItems.Traces, "queued, not lost: the next run stores it")
	require.Nil(t, m.LostItems)

	// Second run, same queue: the batch comes back and is recognised.
	host, _ = storagehost.FileStorage(t, storageDir)
	var fs2 *faultstore.Store
	tr = startTrioOn(t, host, set, cfg, func(s sessionstore.Store) sessionstore.Store {
		fs2 = faultstore.New(s)
		return fs2
	})
	require.Eventually(t, func() bool {
		for _, c := range fs2.Calls("") {
			if (c.Op == faultstore.Put || c.Op == faultstore.List) && isObjectKey(c.Key) {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "the queue delivers the batch again")
	tr.shutdown(t)

	s := sessiontest.Read(t, st, "nightly")
	assert.Len(t, s.Objects, 1, "stored once")
	assert.Equal(t, int64(4), s.Meta.CapturedTraces, "counted once")
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, "it holds everything accepted")
	assert.Nil(t, s.Meta.LostItems)
	sessiontest.CheckCounts(t, s)
}

// TestBacklogKeepsArrivalTimes: data accepted during an outage is stored
// when the store is back, keyed by when it arrived (before the queue), not
// by when the queue drained: it replays with the timing it was sent with.
func TestBacklogKeepsArrivalTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "outage"
		cfg.RetryConfig.MaxElapsedTime = 0
		cfg.QueueConfig.GetOrInsertDefault().NumConsumers = 1 // later batches wait in the queue
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s, faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
				return faultstore.Fault{Err: errors.New("connection refused")}
			}))
			return fs
		})
		ctx := context.Background()
		var sent []time.Time
		for range 3 {
			sent = append(sent, time.Now().UTC().Truncate(time.Millisecond))
			require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
			time.Sleep(10 * time.Second)
		}
		time.Sleep(5 * time.Minute) // the outage goes on
		fs.Heal()
		time.Sleep(time.Minute)
		tr.shutdown(t)
		s := sessiontest.Read(t, st, "outage")
		require.Len(t, s.Objects, 3)
		for i, o := range s.Objects {
			assert.Equal(t, sent[i], o.CaptureTime, "object %d keyed by its arrival", i)
		}
		assert.Equal(t, sent[0], s.Meta.StartTime)
		sessiontest.CheckCounts(t, s)
	})
}

// TestQueuedBatchKeepsSessionOpen: a batch for session x waits in the
// sending queue behind a slow write to another session for longer than
// idle_timeout. x is not idle while its data waits: it is not completed
// in the meantime.
func TestQueuedBatchKeepsSessionOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.FromAttribute = "test.session.id"
		cfg.Session.IdleTimeout = time.Second
		qc := cfg.QueueConfig.GetOrInsertDefault()
		qc.NumConsumers = 1
		qc.Batch = configoptional.None[exporterhelper.BatchConfig]()
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
				if c.Op == faultstore.Put && strings.HasPrefix(c.Key, sessionstore.RawPrefix("seed-slow")) {
					return faultstore.Fault{Delay: 20 * time.Second}
				}
				return faultstore.Fault{}
			})
		})
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-x", 2)))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-slow", 1)))
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-x", 3)))
		time.Sleep(10 * time.Second) // ten idle timeouts, the batch still queued
		synctest.Wait()
		m, err := sessionstore.ReadMetadata(ctx, st, "seed-x")
		require.NoError(t, err)
		assert.Equal(t, sessionstore.StatusActive, m.Status, "completed while its data waited in the queue")
		time.Sleep(time.Minute)
		tr.shutdown(t)
		s := sessiontest.Read(t, st, "seed-x")
		assert.Equal(t, int64(5), s.Meta.CapturedTraces)
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
		sessiontest.CheckCounts(t, s)
	})
}

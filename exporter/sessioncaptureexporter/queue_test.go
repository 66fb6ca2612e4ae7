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
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func isObjectKey(key string) bool { return strings.HasSuffix(key, ".otlp.gz") }

// TestRedeliveryAfterCrashIsStoredOnce: a batch whose object landed,
// delivered again by a persistent queue after the collector died before
// the queue let it go (the same pieces, stamped by the earlier run). The
// next run finds the object under the key it had: it neither writes nor
// counts it again, and the session completes, holding it once.
func TestRedeliveryAfterCrashIsStoredOnce(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "nightly"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	ctx := context.Background()
	earlier := stamp{accepted: time.Now().UTC().Truncate(time.Millisecond), instance: 42, request: 7, count: 1, session: "nightly"}
	batch := func() *captureRequest[ptrace.Traces, ptrace.ResourceSpans] {
		td := itemBatch(sessionstore.SignalTraces, 0, 4, 1, "").(ptrace.Traces)
		return newCaptureRequest(&tracesSignal, []*piece[ptrace.Traces]{{stamp: earlier, data: td, items: 4}})
	}

	// The run that stored it (its metadata written, then it died).
	tr := newTrio(t, cfg, nil)
	require.NoError(t, pushRequest(tr.shared, &tracesSignal)(ctx, batch()))
	tr.shutdown(t)

	// The next run, handed the same batch again.
	var fs *faultstore.Store
	tr = newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		fs = faultstore.New(s)
		return fs
	})
	require.NoError(t, pushRequest(tr.shared, &tracesSignal)(ctx, batch()))
	tr.shutdown(t)
	for _, c := range fs.Calls(faultstore.Put) {
		assert.False(t, isObjectKey(c.Key), "written again: %s", c.Key)
	}

	s := sessiontest.Read(t, st, "nightly")
	assert.Len(t, s.Objects, 1, "stored once")
	assert.Equal(t, int64(4), s.Meta.CapturedTraces, "counted once")
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
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

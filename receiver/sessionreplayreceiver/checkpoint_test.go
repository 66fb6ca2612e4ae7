package sessionreplayreceiver

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// spanLog records every span a replay delivers: its (new) id and its start
// time relative to the replay's start_at; it signals once n batches came.
type spanLog struct {
	mu      sync.Mutex
	startAt time.Time
	spans   map[pcommon.SpanID][]time.Duration
	batches int
	n       int
	reached chan struct{}
}

func newSpanLog(startAt time.Time, n int) *spanLog {
	return &spanLog{startAt: startAt, spans: map[pcommon.SpanID][]time.Duration{}, n: n, reached: make(chan struct{})}
}

func (l *spanLog) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (l *spanLog) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				s := spans.At(k)
				l.spans[s.SpanID()] = append(l.spans[s.SpanID()], s.StartTimestamp().AsTime().Sub(l.startAt))
			}
		}
	}
	l.batches++
	if l.batches == l.n {
		close(l.reached)
	}
	return nil
}

// runReplay starts a traces replay of cfg as component id on host, and
// returns it started.
func runReplay(t *testing.T, id component.ID, cfg *Config, host component.Host, next consumer.Traces) (*replayReceiver, func()) {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = id
	r, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	return shared.Unwrap(), func() { require.NoError(t, r.Shutdown(context.Background())) }
}

// TestCheckpointResume: a replay with a checkpoint that stops part-way
// and starts again (the same component on the same storage) goes on after
// the last object it delivered, in the same pass, with the same anchor
// and id mapping: together the two runs deliver what one uninterrupted
// run delivers, nothing skipped, nothing twice but the object in flight.
func TestCheckpointResume(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "resume", c0)
	for i := range 40 {
		at := c0.Add(time.Duration(i) * 50 * time.Millisecond)
		w.Traces(at, sessiontest.Traces("svc", i, 3, at))
	}
	w.Complete()
	config := func(startAt time.Time) *Config {
		cfg := baseConfig(storeCfg, "resume")
		cfg.Speed = 1
		cfg.Timestamps = TimestampsRelative
		cfg.RegenerateIDs = true
		cfg.IDSeed = "resume-test"
		cfg.StartAt = startAt
		return cfg
	}

	// The reference: one run, uninterrupted.
	refStart := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	ref := newSpanLog(refStart, -1)
	r, stop := runReplay(t, component.MustNewIDWithName("session_replay", "reference"), config(refStart), componenttest.NewNopHost(), ref)
	<-r.done
	stop()
	require.Len(t, ref.spans, 120)

	// With a checkpoint: stopped after 15 objects, then started again.
	dir := filepath.Join(t.TempDir(), "storage")
	start := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	got := newSpanLog(start, 15)
	cfg := config(start)
	host, storageID := storagehost.FileStorage(t, dir)
	cfg.Checkpoint.Storage = &storageID
	id := component.MustNewIDWithName("session_replay", "checkpointed")
	r, stop = runReplay(t, id, cfg, host, got)
	select {
	case <-got.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the first run did not deliver 15 objects")
	}
	stop()
	got.mu.Lock()
	first := len(got.spans)
	got.mu.Unlock()
	require.Less(t, first, 120, "stopped part-way")
	time.Sleep(500 * time.Millisecond) // the restart takes a while; the schedule does not wait

	r, stop = runReplay(t, id, cfg, host, got)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the second run did not finish")
	}
	stop()

	got.mu.Lock()
	defer got.mu.Unlock()
	require.Len(t, got.spans, 120, "nothing skipped")
	twice := 0
	for id, at := range got.spans {
		want, ok := ref.spans[id]
		require.True(t, ok, "span %s: the same id mapping", id)
		assert.Equal(t, want[0], at[0], "span %s: the same anchor", id)
		twice += len(at) - 1
	}
	assert.LessOrEqual(t, twice, 3, "at most the object in flight twice (%d spans)", twice)
}

// TestCheckpointStorageMustExist: checkpoint.storage naming an extension
// the collector does not run fails the start, saying what to add.
func TestCheckpointStorageMustExist(t *testing.T) {
	storeCfg, st := fsStore(t)
	w := sessiontest.NewWriter(t, st, "cp", time.Now())
	w.Traces(time.Now(), sessiontest.Traces("svc", 0, 1, time.Now()))
	w.Complete()
	cfg := baseConfig(storeCfg, "cp")
	missing := component.MustNewIDWithName("file_storage", "missing")
	cfg.Checkpoint.Storage = &missing
	host, _ := storagehost.FileStorage(t, filepath.Join(t.TempDir(), "storage"))
	set := receivertest.NewNopSettings(metadata.Type)
	r, err := NewFactory().CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), host)
	require.ErrorContains(t, err, "file_storage/missing: no such extension")
	require.NoError(t, r.Shutdown(context.Background()))
}

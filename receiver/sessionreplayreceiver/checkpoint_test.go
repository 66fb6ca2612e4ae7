package sessionreplayreceiver

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
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

// finishReplay runs a replay to its end (at most 30 s) and stops the
// receiver: the second run of a resume test.
func finishReplay(t *testing.T, id component.ID, cfg *Config, host component.Host, next consumer.Traces) {
	t.Helper()
	r, stop := runReplay(t, id, cfg, host, next)
	defer stop()
	select {
	case <-r.current().done:
	case <-time.After(30 * time.Second):
		t.Fatal("the second run did not finish")
	}
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
	<-r.current().done
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

	finishReplay(t, id, cfg, host, got)

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

// services records the service and batch of every batch it is given; once
// it has taken `holdAfter` batches of service `hold` it takes no more: it
// signals held and waits for its context to end, as a pipeline would that
// is stuck when the collector is killed.
type services struct {
	mu        sync.Mutex
	got       []string // service/batch, in order
	hold      string
	holdAfter int
	held      chan struct{}
}

func (s *services) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *services) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	rs := td.ResourceSpans().At(0)
	svc, _ := rs.Resource().Attributes().Get("service.name")
	batch, _ := rs.ScopeSpans().At(0).Spans().At(0).Attributes().Get("batch")
	s.mu.Lock()
	n := 0
	for _, g := range s.got {
		if strings.HasPrefix(g, s.hold+"/") {
			n++
		}
	}
	if svc.Str() == s.hold && n == s.holdAfter {
		s.mu.Unlock()
		close(s.held)
		<-ctx.Done()
		return ctx.Err()
	}
	s.got = append(s.got, fmt.Sprintf("%s/%d", svc.Str(), batch.Int()))
	s.mu.Unlock()
	return nil
}

func (s *services) batches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// TestCheckpointOfAnotherReplayIsIgnored: a checkpoint belongs to the
// replay that wrote it. A replay the control API started with another
// session (a) leaves its checkpoint when the collector stops; a restart
// whose configuration names session b ignores that checkpoint (saying so
// at Info, and why) and replays b from its beginning, all of it, nothing
// of a.
func TestCheckpointOfAnotherReplayIsIgnored(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b"} {
		w := sessiontest.NewWriter(t, st, id, c0)
		for i := range 10 {
			at := c0.Add(time.Duration(i) * time.Second)
			w.Traces(at, sessiontest.Traces("svc-"+id, i, 2, at))
		}
		w.Complete()
	}
	storageHost, storageID := storagehost.FileStorage(t, filepath.Join(t.TempDir(), "storage"))
	reg := &registry{replays: map[component.ID]control.Replay{}}
	host := controlHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{
		controlID: reg,
		storageID: storageHost.(interface {
			GetExtensions() map[component.ID]component.Component
		}).GetExtensions()[storageID],
	}}
	cfg := baseConfig(storeCfg, "b")
	cfg.Checkpoint.Storage, cfg.Control = &storageID, &controlID
	require.NoError(t, cfg.Validate())
	id := component.MustNewIDWithName("session_replay", "restarted")
	start := func(next consumer.Traces) (component.Component, *replayReceiver, *observer.ObservedLogs) {
		t.Helper()
		core, logs := observer.New(zap.InfoLevel)
		set := receivertest.NewNopSettings(metadata.Type)
		set.ID, set.Logger = id, zap.New(core)
		comp, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
		require.NoError(t, err)
		require.NoError(t, comp.Start(context.Background(), host))
		shared, err := receivers.Get(set, cfg)
		require.NoError(t, err)
		return comp, shared.Unwrap(), logs
	}

	// The first collector: the configured replay of b runs to its end
	// (and removes its checkpoint), then the control API replays a, which
	// is 3 objects in when the collector stops.
	first := &services{hold: "svc-a", holdAfter: 3, held: make(chan struct{})}
	comp, r, _ := start(first)
	waitDone(t, r)
	a := "a"
	_, err := reg.replays[id].StartReplay(context.Background(), control.ReplayRequest{Session: &a})
	require.NoError(t, err)
	select {
	case <-first.held:
	case <-time.After(time.Minute):
		t.Fatal("the replay of a did not deliver 3 objects")
	}
	require.NoError(t, comp.Shutdown(context.Background()))
	require.Equal(t, []string{"svc-a/0", "svc-a/1", "svc-a/2"}, first.batches()[10:], "a stopped 3 objects in")

	// The restart, configured for b: b from its beginning.
	second := &services{held: make(chan struct{})}
	comp, r, logs := start(second)
	waitDone(t, r)
	require.NoError(t, comp.Shutdown(context.Background()))
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("svc-b/%d", i))
	}
	assert.Equal(t, want, second.batches(), "b replayed from its beginning, nothing of a")
	ignored := logs.FilterMessage("Ignoring a replay checkpoint that belongs to another replay; starting afresh").All()
	if assert.Len(t, ignored, 1) {
		assert.Equal(t, zap.InfoLevel, ignored[0].Level)
		fields := ignored[0].ContextMap()
		assert.Equal(t, "a", fields["checkpoint_session"])
		assert.Contains(t, fields["reason"], `session "a"`)
	}
}

// TestCheckpointMismatch: a checkpoint is the place of a replay configured
// the same; any setting that defines the run and differs is named, with
// both values (id_seed by its hash only); where and how fast the replay
// reads does not count; a checkpoint that records no settings belongs to
// no replay.
func TestCheckpointMismatch(t *testing.T) {
	base := func() *Config {
		cfg := baseConfig(sessionstore.NewDefaultConfig(), "b")
		cfg.IDSeed = "secret-seed"
		return cfg
	}
	written := &checkpoint{Replay: replaySettings(base()), Session: "b"}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string // in the reason; none: it belongs
	}{
		{"same", func(*Config) {}, nil},
		{"how it reads", func(c *Config) { c.ReadAhead, c.ProgressInterval, c.MaxObjectBytes = 3, time.Minute, 1<<20 }, nil},
		{"session", func(c *Config) { c.Session = "a" }, []string{`session "b", the configuration asks for "a"`}},
		{"speed and part", func(c *Config) { c.Speed, c.Phases = 4, []string{"failure"} }, []string{`speed "0", the configuration asks for "4"`, `phases "", the configuration asks for "failure"`}},
		{"auto", func(c *Config) { c.Session = AutoSession }, []string{`session "b"`, "selection not recorded"}},
		{"id_seed", func(c *Config) { c.IDSeed = "other" }, []string{"id_seed \"sha256:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.change(cfg)
			got := written.mismatch(cfg)
			if tc.want == nil {
				assert.Empty(t, got)
				return
			}
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
			assert.NotContains(t, got, "secret-seed")
		})
	}
	assert.Contains(t, (&checkpoint{Session: "b"}).mismatch(base()), "does not record the settings of its replay")
}

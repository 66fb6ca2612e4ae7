package sessionreplayreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
)

// registry stands in for the session_control extension.
type registry struct {
	component.StartFunc
	component.ShutdownFunc
	mu      sync.Mutex
	replays map[component.ID]control.Replay
}

func (r *registry) RegisterCapture(component.ID, control.Capture) (func(), error) {
	return nil, errors.New("not in this test")
}

func (r *registry) RegisterReplay(id component.ID, rep control.Replay) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replays[id] = rep
	return func() { r.mu.Lock(); delete(r.replays, id); r.mu.Unlock() }, nil
}

type controlHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h controlHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var controlID = component.MustNewID("session_control")

// manualReplay starts a traces replay with start: manual and returns what
// registered with the control API.
func manualReplay(t *testing.T, cfg *Config, sink consumer.Traces) (*started, control.Replay, *registry) {
	t.Helper()
	reg := &registry{replays: map[component.ID]control.Replay{}}
	cfg.Control, cfg.Start = &controlID, StartManual
	require.NoError(t, cfg.Validate())
	host := controlHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{controlID: reg}}
	rep := startReplayOn(t, cfg, host, nil, sink, nil, nil)
	c, ok := reg.replays[rep.r.set.ID]
	require.True(t, ok, "registered under its component id")
	return rep, c, reg
}

func waitDone(t *testing.T, r *replayReceiver) {
	t.Helper()
	done := r.current().done
	select {
	case <-done:
	case <-time.After(time.Hour):
		t.Fatal("replay did not end")
	}
}

// TestManualStart: with start: manual nothing is replayed until the
// control API starts it; the request's overrides apply to that replay
// only, its status counts to 100 % and says finished, and a finished
// replay can be started again (from zero).
func TestManualStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "first", c0)
		for i := range 10 {
			at := c0.Add(time.Duration(i) * time.Second)
			w.Traces(at, sessiontest.Traces("svc", i, 10, at))
		}
		w.Complete()
		sessiontest.SeedPhases(t, st, "seeded", c0.Add(time.Hour))

		cfg := baseConfig(storeCfg, AutoSession)
		cfg.Speed = 1
		cfg.StartDelay = time.Second // each replay waits (virtual) 1 s: its status is known at the answer
		sink := new(consumertest.TracesSink)
		rep, c, _ := manualReplay(t, cfg, sink)
		time.Sleep(time.Minute)
		assert.Zero(t, sink.SpanCount(), "manual: nothing before the API starts it")
		assert.Equal(t, control.Idle, c.Status().State)

		session, speed, loops := "first", 2.0, 2
		st1, err := c.StartReplay(context.Background(), control.ReplayRequest{Session: &session, Speed: &speed, Loops: &loops})
		require.NoError(t, err)
		assert.Zero(t, st1.ETA, "nothing delivered yet: no estimate")
		assert.Equal(t, "first", st1.Session)
		assert.Equal(t, 2.0, st1.Speed)
		assert.Equal(t, control.Waiting, st1.State)
		time.Sleep(3 * time.Second) // the start delay, then 4 s of the session at 2x
		synctest.Wait()
		mid := c.Status()
		assert.Equal(t, control.Running, mid.State)
		assert.EqualValues(t, 5, mid.ObjectsDone, "objects at 0..4 s are due within 2 s at 2x")
		assert.EqualValues(t, 10, mid.ObjectsTotal)
		assert.EqualValues(t, 100, mid.ItemsTotal)
		assert.InDelta(t, 50, mid.Percent, 0.01)
		assert.Equal(t, control.Duration(2500*time.Millisecond), mid.ETA, "the last object (9 s) is due 2.5 s later at 2x")

		waitDone(t, rep.r)
		done := c.Status()
		assert.Equal(t, control.Finished, done.State)
		assert.Equal(t, 1, done.Pass, "the second pass")
		assert.EqualValues(t, 100, done.Percent)
		assert.Zero(t, done.ETA)
		assert.False(t, done.EndedAt.IsZero())
		assert.Equal(t, 200, sink.SpanCount(), "two loops")

		// again, with other overrides (the configured ones otherwise)
		seeded, phase := "seeded", []string{"failure"}
		st2, err := c.StartReplay(context.Background(), control.ReplayRequest{Session: &seeded, Phases: phase})
		require.NoError(t, err)
		assert.Zero(t, st2.ETA, "no estimate from the previous replay's progress")
		assert.Zero(t, st2.ObjectsDone)
		waitDone(t, rep.r)
		again := c.Status()
		assert.Equal(t, control.Finished, again.State)
		assert.Equal(t, "seeded", again.Session)
		assert.Equal(t, 1.0, again.Speed, "the configured speed: overrides apply to one replay")
		assert.Equal(t, 0, again.Pass, "counts start afresh")
		assert.Equal(t, 206, sink.SpanCount(), "the failure phase's 6 spans")
		assert.EqualValues(t, 6, again.ItemsTotal, "the items of the phases replayed")
		assert.EqualValues(t, 100, again.Percent)
	})
}

// TestStopAndConflicts: a running replay cannot be started again; it
// stops on request (early, what was delivered stays delivered); stopping a
// replay that does not run is a conflict, as is starting one that runs.
func TestStopAndConflicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "long", c0)
		for i := range 60 {
			at := c0.Add(time.Duration(i) * time.Second)
			w.Traces(at, sessiontest.Traces("svc", i, 1, at))
		}
		w.Complete()
		cfg := baseConfig(storeCfg, "long")
		cfg.Speed = 1
		sink := new(consumertest.TracesSink)
		_, c, _ := manualReplay(t, cfg, sink)
		ctx := context.Background()

		_, err := c.StopReplay(ctx)
		require.ErrorIs(t, err, control.ErrConflict, "nothing runs")
		_, err = c.StartReplay(ctx, control.ReplayRequest{})
		require.NoError(t, err)
		_, err = c.StartReplay(ctx, control.ReplayRequest{})
		require.ErrorIs(t, err, control.ErrConflict, "it runs")
		time.Sleep(10*time.Second + time.Millisecond)
		stopped, err := c.StopReplay(ctx)
		require.NoError(t, err)
		assert.Equal(t, control.Stopped, stopped.State)
		assert.EqualValues(t, 11, stopped.ObjectsDone)
		assert.Equal(t, 11, sink.SpanCount())
		_, err = c.StopReplay(ctx)
		require.ErrorIs(t, err, control.ErrConflict)
	})
}

// TestStartOverridesChecked: every bad override is a field error naming
// its field, a session that does not exist is not-found, and nothing
// starts.
func TestStartOverridesChecked(t *testing.T) {
	storeCfg, st := fsStore(t)
	sessiontest.SeedPhases(t, st, "seeded", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	cfg := baseConfig(storeCfg, "seeded")
	_, c, _ := manualReplay(t, cfg, new(consumertest.TracesSink))
	str := func(s string) *string { return &s }
	num := func(f float64) *float64 { return &f }
	loops, zero := -1, 0
	dur := control.Duration(-time.Second)
	for _, tc := range []struct {
		req   control.ReplayRequest
		field string
	}{
		{control.ReplayRequest{Session: str("../etc")}, "session"},
		{control.ReplayRequest{Selection: str("biggest")}, "selection"},
		{control.ReplayRequest{Speed: num(-1)}, "speed"},
		{control.ReplayRequest{Timestamps: str("later")}, "timestamps"},
		{control.ReplayRequest{Loops: &loops}, "loops"},
		{control.ReplayRequest{MaxDuration: &dur}, "max_duration"},
		{control.ReplayRequest{Phases: []string{"outage"}}, "phases"},
		{control.ReplayRequest{TimeRange: &control.TimeRange{Start: "soon"}}, "time_range.start"},
		{control.ReplayRequest{TimeRange: &control.TimeRange{Start: "20s", End: "10s"}}, "time_range"},
		{control.ReplayRequest{Copies: &zero}, "copies"},
		{control.ReplayRequest{Sessions: []string{"seeded", "../x"}}, "sessions[1]"},
		{control.ReplayRequest{Sessions: []string{"seeded", "seeded"}}, "sessions[1]"},
	} {
		_, err := c.StartReplay(context.Background(), tc.req)
		var fe *control.FieldError
		require.ErrorAs(t, err, &fe, "%+v", tc.req)
		assert.Equal(t, tc.field, fe.Field, "%v", err)
	}
	// the overrides are checked together, as the configuration is: every
	// bad one is named, each once
	_, err := c.StartReplay(context.Background(), control.ReplayRequest{Speed: num(-1), Loops: &loops, Selection: str("biggest")})
	require.Error(t, err)
	for _, field := range []string{"speed: -1", "loops: -1", `selection: unknown value "biggest"`} {
		assert.Equal(t, 1, strings.Count(err.Error(), field), "%q in %v", field, err)
	}
	_, err = c.StartReplay(context.Background(), control.ReplayRequest{Session: str("nope")})
	require.ErrorIs(t, err, control.ErrNotFound)
	assert.Contains(t, err.Error(), "seeded", "names what exists")
	assert.Equal(t, control.Idle, c.Status().State)
}

// TestSignalsSetting: signals replays only the listed signals of those
// the pipelines wire.
func TestSignalsSetting(t *testing.T) {
	storeCfg, st := fsStore(t)
	mixedSession(t, st, "mixed", 6)
	cfg := baseConfig(storeCfg, "mixed")
	cfg.Signals = []sessionstore.Signal{sessionstore.SignalLogs}
	s := newSinks()
	rep := startReplay(t, cfg, s.traces, s.metrics, s.logs)
	rep.wait(t, time.Minute)
	assert.Zero(t, s.traces.SpanCount())
	assert.Zero(t, s.metrics.DataPointCount())
	assert.Positive(t, s.logs.LogRecordCount())
}

func TestControlConfigChecked(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Start = StartManual
	require.ErrorContains(t, cfg.Validate(), "start: manual needs control")
	cfg.Control = &controlID
	require.NoError(t, cfg.Validate())
	storage := component.MustNewID("file_storage")
	cfg.Checkpoint.Storage = &storage
	require.ErrorContains(t, cfg.Validate(), "start: manual cannot resume")
	cfg = createDefaultConfig().(*Config)
	cfg.Signals = []sessionstore.Signal{"events"}
	require.ErrorContains(t, cfg.Validate(), `signals[0]: unknown signal "events"`)
	var m StartMode
	require.ErrorContains(t, m.UnmarshalText([]byte("later")), `unknown value "later": want "auto" or "manual"`)
}

// TestStartRacesAndShutdown: of two start requests at once only one starts
// a replay (the other is a conflict), and after the collector's shutdown no
// request starts one (it could never be stopped).
func TestStartRacesAndShutdown(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "s", c0)
	for i := range 20 {
		at := c0.Add(time.Duration(i) * time.Second)
		w.Traces(at, sessiontest.Traces("svc", i, 1, at))
	}
	w.Complete()
	cfg := baseConfig(storeCfg, "s")
	cfg.Speed = 1 // 19 s: still running when the test checks
	rep, c, _ := manualReplay(t, cfg, new(consumertest.TracesSink))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.StartReplay(context.Background(), control.ReplayRequest{}) })
	}
	wg.Wait()
	started := 0
	for _, err := range errs {
		if err == nil {
			started++
		} else {
			require.ErrorIs(t, err, control.ErrConflict)
		}
	}
	assert.Equal(t, 1, started)

	require.NoError(t, rep.comp.Shutdown(context.Background()))
	assert.Equal(t, control.Stopped, c.Status().State)
	_, err := c.StartReplay(context.Background(), control.ReplayRequest{})
	require.ErrorIs(t, err, control.ErrConflict)
	assert.Contains(t, err.Error(), "shutting down")
	assert.Equal(t, control.Stopped, c.Status().State, "nothing started after the shutdown")
}

// TestAPIStartIgnoresAnOldCheckpoint: a replay that resumed from its
// checkpoint at start and is started again through the API starts afresh:
// the checkpoint's place belongs to the first replay only.
func TestAPIStartIgnoresAnOldCheckpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "again", c0)
		var keys []string
		for i := range 10 {
			at := c0.Add(time.Duration(i) * time.Second)
			keys = append(keys, w.Traces(at, sessiontest.Traces("svc", i, 10, at)))
		}
		w.Complete()
		storageHost, storageID := storagehost.FileStorage(t, filepath.Join(t.TempDir(), "storage"))
		cfg := baseConfig(storeCfg, "again")
		cfg.Control, cfg.Checkpoint.Storage = &controlID, &storageID
		reg := &registry{replays: map[component.ID]control.Replay{}}
		storageExt := storageHost.(interface {
			GetExtensions() map[component.ID]component.Component
		}).GetExtensions()[storageID]
		host := controlHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{controlID: reg, storageID: storageExt}}
		sink := new(consumertest.TracesSink)
		// Start resumes from a checkpoint after the 5th object.
		resumed := checkpoint{Replay: replaySettings(cfg), Session: "again", Seed: make([]byte, 32), Pass: 0,
			LastKey: keys[4], LastTime: c0.Add(4 * time.Second), Anchor: time.Now()}
		rep := startReplayOn(t, cfg, host, func(r *replayReceiver) {
			client, err := storageExt.(storage.Extension).GetClient(context.Background(), component.KindReceiver, r.set.ID, "")
			require.NoError(t, err)
			data, err := json.Marshal(resumed)
			require.NoError(t, err)
			require.NoError(t, client.Set(context.Background(), checkpointKey, data))
			require.NoError(t, client.Close(context.Background()))
		}, sink, nil, nil)
		waitDone(t, rep.r)
		assert.Equal(t, 50, sink.SpanCount(), "the resumed replay: the objects after the checkpoint")

		c := reg.replays[rep.r.set.ID]
		_, err := c.StartReplay(context.Background(), control.ReplayRequest{})
		require.NoError(t, err)
		waitDone(t, rep.r)
		assert.Equal(t, 150, sink.SpanCount(), "started again: all of it")
	})
}

// wire is a pipeline whose export, once sent, is taken by the far end
// whatever the sender does next: like an HTTP exporter whose request has
// left, it may stop waiting for the answer when its context ends, but the
// far end still takes the data when it gets to it (at release). It logs
// what happens, in order.
type wire struct {
	mu      sync.Mutex
	events  []string
	taken   int // spans the far end took
	entered chan struct{}
	release chan struct{}
}

func newWire() *wire {
	return &wire{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (w *wire) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (w *wire) log(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
}

func (w *wire) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	w.log("consume")
	w.entered <- struct{}{}
	arrived := make(chan struct{})
	go func() { // the far end
		<-w.release
		w.mu.Lock()
		w.taken += n
		w.events = append(w.events, fmt.Sprintf("far end took %d spans", n))
		w.mu.Unlock()
		close(arrived)
	}()
	select {
	case <-arrived:
		w.log("consume returned")
		return nil
	case <-ctx.Done():
		w.log("consume returned: " + ctx.Err().Error())
		return ctx.Err()
	}
}

func (w *wire) history() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// TestStopWaitsForTheRequestInFlight: POST …/stop promises that nothing is
// delivered after its answer. A stop that comes while an object is inside
// the pipeline's ConsumeTraces waits for that call's outcome (it is not
// cancelled: its data may already be on its way) and answers after it has
// returned, counting what it delivered; no object is consumed after the
// answer.
func TestStopWaitsForTheRequestInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "inflight", c0)
		for i := range 5 {
			at := c0.Add(time.Duration(i) * time.Second)
			w.Traces(at, sessiontest.Traces("svc", i, 5, at))
		}
		w.Complete()
		cfg := baseConfig(storeCfg, "inflight")
		cfg.Speed = 1
		next := newWire()
		_, c, _ := manualReplay(t, cfg, next)
		ctx := context.Background()
		_, err := c.StartReplay(ctx, control.ReplayRequest{})
		require.NoError(t, err)
		<-next.entered // the first object is inside ConsumeTraces

		type answer struct {
			st  control.ReplayStatus
			err error
		}
		answered := make(chan answer, 1)
		go func() {
			st, err := c.StopReplay(ctx)
			next.log("stop answered")
			answered <- answer{st, err}
		}()
		synctest.Wait()     // the stop has done what it can without the pipeline
		close(next.release) // the far end takes what was sent
		got := <-answered
		time.Sleep(time.Minute) // the session's other objects were due long ago
		synctest.Wait()

		require.NoError(t, got.err)
		assert.Equal(t, control.Stopped, got.st.State)
		assert.Equal(t, []string{"consume", "far end took 5 spans", "consume returned", "stop answered"}, next.history(),
			"the call in flight returns with its data delivered before the stop answers; nothing after")
		assert.EqualValues(t, 1, got.st.ObjectsDone, "the object in flight was delivered")
		assert.EqualValues(t, 5, got.st.ItemsDone)
	})
}

// TestStopBoundedByItsRequest: a stop waits for the delivery in flight no
// longer than its request lasts: then that delivery is cancelled, and the
// stop fails saying its data may still arrive; the replay stops all the
// same.
func TestStopBoundedByItsRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "stuck", c0)
		for i := range 3 {
			at := c0.Add(time.Duration(i) * time.Second)
			w.Traces(at, sessiontest.Traces("svc", i, 5, at))
		}
		w.Complete()
		cfg := baseConfig(storeCfg, "stuck")
		next := newWire() // never released: the far end does not answer
		rep, c, _ := manualReplay(t, cfg, next)
		_, err := c.StartReplay(context.Background(), control.ReplayRequest{})
		require.NoError(t, err)
		<-next.entered

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err = c.StopReplay(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "may still arrive")
		assert.Equal(t, 5*time.Second, time.Since(start), "as long as the request lasted")
		waitDone(t, rep.r)
		assert.Equal(t, control.Stopped, c.Status().State)
		assert.Equal(t, []string{"consume", "consume returned: context canceled"}, next.history())
		close(next.release)
	})
}

// TestShutdownWhileAStopWaits: the collector's shutdown does not wait for
// a stop that waits for a pipeline that does not answer: it cancels the
// delivery in flight, the stop answers with an error saying its data may
// still arrive, and the shutdown completes.
func TestShutdownWhileAStopWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "stuck", c0)
		w.Traces(c0, sessiontest.Traces("svc", 0, 5, c0))
		w.Complete()
		cfg := baseConfig(storeCfg, "stuck")
		next := newWire() // never released: the far end does not answer
		rep, c, _ := manualReplay(t, cfg, next)
		_, err := c.StartReplay(context.Background(), control.ReplayRequest{})
		require.NoError(t, err)
		<-next.entered

		stopErr := make(chan error, 1)
		go func() {
			_, err := c.StopReplay(context.Background()) // a request that never gives up
			stopErr <- err
		}()
		synctest.Wait()
		require.NoError(t, rep.comp.Shutdown(context.Background()))
		err = <-stopErr
		require.Error(t, err)
		assert.ErrorContains(t, err, "shutting down")
		assert.ErrorContains(t, err, "may still arrive")
		assert.Equal(t, []string{"consume", "consume returned: context canceled"}, next.history())
		close(next.release)
	})
}

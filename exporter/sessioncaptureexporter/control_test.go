package sessioncaptureexporter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// registry stands in for the session_control extension: it records what
// registers with it.
type registry struct {
	component.StartFunc
	component.ShutdownFunc
	mu       sync.Mutex
	captures map[component.ID]control.Capture
}

func (r *registry) RegisterCapture(id component.ID, c control.Capture) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.captures[id]; dup {
		return nil, errors.New("duplicate")
	}
	r.captures[id] = c
	return func() { r.mu.Lock(); delete(r.captures, id); r.mu.Unlock() }, nil
}

func (r *registry) RegisterReplay(component.ID, control.Replay) (func(), error) {
	return nil, errors.New("not in this test")
}

func (r *registry) capture(id component.ID) control.Capture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.captures[id]
}

// controlHost is a host with a session_control extension.
type controlHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h controlHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var controlID = component.MustNewID("session_control")

func startControlled(t *testing.T, cfg *Config) (*trio, *registry, control.Capture) {
	t.Helper()
	return startControlledWrapped(t, cfg, nil)
}

func startControlledWrapped(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) (*trio, *registry, control.Capture) {
	t.Helper()
	reg := &registry{captures: map[component.ID]control.Capture{}}
	cfg.Control = &controlID
	host := controlHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{controlID: reg}}
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), t.Name())
	tr := startTrioOn(t, host, set, cfg, wrap)
	c := reg.capture(set.ID)
	require.NotNil(t, c, "registered under its component id")
	return tr, reg, c
}

// TestControlRegistration: with `control:` the exporter registers at Start
// under its component id and unregisters at Shutdown; a missing extension
// fails the start, naming it.
func TestControlRegistration(t *testing.T) {
	cfg, _ := fsConfig(t)
	tr, reg, _ := startControlled(t, cfg)
	tr.shutdown(t)
	assert.Empty(t, reg.captures, "unregistered at shutdown")

	cfg2, _ := fsConfig(t)
	missing := component.MustNewIDWithName("session_control", "nope")
	cfg2.Control = &missing
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), t.Name()+"_missing")
	exp, err := f.CreateTraces(context.Background(), set, cfg2)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"session_control/nope" not found`)
	require.NoError(t, exp.Shutdown(context.Background()))
}

// TestControlNewSession: a new session through the API completes the
// current own session, opens the requested one at once (its metadata.json
// is there before any data) with the requested description, and takes the
// data from then on. An id that exists is a conflict, a bad id a field
// error; without an id one is generated.
func TestControlNewSession(t *testing.T) {
	synctest.Test(t, testControlNewSession)
}

func testControlNewSession(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "before"
	tr, _, c := startControlled(t, cfg)
	ctx := context.Background()

	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(4)))
	time.Sleep(time.Second) // (virtual) the sending queue's batch flushes
	synctest.Wait()
	require.NotNil(t, c.State(ctx).Session)
	require.EqualValues(t, 4, c.State(ctx).Session.CapturedTraces)

	st1, err := c.NewSession(ctx, control.SessionRequest{
		ID: "drill-1", Description: "checkout drill", Labels: map[string]string{"team": "payments"},
		EnabledFlags: []string{"paymentFailure"}, DiagnosticSessionID: "diag-7",
	})
	require.NoError(t, err)
	require.NotNil(t, st1.Session)
	assert.Equal(t, "drill-1", st1.Session.SessionID)
	assert.Equal(t, control.Recording, st1.State)
	m, err := sessionstore.ReadMetadata(ctx, st, "drill-1")
	require.NoError(t, err, "opened at once, before any data")
	assert.Equal(t, "checkout drill", m.Description)
	assert.Equal(t, map[string]string{"team": "payments"}, m.Labels)
	assert.Equal(t, []string{"paymentFailure"}, m.EnabledFlags)
	assert.Equal(t, "diag-7", m.DiagnosticSessionID)
	prev, err := sessionstore.ReadMetadata(ctx, st, "before")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, prev.Status, "the previous session completed")
	assert.EqualValues(t, 4, prev.CapturedTraces)

	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(3)))

	_, err = c.NewSession(ctx, control.SessionRequest{ID: "before"})
	require.ErrorIs(t, err, control.ErrConflict, "an existing session is never continued")
	_, err = c.NewSession(ctx, control.SessionRequest{ID: "drill-1"})
	require.ErrorIs(t, err, control.ErrConflict)
	_, err = c.NewSession(ctx, control.SessionRequest{ID: "../etc"})
	var fe *control.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "id", fe.Field)
	_, err = c.NewSession(ctx, control.SessionRequest{Labels: map[string]string{"": "x"}})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "labels", fe.Field)

	gen, err := c.NewSession(ctx, control.SessionRequest{Description: "generated"})
	require.NoError(t, err)
	assert.Regexp(t, `^capture-\d{8}T\d{6}Z-[0-9a-f]{8}$`, gen.Session.SessionID)
	tr.shutdown(t)

	drill := sessiontest.Read(t, st, "drill-1")
	assert.Equal(t, sessionstore.StatusCompleted, drill.Meta.Status)
	assert.Equal(t, 3, drill.Traces.SpanCount(), "the data sent after the new session")
	sessiontest.CheckCounts(t, drill)
	g := sessiontest.Read(t, st, gen.Session.SessionID)
	assert.Equal(t, "generated", g.Meta.Description)
	assert.Equal(t, sessionstore.StatusCompleted, g.Meta.Status)
}

// TestControlPause: while paused, data is accepted (no error upstream),
// counted per signal and not stored; data sent before the pause and after
// the resume is. Pausing twice, or resuming a recording capture, is a
// conflict.
func TestControlPause(t *testing.T) {
	synctest.Test(t, testControlPause)
}

func testControlPause(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "paused"
	tr, _, c := startControlled(t, cfg)
	ctx := context.Background()

	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(5)))
	state, err := c.Pause(ctx) // (those 5 may still wait in the sending queue: they are stored)
	require.NoError(t, err)
	assert.Equal(t, control.Paused, state.State)
	_, err = c.Pause(ctx)
	require.ErrorIs(t, err, control.ErrConflict)

	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(7)))
	require.NoError(t, tr.metrics.ConsumeMetrics(ctx, testdata.GenerateMetrics(2)))
	require.NoError(t, tr.logs.ConsumeLogs(ctx, testdata.GenerateLogs(3)))
	state = c.State(ctx)
	assert.Equal(t, map[string]int64{"traces": 7, "metrics": 4, "logs": 3}, state.DroppedWhilePaused)

	state, err = c.Resume(ctx)
	require.NoError(t, err)
	assert.Equal(t, control.Recording, state.State)
	_, err = c.Resume(ctx)
	require.ErrorIs(t, err, control.ErrConflict)
	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
	tr.shutdown(t)

	got := sessiontest.Read(t, st, "paused")
	assert.Equal(t, 7, got.Traces.SpanCount(), "5 before the pause and 2 after the resume")
	assert.Zero(t, got.Metrics.DataPointCount())
	assert.Zero(t, got.Logs.LogRecordCount())
	sessiontest.CheckCounts(t, got)
}

// TestControlNewSessionSettlesThePrevious: when a new session is asked for
// while the previous one's last batch is still being written (a slow
// store), the answer comes once that batch is stored and the previous
// session's final metadata says completed with all of it: a client reading
// it right after the answer sees the finished session.
func TestControlNewSessionSettlesThePrevious(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "slow"
		slowWrites := func(s sessionstore.Store) sessionstore.Store {
			return faultstore.New(s, faultstore.Data(faultstore.Put, func(c faultstore.Call) faultstore.Fault {
				return faultstore.Fault{Delay: 3 * time.Second}
			}))
		}
		tr, _, c := startControlledWrapped(t, cfg, slowWrites)
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(6)))
		time.Sleep(time.Second) // the batch is pushed; its object is being written
		_, err := c.NewSession(ctx, control.SessionRequest{ID: "next"})
		require.NoError(t, err)
		m, err := sessionstore.ReadMetadata(ctx, st, "slow")
		require.NoError(t, err)
		assert.Equal(t, sessionstore.StatusCompleted, m.Status, "final at the answer")
		assert.EqualValues(t, 6, m.CapturedTraces)
		tr.shutdown(t)
	})
}

// TestControlNewSessionAfterShutdown: a request that arrives while the
// collector stops opens nothing (a session opened after the final metadata
// would stay active forever).
func TestControlNewSessionAfterShutdown(t *testing.T) {
	cfg, st := fsConfig(t)
	tr, _, c := startControlled(t, cfg)
	tr.shutdown(t)
	_, err := c.NewSession(context.Background(), control.SessionRequest{ID: "late"})
	require.ErrorIs(t, err, control.ErrConflict)
	_, err = sessionstore.ReadMetadata(context.Background(), st, "late")
	require.ErrorIs(t, err, sessionstore.ErrNotFound)
}

// TestControlNewSessionFailsWhole: a new session that cannot be opened
// (the store fails while it is being set up) changes nothing: the current
// session stays open and current, and a retry opens the requested one.
func TestControlNewSessionFailsWhole(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "current"
	flaky := func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
			// the second look at the new session's metadata fails (the
			// first says it does not exist yet)
			if c.Op == faultstore.Get && c.Key == "sessions/next/metadata.json" && c.Attempt == 1 {
				return faultstore.Fault{Err: errors.New("connection reset")}
			}
			return faultstore.Fault{}
		})
	}
	tr, _, c := startControlledWrapped(t, cfg, flaky)
	ctx := context.Background()
	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
	before, err := c.NewSession(ctx, control.SessionRequest{ID: "next"})
	require.Error(t, err)
	assert.NotErrorIs(t, err, control.ErrConflict)
	state := c.State(ctx)
	require.NotNil(t, state.Session)
	assert.Equal(t, "current", state.Session.SessionID, "unchanged (%+v)", before)
	assert.Equal(t, sessionstore.StatusActive, state.Session.Status)

	after, err := c.NewSession(ctx, control.SessionRequest{ID: "next"})
	require.NoError(t, err, "a retry is not refused as 'exists already'")
	assert.Equal(t, "next", after.Session.SessionID)
	tr.shutdown(t)
	m, err := sessionstore.ReadMetadata(ctx, st, "current")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

package sessioncontrolextension

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
)

// fakeCapture is a control.Capture that keeps its state in memory.
type fakeCapture struct {
	store sessionstore.Store

	mu    sync.Mutex
	state control.CaptureState
	reqs  []control.SessionRequest
	snaps []control.SnapshotRequest
	err   error // returned by every action while set
}

var _ control.Capture = (*fakeCapture)(nil)

func newFakeCapture(store sessionstore.Store) *fakeCapture {
	return &fakeCapture{store: store, state: control.CaptureState{
		State:              control.Recording,
		Store:              store.String(),
		DroppedWhilePaused: map[string]int64{},
		RecorderWindow:     control.Duration(30 * time.Minute),
	}}
}

func (f *fakeCapture) State(context.Context) control.CaptureState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeCapture) NewSession(_ context.Context, req control.SessionRequest) (control.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.state, f.err
	}
	id := req.ID
	if id == "" {
		id = sessionstore.NewSessionID("capture", time.Now())
	} else if err := sessionstore.ValidateSessionID(id); err != nil {
		return f.state, &control.FieldError{Field: "id", Err: err}
	}
	f.reqs = append(f.reqs, req)
	m := sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, time.Now(), "fake")
	m.Description, m.Labels, m.DiagnosticSessionID = req.Description, req.Labels, req.DiagnosticSessionID
	if req.EnabledFlags != nil {
		m.EnabledFlags = req.EnabledFlags
	}
	f.state.Session = m
	return f.state, nil
}

func (f *fakeCapture) Snapshot(_ context.Context, req control.SnapshotRequest) (control.SnapshotState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return control.SnapshotState{}, f.err
	}
	if req.ID != "" {
		if _, err := sessionstore.ReadMetadata(context.Background(), f.store, req.ID); err == nil {
			return control.SnapshotState{}, control.Conflict("session %s exists already", req.ID)
		}
		m := sessionstore.NewMetadata(req.ID, sessionstore.SessionTypeCapture, time.Now(), "fake")
		m.Labels, m.Description = req.Labels, req.Description
		if err := sessionstore.WriteMetadata(context.Background(), f.store, m); err != nil {
			return control.SnapshotState{}, err
		}
	}
	f.snaps = append(f.snaps, req)
	now := time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC)
	return control.SnapshotState{Session: req.ID, Recorder: "recorder",
		From: now.Add(-time.Duration(req.Before)), To: now.Add(time.Duration(req.After))}, nil
}

func (f *fakeCapture) snapshots() []control.SnapshotRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.snaps)
}

func (f *fakeCapture) Pause(context.Context) (control.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.state, f.err
	}
	if f.state.State == control.Paused {
		return f.state, control.Conflict("already paused")
	}
	f.state.State = control.Paused
	return f.state, nil
}

func (f *fakeCapture) Resume(context.Context) (control.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.state, f.err
	}
	if f.state.State == control.Recording {
		return f.state, control.Conflict("not paused")
	}
	f.state.State = control.Recording
	return f.state, nil
}

func (f *fakeCapture) Store() sessionstore.Store { return f.store }

func (f *fakeCapture) requests() []control.SessionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.SessionRequest(nil), f.reqs...)
}

// fakeReplay is a control.Replay that keeps its state in memory. A stop
// says so on stopping (if set), then waits for release (if set) or its ctx.
type fakeReplay struct {
	store    sessionstore.Store
	stopping chan struct{}
	release  chan struct{}

	mu     sync.Mutex
	status control.ReplayStatus
	reqs   []control.ReplayRequest
	err    error
}

var _ control.Replay = (*fakeReplay)(nil)

func newFakeReplay(store sessionstore.Store) *fakeReplay {
	return &fakeReplay{store: store, status: control.ReplayStatus{State: control.Idle}}
}

func (f *fakeReplay) Status() control.ReplayStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeReplay) StartReplay(_ context.Context, req control.ReplayRequest) (control.ReplayStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.status, f.err
	}
	if f.status.State == control.Running {
		return f.status, control.Conflict("a replay is running")
	}
	if req.Speed != nil && *req.Speed < 0 {
		return f.status, &control.FieldError{Field: "speed", Err: fmt.Errorf("%v is negative", *req.Speed)}
	}
	if req.Session != nil && *req.Session == "missing" {
		return f.status, fmt.Errorf("session %q: %w", *req.Session, control.ErrNotFound)
	}
	f.reqs = append(f.reqs, req)
	f.status.State, f.status.Pass = control.Running, 1
	if req.Session != nil {
		f.status.Session = *req.Session
	}
	if req.Speed != nil {
		f.status.Speed = *req.Speed
	}
	return f.status, nil
}

func (f *fakeReplay) StopReplay(ctx context.Context) (control.ReplayStatus, error) {
	if f.stopping != nil {
		f.stopping <- struct{}{}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return f.Status(), ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.status, f.err
	}
	if f.status.State != control.Running {
		return f.status, control.Conflict("no replay is running")
	}
	f.status.State = control.Stopped
	return f.status, nil
}

func (f *fakeReplay) Store() sessionstore.Store { return f.store }

func (f *fakeReplay) requests() []control.ReplayRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.ReplayRequest(nil), f.reqs...)
}

// api is a started extension and a client for it.
type api struct {
	t    *testing.T
	ext  *controlExtension
	base string // http://127.0.0.1:port
	logs *observer.ObservedLogs
	cl   *http.Client
}

// startAPI starts the extension on a free loopback port with cfg changed
// by mutate, on host (nil: a host without extensions).
func startAPI(t *testing.T, mutate func(*Config), host component.Host) *api {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", ports.Free(t))
	if mutate != nil {
		mutate(cfg)
	}
	if host == nil {
		host = componenttest.NewNopHost()
	}
	core, logs := observer.New(zap.InfoLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), host))
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		require.NoError(t, ext.Shutdown(context.Background()))
	})
	return &api{t: t, ext: ext.(*controlExtension), base: "http://" + cfg.ServerConfig.NetAddr.Endpoint, logs: logs, cl: cl}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; headers are "Name: value" strings.
func (a *api) do(method, path, body string, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(a.t, err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := a.cl.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// decode decodes the body strictly into a T.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "%s", r.body)
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "%s", r.body)
	return v
}

// requireError checks an error response: status, code, and fragments of
// the detail.
func requireError(t *testing.T, r response, status int, code string, detail ...string) apiError {
	t.Helper()
	require.Equal(t, status, r.status, "%s", r.body)
	e := decode[apiError](t, r)
	require.Equal(t, code, e.Error, "%s", r.body)
	for _, d := range detail {
		require.Contains(t, e.Detail, d)
	}
	return e
}

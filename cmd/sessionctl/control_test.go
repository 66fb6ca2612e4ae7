package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
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
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// fakeCapture is a control.Capture that keeps its state in memory.
type fakeCapture struct {
	store sessionstore.Store

	mu    sync.Mutex
	state control.CaptureState
	reqs  []control.SessionRequest
	snaps []control.SnapshotRequest
}

func newFakeCapture(st sessionstore.Store) *fakeCapture {
	return &fakeCapture{store: st, state: control.CaptureState{
		State: control.Recording, Store: st.String(), DroppedWhilePaused: map[string]int64{},
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
	id := req.ID
	if id == "" {
		id = "capture-generated"
	}
	f.reqs = append(f.reqs, req)
	m := sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, time.Now(), "fake")
	m.CapturedTraces = 3
	f.state.Session = m
	return f.state, nil
}

func (f *fakeCapture) Snapshot(_ context.Context, req control.SnapshotRequest) (control.SnapshotState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps = append(f.snaps, req)
	at := time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC)
	return control.SnapshotState{Session: req.ID, Recorder: "recorder",
		From: at.Add(-time.Duration(req.Before)), To: at.Add(time.Duration(req.After))}, nil
}

func (f *fakeCapture) snapshots() []control.SnapshotRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.snaps)
}

func (f *fakeCapture) Pause(context.Context) (control.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state.State == control.Paused {
		return f.state, control.Conflict("capture is paused already")
	}
	f.state.State = control.Paused
	f.state.DroppedWhilePaused = map[string]int64{"traces": 7, "metrics": 0, "logs": 2}
	return f.state, nil
}

func (f *fakeCapture) Resume(context.Context) (control.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state.State == control.Recording {
		return f.state, control.Conflict("capture is recording already")
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

// fakeReplay is a control.Replay that keeps its state in memory. While
// script is set and the replay is not idle, each Status call (each GET)
// answers the script's next element, the last one again and again.
type fakeReplay struct {
	store sessionstore.Store

	mu     sync.Mutex
	status control.ReplayStatus
	script []control.ReplayStatus
	polls  int
	reqs   []control.ReplayRequest
	stops  int
}

func newFakeReplay(st sessionstore.Store) *fakeReplay {
	return &fakeReplay{store: st, status: control.ReplayStatus{State: control.Idle}}
}

func (f *fakeReplay) Status() control.ReplayStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) > 0 && f.status.State != control.Idle {
		f.status = f.script[min(f.polls, len(f.script)-1)]
		f.polls++
	}
	return f.status
}

func (f *fakeReplay) StartReplay(_ context.Context, req control.ReplayRequest) (control.ReplayStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.State == control.Running {
		return f.status, control.Conflict("a replay is running; stop it first")
	}
	if req.Session != nil && *req.Session == "missing" {
		return f.status, fmt.Errorf("%w: session %q", control.ErrNotFound, *req.Session)
	}
	f.reqs = append(f.reqs, req)
	f.status = control.ReplayStatus{State: control.Running, Session: "seed", Pass: 0, ObjectsTotal: 6, ItemsTotal: 12, Speed: 1}
	if req.Session != nil {
		f.status.Session = *req.Session
	}
	return f.status, nil
}

func (f *fakeReplay) StopReplay(context.Context) (control.ReplayStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
	if f.status.State != control.Running {
		return f.status, control.Conflict("no replay is running")
	}
	f.status.State = control.Stopped
	return f.status, nil
}

func (f *fakeReplay) Store() sessionstore.Store { return f.store }

func (f *fakeReplay) requests() ([]control.ReplayRequest, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.ReplayRequest(nil), f.reqs...), f.stops
}

// server is a started session_control extension.
type server struct {
	url string
	reg controlreg.Registry
}

// startControl starts a session_control extension on a free loopback port,
// with token unless empty.
func startControl(t *testing.T, token string) *server {
	t.Helper()
	f := sessioncontrolextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*sessioncontrolextension.Config)
	cfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", ports.Free(t))
	cfg.Token = configopaque.String(token)
	require.NoError(t, cfg.Validate())
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return &server{url: "http://" + cfg.ServerConfig.NetAddr.Endpoint, reg: ext.(controlreg.Registry)}
}

func (s *server) capture(t *testing.T, id string, c control.Capture) {
	t.Helper()
	unregister, err := s.reg.RegisterCapture(component.MustNewIDWithName(splitID(id)), c)
	require.NoError(t, err)
	t.Cleanup(unregister)
}

func (s *server) replay(t *testing.T, id string, r control.Replay) {
	t.Helper()
	unregister, err := s.reg.RegisterReplay(component.MustNewIDWithName(splitID(id)), r)
	require.NoError(t, err)
	t.Cleanup(unregister)
}

func splitID(id string) (string, string) {
	typ, name, _ := strings.Cut(id, "/")
	return typ, name
}

// ctl runs sessionctl --control against s.
func (s *server) ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return sessionctl(t, append([]string{"--control", s.url}, args...)...)
}

// seeded opens a store holding a seed session "seed" (with a phase table)
// and a capture session "good".
func seeded(t *testing.T) (string, sessionstore.Store) {
	t.Helper()
	dir, st := newStore(t)
	sessiontest.SeedPhases(t, st, "seed", c0)
	w := sessiontest.NewWriter(t, st, "good", c0)
	w.Traces(c0, sessiontest.Traces("svc", 0, 4, c0))
	w.Complete()
	return dir, st
}

func TestControlSessions(t *testing.T) {
	dir, st := seeded(t)
	s := startControl(t, "")
	s.capture(t, "session_capture", newFakeCapture(st))

	code, out, errw := s.ctl(t, "sessions")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "SESSION")
	assert.True(t, strings.HasPrefix(out, "SESSION "), "one store: the table of list, no STORE column: %s", out)
	assert.Regexp(t, `\ngood\s+capture\s+completed\s+\S+\s+0s\s+4\s+0\s+0\s`, out)
	assert.Regexp(t, `\nseed\s+seed\s+completed\s`, out)
	_, local, _ := sessionctl(t, "--dir", dir, "list")
	assert.Equal(t, local, out, "the same table as list on the store")

	code, out, errw = s.ctl(t, "sessions", "--type", "seed")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "seed")
	assert.NotContains(t, out, "good")

	code, out, errw = s.ctl(t, "sessions", "--status", "active", "--json")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "[]\n", out)
	code, out, errw = s.ctl(t, "list", "--json", "--type", "capture")
	require.Equal(t, 0, code, errw)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "good", list[0]["id"])

	code, _, errw = s.ctl(t, "sessions", "--type", "bogus")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: bad_request: type \"bogus\": want one of capture, seed, training\n", errw)

	// A second store (the replay's): a STORE column.
	_, other := newStore(t)
	w := sessiontest.NewWriter(t, other, "elsewhere", c0)
	w.Traces(c0, sessiontest.Traces("svc", 0, 2, c0))
	w.Complete()
	s.replay(t, "session_replay", newFakeReplay(other))
	code, out, errw = s.ctl(t, "sessions")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `^STORE\s+SESSION\s+TYPE`, out)
	assert.Regexp(t, `\n`+other.String()+`\s+elsewhere\s+capture\s+completed`, out)

	// show: metadata.json as stored.
	stored, err := os.ReadFile(filepath.Join(dir, "sessions", "good", "metadata.json"))
	require.NoError(t, err)
	code, out, errw = s.ctl(t, "show", "good")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, strings.TrimSuffix(string(stored), "\n")+"\n", out)

	code, _, errw = s.ctl(t, "show", "missing")
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(errw, `error: not_found: session "missing" not found in `), errw)
	code, _, errw = s.ctl(t, "show", "../etc")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, `invalid session id "../etc"`)
}

func TestControlCapture(t *testing.T) {
	_, st := newStore(t)
	s := startControl(t, "")

	code, out, errw := s.ctl(t, "capture", "list")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "no capture is registered\n", out)
	code, _, errw = s.ctl(t, "capture", "status")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, "no capture is registered with the control API at "+s.url)

	fc := newFakeCapture(st)
	s.capture(t, "session_capture", fc)
	code, out, errw = s.ctl(t, "capture", "status")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "session_capture: recording, no session yet, store "+st.String()+"\n", out)

	code, out, errw = s.ctl(t, "capture", "new", "--id", "drill-1", "--description", "checkout drill",
		"--label", "team=payments", "--label", "env=stage", "--flag", "a", "--flag", "b", "--diagnostic", "diag-7")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "session_capture: recording, session drill-1 (active; 3 spans, 0 data points, 0 log records), store "+st.String()+"\n", out)
	code, out, errw = s.ctl(t, "capture", "new", "session_capture", "--json")
	require.Equal(t, 0, code, errw)
	var state control.CaptureState
	require.NoError(t, json.Unmarshal([]byte(out), &state), out)
	assert.Equal(t, "capture-generated", state.Session.SessionID)
	assert.Equal(t, []control.SessionRequest{{
		ID: "drill-1", Description: "checkout drill", Labels: map[string]string{"team": "payments", "env": "stage"},
		EnabledFlags: []string{"a", "b"}, DiagnosticSessionID: "diag-7",
	}, {}}, fc.requests(), "only the flags given are sent")

	code, out, errw = s.ctl(t, "capture", "snapshot", "--id", "incident-7", "--before", "10m", "--after", "2m",
		"--description", "checkout errors", "--label", "severity=page", "--diagnostic", "diag-3")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "session_capture: snapshot incident-7 of recorder, 2026-12-07T13:55:00Z to 2026-12-07T14:07:00Z (completed once that has passed)\n", out)
	assert.Equal(t, []control.SnapshotRequest{{ID: "incident-7", Before: control.Duration(10 * time.Minute), After: control.Duration(2 * time.Minute),
		Description: "checkout errors", Labels: map[string]string{"severity": "page"}, DiagnosticSessionID: "diag-3"}}, fc.snapshots())
	code, _, errw = s.ctl(t, "capture", "snapshot")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, "--before")

	code, out, errw = s.ctl(t, "capture", "pause")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "session_capture: paused, session capture-generated")
	assert.Contains(t, out, "dropped while paused: 7 spans, 0 data points, 2 log records")
	code, out, errw = s.ctl(t, "capture", "pause")
	assert.Equal(t, 1, code, out)
	assert.Equal(t, "error: conflict: capture is paused already\n", errw)
	code, out, errw = s.ctl(t, "capture", "resume", "session_capture")
	require.Equal(t, 0, code, errw)
	assert.True(t, strings.HasPrefix(out, "session_capture: recording,"), out)

	// Two captures, one with a "/" in its name (escaped in the path): name one.
	s.capture(t, "session_capture/shard/b", newFakeCapture(st))
	code, _, errw = s.ctl(t, "capture", "pause")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, "2 captures are registered: name one of session_capture, session_capture/shard/b")
	code, out, errw = s.ctl(t, "capture", "pause", "session_capture/shard/b")
	require.Equal(t, 0, code, errw)
	assert.True(t, strings.HasPrefix(out, "session_capture/shard/b: paused,"), out)
	code, out, errw = s.ctl(t, "capture", "list")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `^session_capture: recording, .*\nsession_capture/shard/b: paused, .*\n$`, out)
	code, _, errw = s.ctl(t, "capture", "status", "nope")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: not_found: no capture \"nope\" is registered; registered: session_capture, session_capture/shard/b\n", errw)

	for _, bad := range [][]string{
		{"capture"}, {"capture", "frob"}, {"capture", "new", "--label", "novalue"},
		{"capture", "new", "--label", "a=1", "--label", "a=2"}, {"capture", "status", "a", "b"}, {"capture", "list", "x"},
	} {
		code, _, errw = s.ctl(t, bad...)
		assert.Equal(t, 2, code, "%v: %s", bad, errw)
	}
}

func TestControlReplay(t *testing.T) {
	_, st := seeded(t)
	s := startControl(t, "")
	fr := newFakeReplay(st)
	s.replay(t, "session_replay/shard0", fr)

	code, out, errw := s.ctl(t, "replay", "list")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "session_replay/shard0: idle\n", out)

	code, out, errw = s.ctl(t, "replay", "start", "--speed", "4", "--phase", "failure")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, "session_replay/shard0: running, session seed, pass 0, objects 0/6, items 0/12 (0.0%), speed 1x\n", out)
	code, _, errw = s.ctl(t, "replay", "start", "session_replay/shard0")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: conflict: a replay is running; stop it first\n", errw)
	code, out, errw = s.ctl(t, "replay", "stop")
	require.Equal(t, 0, code, errw)
	assert.True(t, strings.HasPrefix(out, "session_replay/shard0: stopped, session seed,"), out)
	code, _, errw = s.ctl(t, "replay", "stop")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: conflict: no replay is running\n", errw)

	code, out, errw = s.ctl(t, "replay", "start", "session_replay/shard0", "--session", "seed", "--selection", "largest",
		"--speed", "0", "--timestamps", "relative", "--loops", "0", "--max-duration", "90s",
		"--phase", "baseline", "--phase", "failure", "--time-range", "5m..", "--sessions", "seed,seed-2", "--copies", "3", "--json")
	require.Equal(t, 0, code, errw)
	var status control.ReplayStatus
	require.NoError(t, json.Unmarshal([]byte(out), &status), out)
	assert.Equal(t, control.Running, status.State)
	code, _, errw = s.ctl(t, "replay", "stop")
	require.Equal(t, 0, code, errw)
	code, _, errw = s.ctl(t, "replay", "start", "--session", "missing")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: not_found: session \"missing\"\n", errw)

	reqs, _ := fr.requests()
	speed4, speed0, maxDur := 4.0, 0.0, control.Duration(90*time.Second)
	assert.Equal(t, []control.ReplayRequest{
		{Speed: &speed4, Phases: []string{"failure"}},
		{
			Session: new("seed"), Selection: new("largest"), Speed: &speed0, Timestamps: new("relative"), Loops: new(0),
			MaxDuration: &maxDur, Phases: []string{"baseline", "failure"}, TimeRange: &control.TimeRange{Start: "5m"},
			Sessions: []string{"seed", "seed-2"}, Copies: new(3),
		},
	}, reqs, "only the flags given are sent, zero values included")

	code, out, errw = s.ctl(t, "replay", "status")
	require.Equal(t, 0, code, errw)
	assert.True(t, strings.HasPrefix(out, "session_replay/shard0: stopped, session seed, pass 0"), out)

	for _, bad := range [][]string{
		{"replay"}, {"replay", "rewind"}, {"replay", "start", "--time-range", "5m"}, {"replay", "start", "--time-range", ".."},
		{"replay", "start", "--max-duration", "soon"}, {"replay", "status", "--session", "x"}, {"replay", "stop", "--speed", "2"},
		{"replay", "status", "--watch", "--interval", "0s"},
	} {
		code, _, errw = s.ctl(t, bad...)
		assert.Equal(t, 2, code, "%v: %s", bad, errw)
	}
	_, stops := fr.requests()
	assert.Equal(t, 3, stops)
}

func TestControlToken(t *testing.T) {
	t.Setenv("SESSIONCTL_CONTROL_TOKEN", "")
	t.Setenv("CONTROL_TOKEN", "")
	const token = "t0k3n"
	s := startControl(t, token)
	s.capture(t, "session_capture", newFakeCapture(newStoreOnly(t)))

	code, out, errw := s.ctl(t, "capture", "list")
	assert.Equal(t, 1, code, out)
	assert.Equal(t, "error: unauthorized: missing \"Authorization: Bearer <token>\" header\n"+
		"sessionctl: the API wants a token: --token, or $SESSIONCTL_CONTROL_TOKEN or $CONTROL_TOKEN\n", errw)
	code, _, errw = s.ctl(t, "--token", "wrong", "capture", "list")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: unauthorized: wrong token\n", errw)

	code, out, errw = s.ctl(t, "--token", token, "capture", "list")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "session_capture: recording")

	t.Setenv("CONTROL_TOKEN", token)
	code, _, errw = s.ctl(t, "capture", "status")
	require.Equal(t, 0, code, errw)
	t.Setenv("CONTROL_TOKEN", "wrong")
	t.Setenv("SESSIONCTL_CONTROL_TOKEN", token)
	code, _, errw = s.ctl(t, "capture", "status")
	require.Equal(t, 0, code, "SESSIONCTL_CONTROL_TOKEN comes first: %s", errw)
}

func newStoreOnly(t *testing.T) sessionstore.Store {
	_, st := newStore(t)
	return st
}

func TestControlUsage(t *testing.T) {
	dir, _ := seeded(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", ports.Free(t)) // nothing listens
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--control", url, "verify", "good"}, "verify works on a store"},
		{[]string{"--control", url, "--dir", dir, "sessions"}, "--control and --dir exclude each other"},
		{[]string{"--dir", dir, "capture", "list"}, "capture needs --control URL"},
		{[]string{"--dir", dir, "sessions"}, "sessions needs --control URL"},
		{[]string{"--dir", dir, "--token", "x", "list"}, "--token: only with --control URL"},
		{[]string{"--control", "ftp://host:1", "sessions"}, "want http://host:port"},
		{[]string{"--control", url, "frob"}, `unknown command "frob"`},
	} {
		code, _, errw := sessionctl(t, tt.args...)
		assert.Equal(t, 2, code, "%v", tt.args)
		assert.Contains(t, errw, tt.want, "%v", tt.args)
	}

	// A connection error names the URL; a bare host:port is http.
	for _, u := range []string{url, strings.TrimPrefix(url, "http://")} {
		code, _, errw := sessionctl(t, "--control", u, "replay", "list")
		assert.Equal(t, 1, code)
		assert.Contains(t, errw, "sessionctl: control API at "+url+": GET /v1/replays: ")
		assert.Contains(t, errw, "connection refused")
	}
}

// watchedReplay is a running replay whose status goes to end (finished or
// stopped) in five polls.
func watchedReplay(end string) *fakeReplay {
	fr := newFakeReplay(nil)
	fr.status.State = control.Running
	for i := range 4 {
		fr.script = append(fr.script, control.ReplayStatus{
			State: control.Running, Session: "seed", ObjectsDone: int64(5 * i), ObjectsTotal: 20,
			ItemsDone: int64(250 * i), ItemsTotal: 1000, Percent: float64(25 * i),
			LatenessP99: control.Duration(1234 * time.Microsecond), ETA: control.Duration(time.Duration(4-i) * time.Second),
		})
	}
	last := control.ReplayStatus{State: end, Session: "seed", ObjectsDone: 20, ObjectsTotal: 20, ItemsDone: 1000, ItemsTotal: 1000, Percent: 100}
	if end == control.Stopped {
		last.ObjectsDone, last.ItemsDone, last.Percent = 15, 750, 75
	}
	fr.script = append(fr.script, last)
	return fr
}

func TestWatch(t *testing.T) {
	for _, tt := range []struct {
		end  string
		code int
		last string
	}{
		{control.Finished, 0, "[##########] 100.0%  pass 0  objects 20/20  items 1000/1000  finished"},
		{control.Stopped, 1, "[#######---] 75.0%  pass 0  objects 15/20  items 750/1000  stopped"},
	} {
		t.Run(tt.end, func(t *testing.T) {
			s := startControl(t, "")
			s.replay(t, "session_replay", watchedReplay(tt.end))
			start := time.Now()
			code, out, errw := s.ctl(t, "replay", "status", "session_replay", "--watch", "--interval", "20ms")
			assert.Equal(t, tt.code, code, errw)
			assert.Empty(t, errw)
			assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond, "one poll per interval")
			assert.NotContains(t, out, "\r")
			assert.NotContains(t, out, "\x1b")
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			require.Len(t, lines, 5, out)
			assert.Equal(t, "[----------] 0.0%  pass 0  objects 0/20  items 0/1000  p99 1.2ms  ETA 4s  running", lines[0])
			assert.Equal(t, "[#####-----] 50.0%  pass 0  objects 10/20  items 500/1000  p99 1.2ms  ETA 2s  running", lines[2])
			assert.Equal(t, tt.last, lines[4])
		})
	}

	t.Run("start --wait", func(t *testing.T) {
		s := startControl(t, "")
		fr := watchedReplay(control.Finished)
		fr.status.State = control.Idle // until started
		s.replay(t, "session_replay", fr)
		code, out, errw := s.ctl(t, "replay", "start", "--wait", "--interval", "10ms", "--speed", "2")
		assert.Equal(t, 0, code, errw)
		// The start's line, then the progress.
		assert.Regexp(t, `^session_replay: running, session seed, .*\n(\[.*running\n){2,}\[##########\] 100.0%.* finished\n$`, out)
		reqs, stops := fr.requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, 2.0, *reqs[0].Speed)
		assert.Zero(t, stops)
	})

	t.Run("idle", func(t *testing.T) {
		s := startControl(t, "")
		s.replay(t, "session_replay", newFakeReplay(nil))
		code, out, errw := s.ctl(t, "replay", "status", "--watch", "--interval", "10ms")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, "sessionctl: replay session_replay is idle (never started): nothing to watch; sessionctl replay start session_replay starts it\n", errw)
	})

	t.Run("Ctrl-C", func(t *testing.T) {
		s := startControl(t, "")
		fr := newFakeReplay(nil)
		s.replay(t, "session_replay", fr)
		code, _, errw := s.ctl(t, "replay", "start")
		require.Equal(t, 0, code, errw)
		ctx, cancel := context.WithCancel(context.Background())
		out := &lockedBuffer{}
		var errb bytes.Buffer
		done := make(chan int)
		go func() {
			done <- run(ctx, []string{"--control", s.url, "replay", "status", "--watch", "--interval", "10ms"}, out, &errb)
		}()
		require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 3 }, 5*time.Second, 5*time.Millisecond)
		cancel()
		select {
		case code = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the watch did not end on Ctrl-C")
		}
		assert.Equal(t, 130, code)
		assert.Equal(t, "sessionctl: interrupted; replay session_replay goes on (sessionctl replay stop session_replay stops it)\n", errb.String())
		_, stops := fr.requests()
		assert.Zero(t, stops, "the replay is not stopped")
		assert.Equal(t, control.Running, fr.Status().State)
	})

	t.Run("terminal", func(t *testing.T) {
		s := startControl(t, "")
		s.replay(t, "session_replay", watchedReplay(control.Finished))
		api, err := newAPIClient(s.url, "", 5*time.Second)
		require.NoError(t, err)
		defer api.close()
		var out, errb bytes.Buffer
		c := &cli{ctx: context.Background(), api: api, out: &out, errw: &errb, tty: true}
		require.Equal(t, 0, c.watchReplay("session_replay", 5*time.Millisecond, false))
		got := out.String()
		assert.Equal(t, 5, strings.Count(got, "\r"), "%q", got)
		assert.Equal(t, 5, strings.Count(got, "\x1b[K"), "%q", got)
		assert.Equal(t, 1, strings.Count(got, "\n"), "one line, redrawn: %q", got)
		assert.True(t, strings.HasSuffix(got, "\r[##########] 100.0%  pass 0  objects 20/20  items 1000/1000  finished\x1b[K\n"), "%q", got)
	})
}

func TestProgressLine(t *testing.T) {
	st := control.ReplayStatus{
		State: control.Running, ObjectsDone: 10, ObjectsTotal: 20, ItemsDone: 520, ItemsTotal: 1000, Percent: 52.3,
		LatenessP99: control.Duration(1234567 * time.Nanosecond), ETA: control.Duration(4812 * time.Millisecond),
	}
	assert.Equal(t, "[#####-----] 52.3%  pass 0  objects 10/20  items 520/1000  p99 1.2ms  ETA 4.8s  running", progressLine(st))
	st.Percent, st.ItemsTotal, st.ETA, st.LatenessP99 = 130, 0, 0, 0
	assert.Equal(t, "[##########] 130.0%  pass 0  objects 10/20  items 520  running", progressLine(st), "clamped; unknown total")
}

// lockedBuffer is a bytes.Buffer that a goroutine writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

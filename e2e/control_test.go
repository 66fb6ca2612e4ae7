package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// api talks to a collector's session_control extension.
type api struct {
	t     *testing.T
	base  string
	token string
}

// call sends a request (body: nil, a string sent as is, or a value sent as
// JSON) and returns the status and the body.
func (a api) call(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(a.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://"+a.base+path, rd)
	require.NoError(a.t, err)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	require.NoError(a.t, err)
	return resp.StatusCode, out
}

// ok sends a request that must succeed and decodes its answer into v.
func (a api) ok(method, path string, body, v any) {
	a.t.Helper()
	code, out := a.call(method, path, body)
	require.Equal(a.t, http.StatusOK, code, "%s %s: %s", method, path, out)
	if v != nil {
		require.NoError(a.t, json.Unmarshal(out, v), "%s", out)
	}
}

type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

// fails sends a request that must fail with status and error code, and
// returns the detail.
func (a api) fails(method, path string, body any, status int, code string) string {
	a.t.Helper()
	got, out := a.call(method, path, body)
	require.Equal(a.t, status, got, "%s %s: %s", method, path, out)
	var e apiError
	require.NoError(a.t, json.Unmarshal(out, &e), "%s", out)
	assert.Equal(a.t, code, e.Error, "%s", out)
	return e.Detail
}

// TestControlAPICapture drives a capture over HTTP on the built binary with
// its default config and a token: a session opened through the API, fed,
// paused (what is sent meanwhile is accepted, not stored, and counted),
// resumed, completed by the next one, listed; wrong requests answered as
// the API says.
func TestControlAPICapture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := otelcoltest.StartFile(t, "../collector-config.yaml", "CONTROL_TOKEN=s3cret", "CAPTURE_DIR="+dir)
	a := api{t: t, base: c.Control, token: "s3cret"}

	// no token, a wrong one: refused
	assert.Contains(t, api{t: t, base: c.Control}.fails("GET", "/v1/captures", nil, 401, "unauthorized"), "token")
	api{t: t, base: c.Control, token: "guess"}.fails("GET", "/v1/captures", nil, 401, "unauthorized")

	var list []control.CaptureState
	a.ok("GET", "/v1/captures", nil, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "session_capture", list[0].Component)
	assert.Equal(t, control.Recording, list[0].State)

	var st control.CaptureState
	a.ok("POST", "/v1/captures/session_capture/sessions", map[string]any{
		"id": "api-drill-1", "description": "opened over HTTP", "labels": map[string]string{"team": "payments"},
	}, &st)
	require.NotNil(t, st.Session)
	assert.Equal(t, "api-drill-1", st.Session.SessionID)

	base := time.Now()
	c.SendTracesHTTP(t, sessiontest.Traces("api", 0, 10, base))
	a.ok("POST", "/v1/captures/session_capture/pause", nil, &st)
	assert.Equal(t, control.Paused, st.State)
	a.fails("POST", "/v1/captures/session_capture/pause", nil, 409, "conflict")
	c.SendTracesHTTP(t, sessiontest.Traces("api", 1, 7, base)) // 200 to the sender
	c.SendLogsHTTP(t, testdata.GenerateLogs(3))
	a.ok("GET", "/v1/captures/session_capture", nil, &st)
	assert.Equal(t, map[string]int64{"traces": 7, "metrics": 0, "logs": 3}, st.DroppedWhilePaused)
	a.ok("POST", "/v1/captures/session_capture/resume", nil, &st)
	assert.Equal(t, control.Recording, st.State)
	a.fails("POST", "/v1/captures/session_capture/resume", nil, 409, "conflict")
	c.SendTracesHTTP(t, sessiontest.Traces("api", 2, 5, base))

	// the next session completes this one
	a.ok("POST", "/v1/captures/session_capture/sessions", map[string]any{"id": "api-drill-2"}, &st)
	assert.Equal(t, "api-drill-2", st.Session.SessionID)
	a.fails("POST", "/v1/captures/session_capture/sessions", map[string]any{"id": "api-drill-1"}, 409, "conflict")
	var stored sessionstore.Metadata
	a.ok("GET", "/v1/sessions/api-drill-1", nil, &stored)
	assert.Equal(t, sessionstore.StatusCompleted, stored.Status)
	assert.EqualValues(t, 15, stored.CapturedTraces, "10 before the pause, 5 after the resume")
	assert.Zero(t, stored.CapturedLogs)
	assert.Equal(t, "opened over HTTP", stored.Description)

	var sessions []struct {
		Store    string                 `json:"store"`
		ID       string                 `json:"id"`
		Metadata *sessionstore.Metadata `json:"metadata"`
	}
	a.ok("GET", "/v1/sessions?type=capture", nil, &sessions)
	var ids []string
	for _, s := range sessions {
		ids = append(ids, s.ID)
	}
	assert.Equal(t, []string{"api-drill-1", "api-drill-2"}, ids)
	a.ok("GET", "/v1/sessions?status=completed", nil, &sessions)
	require.Len(t, sessions, 1)
	assert.Equal(t, "api-drill-1", sessions[0].ID)

	// wrong requests
	a.fails("POST", "/v1/captures/session_capture/sessions", `{"id": `, 400, "bad_request")
	assert.Contains(t, a.fails("POST", "/v1/captures/session_capture/sessions", `{"idd": "x"}`, 400, "bad_request"), "idd")
	assert.Contains(t, a.fails("POST", "/v1/captures/session_capture/sessions", `{"id": "../x"}`, 400, "bad_request"), "id")
	assert.Contains(t, a.fails("POST", "/v1/captures/nope/pause", nil, 404, "not_found"), "session_capture")
	a.fails("GET", "/v1/sessions/missing-one", nil, 404, "not_found")
	a.fails("DELETE", "/v1/captures", nil, 405, "method_not_allowed")

	c.Stop(t)
	st2, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	got := sessiontest.Read(t, st2, "api-drill-1")
	assert.Equal(t, 15, got.Traces.SpanCount())
	sessiontest.CheckCounts(t, got)
	m, err := sessionstore.ReadMetadata(context.Background(), st2, "api-drill-2")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
}

// TestControlAPIReplay: a replay with start: manual waits for the API; one
// started with overrides is polled to 100 % and finished, another is
// stopped early, and nothing arrives after the stop's answer: what the
// sink has then is what the replay says it delivered, and stays so until
// the sink has stopped; wrong requests and states are answered as the API
// says. Nothing waits for a time to pass: every wait is for an event.
func TestControlAPIReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	c0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	w := sessiontest.NewWriter(t, st, "recorded", c0)
	for i := range 20 { // 20 objects of 5 spans, 250 ms apart: 4.75 s at 1x
		at := c0.Add(time.Duration(i) * 250 * time.Millisecond)
		w.Traces(at, sessiontest.Traces("svc", i, 5, at))
	}
	w.Complete()

	var spans atomic.Int64
	sink, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		spans.Add(int64(td.SpanCount()))
		return nil
	})
	require.NoError(t, err)
	endpoint, stopSink := serveOTLPHTTP(t, sink, nil)
	c := otelcoltest.Launch(t, fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %q}
    start: manual
    control: session_control
    progress_interval: 0s
exporters:
  otlp_http:
    endpoint: http://%s
    sending_queue: {enabled: false}
extensions:
  session_control: {endpoint: "{{CONTROL}}"}
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check, session_control]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`, dir, endpoint))
	c.WaitHealthy(t)
	a := api{t: t, base: c.Control}

	var rs control.ReplayStatus
	a.ok("GET", "/v1/replays/session_replay", nil, &rs)
	assert.Equal(t, control.Idle, rs.State, "start: manual replays nothing by itself")
	assert.Zero(t, spans.Load(), "start: manual replays nothing by itself")

	// bad requests start nothing
	assert.Contains(t, a.fails("POST", "/v1/replays/session_replay/start", `{"speed": "fast"}`, 400, "bad_request"), "speed")
	assert.Contains(t, a.fails("POST", "/v1/replays/session_replay/start", `{"speed": -2}`, 400, "bad_request"), "speed")
	assert.Contains(t, a.fails("POST", "/v1/replays/session_replay/start", `{"sesion": "recorded"}`, 400, "bad_request"), "sesion")
	assert.Contains(t, a.fails("POST", "/v1/replays/session_replay/start", map[string]any{"session": "missing"}, 404, "not_found"), "recorded")
	assert.Contains(t, a.fails("POST", "/v1/replays/session_replay/start", map[string]any{"phases": []string{"failure"}, "session": "recorded"}, 400, "bad_request"), "phases")
	assert.Contains(t, a.fails("POST", "/v1/replays/nope/start", nil, 404, "not_found"), "session_replay")
	a.fails("POST", "/v1/replays/session_replay/stop", nil, 409, "conflict")

	// with overrides: all of it at 4x, polled to 100 %
	a.ok("POST", "/v1/replays/session_replay/start", map[string]any{"session": "recorded", "speed": 4, "timestamps": "relative"}, &rs)
	assert.Equal(t, "recorded", rs.Session)
	assert.Equal(t, 4.0, rs.Speed)
	a.fails("POST", "/v1/replays/session_replay/start", nil, 409, "conflict")
	deadline := time.Now().Add(time.Minute)
	for rs.State != control.Finished && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		a.ok("GET", "/v1/replays/session_replay", nil, &rs)
		require.Contains(t, []string{control.Waiting, control.Running, control.Finished}, rs.State)
	}
	require.Equal(t, control.Finished, rs.State)
	assert.EqualValues(t, 100, rs.Percent)
	assert.EqualValues(t, 100, rs.ItemsDone)
	assert.EqualValues(t, 100, rs.ItemsTotal)
	assert.EqualValues(t, 20, rs.ObjectsDone)
	assert.EqualValues(t, 100, spans.Load())

	// another run, until stopped (loops 0: it never ends by itself),
	// stopped once it has delivered something
	a.ok("POST", "/v1/replays/session_replay/start", map[string]any{"session": "recorded", "speed": 0.5, "loops": 0}, &rs)
	require.Eventually(t, func() bool { return spans.Load() > 100 }, time.Minute, 10*time.Millisecond, "the second run delivers")
	a.ok("POST", "/v1/replays/session_replay/stop", nil, &rs)
	sent := spans.Load() // what had arrived when the stop answered
	assert.Equal(t, control.Stopped, rs.State)
	a.fails("POST", "/v1/replays/session_replay/stop", nil, 409, "conflict")
	// What the stopped run says it delivered (every pass) had all arrived
	// at the answer: no request was left in flight.
	c.WaitLog(t, `"ended_by": "stopped"`, time.Minute)
	var fin []map[string]any
	for _, f := range logFields(t, c, "Replay finished") {
		if f["ended_by"] == "stopped" {
			fin = append(fin, f)
		}
	}
	require.Len(t, fin, 1)
	delivered, ok := fin[0]["spans"].(float64)
	require.True(t, ok, "spans in %v", fin[0])
	assert.Positive(t, delivered)
	assert.EqualValues(t, 100+delivered, sent, "at the stop's answer the sink has what the replay delivered")
	// Nothing after the answer: with the collector stopped and the sink
	// stopped (every request it got handed on), the count is final.
	c.Stop(t)
	stopSink()
	assert.Equal(t, sent, spans.Load(), "nothing after the stop")
}

// TestCheckpointOfAPIReplayIgnoredAfterSIGKILL: a checkpoint belongs to the
// replay that wrote it. The configured replay of session b runs to its end;
// the control API then starts one of session a, which writes checkpoints
// until the collector is killed (SIGKILL) part-way (the sink holds a's
// sixth object meanwhile, so part-way it is, however slow the machine).
// The restarted collector, configured for b, ignores a's checkpoint
// (saying so at Info, and why) and replays b from its beginning, all of it.
func TestCheckpointOfAPIReplayIgnoredAfterSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	c0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for _, s := range []struct {
		id      string
		objects int
	}{{"b", 10}, {"a", 40}} {
		w := sessiontest.NewWriter(t, st, s.id, c0)
		for i := range s.objects { // 100 ms apart
			at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
			w.Traces(at, sessiontest.Traces("svc-"+s.id, i, 2, at))
		}
		w.Complete()
	}
	require.NoError(t, st.Close())

	var mu sync.Mutex
	got := map[string]int{} // spans by service/batch
	held, release := make(chan struct{}), make(chan struct{})
	var holding atomic.Bool
	unhold := sync.OnceFunc(func() { close(release) })
	sink, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		rs := td.ResourceSpans().At(0) // one object: one resource, one batch
		svc, _ := rs.Resource().Attributes().Get("service.name")
		b, _ := rs.ScopeSpans().At(0).Spans().At(0).Attributes().Get("batch")
		if svc.Str() == "svc-a" && b.Int() == 5 && !holding.Swap(true) { // the first time
			close(held)
			<-release
			return errors.New("the collector was killed")
		}
		mu.Lock()
		defer mu.Unlock()
		got[fmt.Sprintf("%s/%d", svc.Str(), b.Int())] += td.SpanCount()
		return nil
	})
	require.NoError(t, err)
	count := func(prefix string) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for k, v := range got {
			if strings.HasPrefix(k, prefix) {
				n += v
			}
		}
		return n
	}
	endpoint := startOTLPHTTP(t, sink, nil)
	t.Cleanup(unhold) // before the sink stops
	storage := t.TempDir()
	config := fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %q}
    session: b
    speed: 0
    control: session_control
    checkpoint: {storage: file_storage}
    progress_interval: 0s
exporters:
  otlp_http:
    endpoint: http://%s
    sending_queue: {enabled: false}
extensions:
  file_storage: {directory: %s, compaction: {directory: %s}}
  session_control: {endpoint: "{{CONTROL}}"}
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check, file_storage, session_control]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`, dir, endpoint, storage, storage)

	first := otelcoltest.Launch(t, config)
	first.WaitHealthy(t)
	first.WaitLog(t, "Replay finished", time.Minute)
	require.Equal(t, 20, count("svc-b/"), "the configured replay of b, all of it")
	a := api{t: t, base: first.Control}
	var rs control.ReplayStatus
	a.ok("POST", "/v1/replays/session_replay/start", map[string]any{"session": "a", "speed": 1}, &rs)
	require.Equal(t, "a", rs.Session)
	select {
	case <-held:
	case <-time.After(time.Minute):
		t.Fatalf("a's sixth object did not arrive:\n%s", first.LogTail(20))
	}
	require.NoError(t, syscall.Kill(first.Pid(), syscall.SIGKILL))
	_, exited := first.Wait(10 * time.Second)
	require.True(t, exited, "SIGKILL did not end the process")
	unhold()
	require.Equal(t, 10, count("svc-a/"), "a's first five objects, then the kill")

	second := otelcoltest.Launch(t, config)
	second.WaitLog(t, "Replay finished", time.Minute)
	second.Stop(t)
	assert.NotContains(t, second.Log(), "Resuming the replay from its checkpoint")
	ignored := logFields(t, second, "Ignoring a replay checkpoint that belongs to another replay; starting afresh")
	if assert.Len(t, ignored, 1, "the ignored checkpoint is logged:\n%s", second.LogTail(20)) {
		assert.Equal(t, "a", ignored[0]["checkpoint_session"])
		assert.Contains(t, ignored[0]["reason"], `session "a", the configuration asks for "b"`)
	}
	assert.Regexp(t, `\tinfo\t\S+\tIgnoring a replay checkpoint`, second.Log(), "logged at Info")
	fin := logFields(t, second, "Replay finished")
	require.Len(t, fin, 1)
	assert.Equal(t, "b", fin[0]["session"])
	assert.EqualValues(t, 20, fin[0]["spans"], "b from its beginning, all of it")
	mu.Lock()
	defer mu.Unlock()
	for i := range 10 {
		assert.Equal(t, 4, got[fmt.Sprintf("svc-b/%d", i)], "batch %d of b: its 2 spans in each process", i)
	}
}

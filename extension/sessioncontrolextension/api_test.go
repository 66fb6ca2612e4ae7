package sessioncontrolextension

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionoverview"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// fixture is a started API with two captures writing one store (A) and
// two replays reading another (B).
type fixture struct {
	*api
	storeA, storeB    sessionstore.Store
	capture, capture2 *fakeCapture // session_capture, session_capture/second
	replay, shard     *fakeReplay  // session_replay, session_replay/shard0
}

func openStore(t *testing.T) sessionstore.Store {
	t.Helper()
	st, err := sessionstore.OpenFilesystem(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func writeSession(t *testing.T, st sessionstore.Store, id string, typ sessionstore.SessionType, status sessionstore.Status) {
	t.Helper()
	m := sessionstore.NewMetadata(id, typ, time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC), "test")
	m.Status = status
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	f := &fixture{api: startAPI(t, mutate, nil), storeA: openStore(t), storeB: openStore(t)}
	writeSession(t, f.storeA, "capture-1", sessionstore.SessionTypeCapture, sessionstore.StatusCompleted)
	writeSession(t, f.storeA, "capture-2", sessionstore.SessionTypeCapture, sessionstore.StatusActive)
	writeSession(t, f.storeA, "seed-1", sessionstore.SessionTypeSeed, sessionstore.StatusCompleted)
	require.NoError(t, f.storeA.Put(context.Background(), sessionstore.MetadataKey("broken"), []byte("{not json")))
	writeSession(t, f.storeB, "capture-1", sessionstore.SessionTypeCapture, sessionstore.StatusFailed)
	writeSession(t, f.storeB, "training-1", sessionstore.SessionTypeTraining, sessionstore.StatusCompleted)

	f.capture, f.capture2 = newFakeCapture(f.storeA), newFakeCapture(f.storeA)
	f.replay, f.shard = newFakeReplay(f.storeB), newFakeReplay(f.storeB)
	f.register(t, "session_capture", f.capture)
	f.register(t, "session_capture/second", f.capture2)
	f.register(t, "session_replay", f.replay)
	f.register(t, "session_replay/shard0", f.shard)
	return f
}

func (f *fixture) register(t *testing.T, id string, c any) {
	t.Helper()
	var cid component.ID
	require.NoError(t, cid.UnmarshalText([]byte(id)))
	var unregister func()
	var err error
	switch c := c.(type) {
	case control.Capture:
		unregister, err = f.ext.RegisterCapture(cid, c)
	case control.Replay:
		unregister, err = f.ext.RegisterReplay(cid, c)
	}
	require.NoError(t, err)
	t.Cleanup(unregister)
}

// TestListSessions: the sessions of every registered component's store,
// each store once (two captures share A), with their store and metadata;
// one whose metadata cannot be read is listed with its error; filters by
// type, status and store.
func TestListSessions(t *testing.T) {
	f := newFixture(t, nil)
	all := decode[[]sessionEntry](t, f.do("GET", "/v1/sessions", ""))
	type key struct{ store, id string }
	var got []key
	for _, e := range all {
		got = append(got, key{e.Store, e.ID})
		if e.ID == "broken" {
			assert.Nil(t, e.Metadata)
			assert.Contains(t, e.Error, "decode")
		} else {
			require.NotNil(t, e.Metadata, e.ID)
			assert.Empty(t, e.Error)
			assert.Equal(t, e.ID, e.Metadata.SessionID)
		}
	}
	a, b := f.storeA.String(), f.storeB.String()
	want := []key{{a, "broken"}, {a, "capture-1"}, {a, "capture-2"}, {a, "seed-1"}, {b, "capture-1"}, {b, "training-1"}}
	slices.SortStableFunc(want, func(x, y key) int { return strings.Compare(x.store, y.store) })
	assert.Equal(t, want, got, "sorted by store, then id; each store once")

	filters := []struct {
		query string
		want  []key
	}{
		{"?type=seed", []key{{a, "seed-1"}}},
		{"?type=training", []key{{b, "training-1"}}},
		{"?status=active", []key{{a, "capture-2"}}},
		{"?status=failed", []key{{b, "capture-1"}}},
		{"?type=capture&status=completed", []key{{a, "capture-1"}}},
		{"?store=" + b, []key{{b, "capture-1"}, {b, "training-1"}}},
		{"?store=" + a + "&type=capture", []key{{a, "capture-1"}, {a, "capture-2"}}},
	}
	for _, tt := range filters {
		t.Run(tt.query, func(t *testing.T) {
			var got []key
			for _, e := range decode[[]sessionEntry](t, f.do("GET", "/v1/sessions"+tt.query, "")) {
				got = append(got, key{e.Store, e.ID})
			}
			assert.ElementsMatch(t, tt.want, got)
		})
	}

	requireError(t, f.do("GET", "/v1/sessions?type=bogus", ""), 400, "bad_request", `type "bogus"`, "capture, seed, training")
	requireError(t, f.do("GET", "/v1/sessions?status=done", ""), 400, "bad_request", `status "done"`, "active, completed, failed")
	requireError(t, f.do("GET", "/v1/sessions?typ=seed", ""), 400, "bad_request", `unknown query parameter "typ"`)
	requireError(t, f.do("GET", "/v1/sessions?store=s3://nowhere/", ""), 404, "not_found", `"s3://nowhere/"`, a, b)
}

// TestListSessionsNoComponents: no component, no store: an empty list.
func TestListSessionsNoComponents(t *testing.T) {
	a := startAPI(t, nil, nil)
	r := a.do("GET", "/v1/sessions", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "[]\n", string(r.body))
	requireError(t, a.do("GET", "/v1/replays/session_replay", ""), 404, "not_found", `no replay "session_replay" is registered, nor any other`, "control:")
	requireError(t, a.do("POST", "/v1/captures/session_capture/pause", ""), 404, "not_found", `no capture "session_capture" is registered, nor any other`)
}

// TestGetSession: metadata.json byte for byte as stored, from the first
// store that has it (the Session-Store header says which) or the one
// ?store= names; 404 when no store has it, 400 naming an id that is not a
// session id, before any store is touched.
func TestGetSession(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	stored := func(st sessionstore.Store, id string) []byte {
		rc, err := st.Get(ctx, sessionstore.MetadataKey(id))
		require.NoError(t, err)
		defer rc.Close()
		data, err := sessionstore.ReadAll(rc, 1<<20)
		require.NoError(t, err)
		return data
	}

	r := f.do("GET", "/v1/sessions/seed-1", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, stored(f.storeA, "seed-1"), r.body)
	assert.Equal(t, f.storeA.String(), r.header.Get("Session-Store"))

	first := min(f.storeA.String(), f.storeB.String())
	r = f.do("GET", "/v1/sessions/capture-1", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, first, r.header.Get("Session-Store"), "in both stores: the first in store order")
	for _, st := range []sessionstore.Store{f.storeA, f.storeB} {
		r = f.do("GET", "/v1/sessions/capture-1?store="+st.String(), "")
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, stored(st, "capture-1"), r.body)
		assert.Equal(t, st.String(), r.header.Get("Session-Store"))
	}

	// A metadata.json that does not parse is not passed on as JSON: the
	// answer says it is corrupt and how to repair it.
	requireError(t, f.do("GET", "/v1/sessions/broken", ""), 500, "internal", `metadata.json of session "broken" is corrupt`, "verify --repair")

	requireError(t, f.do("GET", "/v1/sessions/nope", ""), 404, "not_found", `session "nope" not found`, f.storeA.String(), f.storeB.String())
	requireError(t, f.do("GET", "/v1/sessions/seed-1?store="+f.storeB.String(), ""), 404, "not_found", `"seed-1"`)
	requireError(t, f.do("GET", "/v1/sessions/seed-1?store=x", ""), 404, "not_found", `store "x"`)
	requireError(t, f.do("GET", "/v1/sessions/seed-1?stor=x", ""), 400, "bad_request", `"stor"`)

	for _, tt := range []struct{ path, named string }{
		{"/v1/sessions/..%2F..%2Fetc%2Fpasswd", `"../../etc/passwd"`},
		{"/v1/sessions/..", ""}, // cleaned away by the router: not a session request
		{"/v1/sessions/.hidden", `".hidden"`},
		{"/v1/sessions/a%00b", `"a\x00b"`},
		{"/v1/sessions/a%5Cb", `"a\\b"`},
		{"/v1/sessions/CON", `"CON"`},
		{"/v1/sessions/" + strings.Repeat("a", 200), "200 bytes long"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := f.do("GET", tt.path, "")
			if tt.named == "" {
				assert.NotEqual(t, http.StatusOK, r.status)
				return
			}
			requireError(t, r, 400, "bad_request", "invalid session id", tt.named)
		})
	}
}

// TestCaptures: the list, one capture, and each action; every answer is
// the capture's state.
func TestCaptures(t *testing.T) {
	f := newFixture(t, nil)
	list := decode[[]control.CaptureState](t, f.do("GET", "/v1/captures", ""))
	require.Len(t, list, 2)
	assert.Equal(t, "session_capture", list[0].Component, "filled in from the registered id")
	assert.Equal(t, "session_capture/second", list[1].Component)
	assert.Equal(t, control.Recording, list[0].State)
	assert.Equal(t, f.storeA.String(), list[0].Store)

	st := decode[control.CaptureState](t, f.do("GET", "/v1/captures/session_capture", ""))
	assert.Equal(t, control.Recording, st.State)
	assert.Nil(t, st.Session)

	r := f.do("POST", "/v1/captures/session_capture/sessions",
		`{"id": "drill-1", "description": "checkout drill", "labels": {"team": "payments"},
		  "enabled_flags": ["paymentFailure"], "diagnostic_session_id": "diag-9"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	st = decode[control.CaptureState](t, r)
	require.NotNil(t, st.Session)
	assert.Equal(t, "drill-1", st.Session.SessionID)
	assert.Equal(t, "checkout drill", st.Session.Description)
	assert.Equal(t, []control.SessionRequest{{
		ID: "drill-1", Description: "checkout drill", Labels: map[string]string{"team": "payments"},
		EnabledFlags: []string{"paymentFailure"}, DiagnosticSessionID: "diag-9",
	}}, f.capture.requests())

	// An empty body asks for a session with every default.
	r = f.do("POST", "/v1/captures/session_capture/sessions", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	st = decode[control.CaptureState](t, r)
	assert.True(t, strings.HasPrefix(st.Session.SessionID, "capture-"), st.Session.SessionID)
	assert.Equal(t, control.SessionRequest{}, f.capture.requests()[1])

	st = decode[control.CaptureState](t, f.do("POST", "/v1/captures/session_capture/pause", ""))
	assert.Equal(t, control.Paused, st.State)
	assert.Equal(t, "session_capture", st.Component)
	st = decode[control.CaptureState](t, f.do("POST", "/v1/captures/session_capture/resume", ""))
	assert.Equal(t, control.Recording, st.State)
	assert.Equal(t, control.Recording, f.capture2.State(context.Background()).State, "the other capture untouched")
}

// TestSnapshotRoute: POST /v1/captures/{c}/snapshot hands the request to
// the capture and answers the window it will save; a bad duration is 400
// naming it.
func TestSnapshotRoute(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do("POST", "/v1/captures/session_capture/snapshot",
		`{"id": "incident-7", "before": "10m", "after": "2m", "description": "checkout errors",
		  "labels": {"severity": "page"}, "diagnostic_session_id": "diag-3"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	st := decode[control.SnapshotState](t, r)
	assert.Equal(t, "incident-7", st.Session)
	assert.Equal(t, 12*time.Minute, st.To.Sub(st.From))
	assert.Equal(t, []control.SnapshotRequest{{ID: "incident-7", Before: control.Duration(10 * time.Minute), After: control.Duration(2 * time.Minute),
		Description: "checkout errors", Labels: map[string]string{"severity": "page"}, DiagnosticSessionID: "diag-3"}}, f.capture.snapshots())

	r = f.do("POST", "/v1/captures/session_capture/snapshot", `{"before": "ten minutes"}`)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "ten minutes")
}

// alertmanagerPayload is an Alertmanager webhook notification (version 4)
// of one alert.
func alertmanagerPayload(status, startsAt string) string {
	return `{"version": "4", "groupKey": "{}:{alertname=\"HighErrorRate\"}", "status": "` + status + `",
	  "receiver": "recordreplay", "groupLabels": {"alertname": "HighErrorRate"},
	  "commonLabels": {"alertname": "HighErrorRate", "service": "checkout"}, "commonAnnotations": {},
	  "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
	  "alerts": [{"status": "` + status + `", "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"},
	    "annotations": {"summary": "checkout 5xx above 5%"}, "startsAt": "` + startsAt + `",
	    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph", "fingerprint": "c4a1b2d3e4f50617"}]}`
}

// TestAlerts: POST /v1/captures/{c}/alerts with Alertmanager's webhook
// payload saves the recorder's window once per firing alert, in a session
// named from the alert and its start, labelled with its labels: the same
// alert notified again makes no other session, a resolved one none; the
// plain form {labels, annotations} works too.
func TestAlerts(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do("POST", "/v1/captures/session_capture/alerts", alertmanagerPayload("firing", "2026-12-07T13:58:00Z"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	res := decode[control.AlertsResult](t, r)
	require.Len(t, res.Saved, 1)
	id := res.Saved[0].Session
	assert.Regexp(t, `^alert-HighErrorRate-20261207T135800Z-[0-9a-f]{8}$`, id)
	reqs := f.capture.snapshots()
	require.Len(t, reqs, 1)
	assert.Equal(t, control.Duration(30*time.Minute), reqs[0].Before, "the recorder's whole window")
	assert.Equal(t, map[string]string{"alertname": "HighErrorRate", "service": "checkout", "severity": "page"}, reqs[0].Labels)
	assert.Equal(t, "checkout 5xx above 5%", reqs[0].Description)

	r = f.do("POST", "/v1/captures/session_capture/alerts", alertmanagerPayload("firing", "2026-12-07T13:58:00Z"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	res = decode[control.AlertsResult](t, r)
	assert.Empty(t, res.Saved)
	assert.Equal(t, []string{id}, res.AlreadySaved, "the same alert again")
	r = f.do("POST", "/v1/captures/session_capture/alerts", alertmanagerPayload("resolved", "2026-12-07T13:58:00Z"))
	res = decode[control.AlertsResult](t, r)
	assert.Empty(t, res.Saved)
	assert.Equal(t, 1, res.Ignored, "resolved")
	assert.Len(t, f.capture.snapshots(), 1, "one session for the alert")

	r = f.do("POST", "/v1/captures/session_capture/alerts?before=5m&after=1m",
		`{"labels": {"alertname": "disk full!", "host": "db-1"}, "annotations": {"description": "99%"}, "startsAt": "2026-12-07T14:00:00Z"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	res = decode[control.AlertsResult](t, r)
	require.Len(t, res.Saved, 1)
	assert.Regexp(t, `^alert-disk-full--20261207T140000Z-[0-9a-f]{8}$`, res.Saved[0].Session)
	last := f.capture.snapshots()[1]
	assert.Equal(t, control.Duration(5*time.Minute), last.Before)
	assert.Equal(t, control.Duration(time.Minute), last.After)
	assert.Equal(t, "99%", last.Description)

	r = f.do("POST", "/v1/captures/session_capture/alerts", `{"alerts": "nope"}`)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	r = f.do("POST", "/v1/captures/session_capture/alerts?before=soon", alertmanagerPayload("firing", "2026-12-07T15:00:00Z"))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "soon")
}

// TestReplays: the list, one replay's status, start with overrides (and
// with none), stop.
func TestReplays(t *testing.T) {
	f := newFixture(t, nil)
	list := decode[[]control.ReplayStatus](t, f.do("GET", "/v1/replays", ""))
	require.Len(t, list, 2)
	assert.Equal(t, "session_replay", list[0].Component)
	assert.Equal(t, "session_replay/shard0", list[1].Component)
	assert.Equal(t, control.Idle, list[0].State)

	st := decode[control.ReplayStatus](t, f.do("GET", "/v1/replays/session_replay", ""))
	assert.Equal(t, control.Idle, st.State)

	r := f.do("POST", "/v1/replays/session_replay/start", `{
		"session": "capture-1", "selection": "latest", "speed": 4, "timestamps": "relative", "loops": 2,
		"max_duration": "90s", "phases": ["failure"], "time_range": {"start": "5m", "end": "10m"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	st = decode[control.ReplayStatus](t, r)
	assert.Equal(t, control.Running, st.State)
	assert.Equal(t, "capture-1", st.Session)
	assert.Equal(t, 4.0, st.Speed)
	reqs := f.replay.requests()
	require.Len(t, reqs, 1)
	req := reqs[0]
	assert.Equal(t, "capture-1", *req.Session)
	assert.Equal(t, "latest", *req.Selection)
	assert.Equal(t, 4.0, *req.Speed)
	assert.Equal(t, "relative", *req.Timestamps)
	assert.Equal(t, 2, *req.Loops)
	assert.Equal(t, control.Duration(90*time.Second), *req.MaxDuration)
	assert.Equal(t, []string{"failure"}, req.Phases)
	assert.Equal(t, &control.TimeRange{Start: "5m", End: "10m"}, req.TimeRange)

	st = decode[control.ReplayStatus](t, f.do("POST", "/v1/replays/session_replay/stop", ""))
	assert.Equal(t, control.Stopped, st.State)

	// An empty body (or {}) overrides nothing.
	for _, body := range []string{"", "{}", " \n"} {
		r = f.do("POST", "/v1/replays/session_replay/start", body)
		require.Equal(t, http.StatusOK, r.status, "%q: %s", body, r.body)
		assert.Equal(t, control.ReplayRequest{}, f.replay.requests()[len(f.replay.requests())-1])
		f.do("POST", "/v1/replays/session_replay/stop", "")
	}
	assert.Equal(t, control.Idle, f.shard.Status().State, "the other replay untouched")
}

// TestErrors: every error has its status, its code and a detail that says
// what was wrong; errors of a component's action carry its state.
func TestErrors(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		detail                   []string
	}{
		{"malformed JSON", "POST", "/v1/captures/session_capture/sessions", `{"id": "x",`, 400, "bad_request", []string{"malformed JSON"}},
		{"syntax error", "POST", "/v1/replays/session_replay/start", `{"speed": 4x}`, 400, "bad_request", []string{"malformed JSON at offset"}},
		{"not an object", "POST", "/v1/replays/session_replay/start", `[1, 2]`, 400, "bad_request", []string{"want a JSON object", "array"}},
		{"trailing data", "POST", "/v1/replays/session_replay/start", `{} {}`, 400, "bad_request", []string{"data after the JSON object"}},
		{"unknown field", "POST", "/v1/captures/session_capture/sessions", `{"id": "x", "descriptoin": "typo"}`, 400, "bad_request", []string{`unknown field "descriptoin"`}},
		{"unknown nested field", "POST", "/v1/replays/session_replay/start", `{"time_range": {"begin": "5m"}}`, 400, "bad_request", []string{`unknown field "begin"`}},
		{"wrong type", "POST", "/v1/captures/session_capture/sessions", `{"labels": ["a"]}`, 400, "bad_request", []string{"field labels", "want an object", "array"}},
		{"wrong type number", "POST", "/v1/replays/session_replay/start", `{"speed": "fast"}`, 400, "bad_request", []string{"field speed", "want a number", "string"}},
		{"wrong type nested", "POST", "/v1/replays/session_replay/start", `{"time_range": {"start": 5}}`, 400, "bad_request", []string{"field time_range.start", "want a string"}},
		{"bad duration", "POST", "/v1/replays/session_replay/start", `{"max_duration": "soon"}`, 400, "bad_request", []string{"field max_duration", `invalid duration "soon"`}},
		{"duration as number", "POST", "/v1/replays/session_replay/start", `{"max_duration": 90}`, 400, "bad_request", []string{"field max_duration", "want a string"}},
		{"field error capture", "POST", "/v1/captures/session_capture/sessions", `{"id": "../x"}`, 400, "bad_request", []string{"id: invalid session id", `"../x"`}},
		{"field error replay", "POST", "/v1/replays/session_replay/start", `{"speed": -1}`, 400, "bad_request", []string{"speed: -1 is negative"}},
		{"session not found", "POST", "/v1/replays/session_replay/start", `{"session": "missing"}`, 404, "not_found", []string{`session "missing"`, "not found"}},
		{"conflict resume", "POST", "/v1/captures/session_capture/resume", "", 409, "conflict", []string{"not paused"}},
		{"conflict stop", "POST", "/v1/replays/session_replay/stop", "", 409, "conflict", []string{"no replay is running"}},
		{"unknown capture", "POST", "/v1/captures/session_capture%2Fnope/pause", "", 404, "not_found", []string{`no capture "session_capture/nope"`, "registered: session_capture, session_capture/second"}},
		{"unknown capture get", "GET", "/v1/captures/nope", "", 404, "not_found", []string{`no capture "nope"`, "registered: session_capture, session_capture/second"}},
		{"unknown replay", "POST", "/v1/replays/session_replay%2Fshard9/start", "{}", 404, "not_found", []string{`no replay "session_replay/shard9"`, "registered: session_replay, session_replay/shard0"}},
		{"unknown replay get", "GET", "/v1/replays/session_capture", "", 404, "not_found", []string{"registered: session_replay, session_replay/shard0"}},
		{"unknown path", "GET", "/v1/nothing", "", 404, "not_found", []string{"no endpoint /v1/nothing"}},
		{"unknown action", "POST", "/v1/captures/session_capture/rewind", "", 405, "method_not_allowed", []string{"the actions are POST"}},
		{"unknown action escaped id", "POST", "/v1/captures/session_capture%2Fsecond/rewind", "", 405, "method_not_allowed", []string{"the actions are POST"}},
		{"unknown action long", "POST", "/v1/captures/session_capture/second/rewind", "", 404, "not_found", []string{"no endpoint"}},
		{"wrong method list", "DELETE", "/v1/captures", "", 405, "method_not_allowed", []string{"DELETE is not allowed on /v1/captures", "GET"}},
		{"wrong method action", "GET", "/v1/captures/session_capture/pause", "", 404, "not_found", []string{`no capture "session_capture/pause"`}},
		{"wrong method start", "PUT", "/v1/replays/session_replay/start", "{}", 405, "method_not_allowed", []string{"PUT is not allowed", "POST"}},
		{"wrong method session", "POST", "/v1/sessions/seed-1", "", 405, "method_not_allowed", []string{"GET"}},
		{"body too large", "POST", "/v1/replays/session_replay/start", `{"phases": ["` + strings.Repeat("a", 1<<20) + `"]}`, 413, "too_large", []string{"1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.method, tt.path, tt.body)
			e := requireError(t, r, tt.status, tt.code, tt.detail...)
			if tt.status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, r.header.Get("Allow"))
			}
			if tt.code == "conflict" || strings.HasPrefix(tt.name, "field error") {
				assert.NotNil(t, e.State, "an action's error carries the component's state")
			}
		})
	}
	assert.Empty(t, f.replay.requests(), "no refused request reached the replay")

	// Anything else a component says is 500, with its message.
	f.capture.mu.Lock()
	f.capture.err = context.DeadlineExceeded
	f.capture.mu.Unlock()
	requireError(t, f.do("POST", "/v1/captures/session_capture/pause", ""), 500, "internal", "context deadline exceeded")
	f.capture.mu.Lock()
	f.capture.err = control.Conflict("a new session is opening")
	f.capture.mu.Unlock()
	e := requireError(t, f.do("POST", "/v1/captures/session_capture/sessions", "{}"), 409, "conflict", "a new session is opening")
	assert.Equal(t, "session_capture", e.State.(map[string]any)["component"])
}

// TestComponentIDWithSlash: the id session_replay/shard0 is addressed
// with its "/" escaped (%2F) or as it is; a "/" inside a name is escaped.
func TestComponentIDWithSlash(t *testing.T) {
	f := newFixture(t, nil)
	slashed := newFakeReplay(f.storeB)
	f.register(t, "session_replay/a/b", slashed) // a name may hold a "/"
	for _, c := range []string{"session_replay%2Fshard0", "session_replay/shard0", "session_replay%2fshard0"} {
		t.Run(c, func(t *testing.T) {
			st := decode[control.ReplayStatus](t, f.do("GET", "/v1/replays/"+c, ""))
			assert.Equal(t, "session_replay/shard0", st.Component)
			r := f.do("POST", "/v1/replays/"+c+"/start", `{"speed": 2}`)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Equal(t, control.Running, decode[control.ReplayStatus](t, r).State)
			r = f.do("POST", "/v1/replays/"+c+"/stop", "")
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		})
	}
	assert.Equal(t, control.Idle, f.replay.Status().State, "session_replay itself untouched")
	assert.Len(t, f.shard.requests(), 3)

	for _, c := range []string{"session_replay%2Fa%2Fb", "session_replay/a%2Fb"} {
		t.Run(c, func(t *testing.T) {
			r := f.do("POST", "/v1/replays/"+c+"/start", "")
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			f.do("POST", "/v1/replays/"+c+"/stop", "")
		})
	}
	assert.Len(t, slashed.requests(), 2)
	// Unescaped, a/b would be three segments: not a route.
	requireError(t, f.do("POST", "/v1/replays/session_replay/a/b/start", ""), 404, "not_found")

	for _, c := range []string{"session_capture%2Fsecond", "session_capture/second"} {
		t.Run(c, func(t *testing.T) {
			st := decode[control.CaptureState](t, f.do("POST", "/v1/captures/"+c+"/pause", ""))
			assert.Equal(t, "session_capture/second", st.Component)
			assert.Equal(t, control.Paused, st.State)
			decode[control.CaptureState](t, f.do("POST", "/v1/captures/"+c+"/resume", ""))
			st = decode[control.CaptureState](t, f.do("POST", "/v1/captures/"+c+"/sessions", `{"id": "s-2"}`))
			assert.Equal(t, "s-2", st.Session.SessionID)
			assert.Equal(t, "session_capture/second", decode[control.CaptureState](t, f.do("GET", "/v1/captures/"+c, "")).Component)
		})
	}
	assert.Equal(t, control.Recording, f.capture.State(context.Background()).State)
}

// TestGetOverview: what a session holds, from the first store that has it:
// its objects counted and read; 400 for a bad id or bucket count, 404 for
// a session no store has.
func TestGetOverview(t *testing.T) {
	f := newFixture(t, nil)
	c0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, f.storeA, "with-data", c0)
	for i := range 3 {
		at := c0.Add(time.Duration(i) * time.Second)
		w.Traces(at, sessiontest.Traces("checkout", i, 2, at))
	}
	w.Complete()

	r := f.do("GET", "/v1/sessions/with-data/overview?buckets=3", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, f.storeA.String(), r.header.Get("Session-Store"))
	o := decode[sessionoverview.Overview](t, r)
	assert.Equal(t, map[sessionstore.Signal][]int64{sessionstore.SignalTraces: {2, 2, 2}}, o.Timeline)
	assert.Equal(t, []sessionoverview.Service{{Name: "checkout", Spans: 6}}, o.Services)
	assert.Equal(t, map[sessionstore.Signal]int64{sessionstore.SignalTraces: 3}, o.Objects)

	empty := decode[sessionoverview.Overview](t, f.do("GET", "/v1/sessions/seed-1/overview", ""))
	assert.Empty(t, empty.Objects)
	requireError(t, f.do("GET", "/v1/sessions/nope/overview", ""), 404, "not_found", `session "nope" not found`)
	requireError(t, f.do("GET", "/v1/sessions/..%2Fx/overview", ""), 400, "bad_request", "invalid session id")
	requireError(t, f.do("GET", "/v1/sessions/seed-1/overview?buckets=0", ""), 400, "bad_request", `buckets "0"`)
	requireError(t, f.do("GET", "/v1/sessions/seed-1/overview?bucket=5", ""), 400, "bad_request", `"bucket"`)
}

// TestAnnotateSession: POST /v1/sessions/{id}/annotations stores the
// annotations in the first store that has the session (or ?store=) and
// answers the metadata.json it rewrote; bad fields are 400 naming them, a
// session no store has 404, a hostile id 400.
func TestAnnotateSession(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	body := `{"phases": [{"name": "incident", "from": "1m", "to": "2026-11-28T23:05:00Z"}], "labels": {"ticket": "INC-1"}, "flags": ["paymentFailure"], "notes": ["the checkout broke"]}`
	r := f.do("POST", "/v1/sessions/seed-1/annotations", body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, f.storeA.String(), r.header.Get("Session-Store"))
	got := decode[sessionstore.Metadata](t, r)
	t0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	want := &sessionstore.Annotations{
		Phases: []sessionstore.AnnotatedPhase{{Name: "incident", Start: t0.Add(time.Minute), End: t0.Add(5 * time.Minute)}},
		Labels: map[string]string{"ticket": "INC-1"},
		Flags:  []string{"paymentFailure"},
		Notes:  []string{"the checkout broke"},
	}
	assert.Equal(t, want, got.Annotations)
	assert.Equal(t, sessionstore.StatusCompleted, got.Status)
	stored, err := sessionstore.ReadMetadata(ctx, f.storeA, "seed-1")
	require.NoError(t, err)
	assert.Equal(t, want, stored.Annotations)
	assert.Equal(t, "INC-1", stored.Labels["ticket"])

	r = f.do("POST", "/v1/sessions/capture-1/annotations?store="+f.storeB.String(), `{"notes": ["in B"]}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	inB, err := sessionstore.ReadMetadata(ctx, f.storeB, "capture-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"in B"}, inB.Annotations.Notes)
	inA, err := sessionstore.ReadMetadata(ctx, f.storeA, "capture-1")
	require.NoError(t, err)
	assert.Nil(t, inA.Annotations, "only the store asked for")

	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations", `{"phases": [{"name": "p", "from": "5m", "to": "1m"}]}`), 400, "bad_request", "phases[0]", "is not before")
	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations", `{"phases": [{"name": "", "from": "1m", "to": "2m"}]}`), 400, "bad_request", "phases[0].name")
	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations", `{"phases": [{"name": "p", "from": "soon", "to": "2m"}]}`), 400, "bad_request", "phases[0].from", `"soon"`)
	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations", `{"note": ["typo"]}`), 400, "bad_request", `"note"`)
	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations", `{}`), 400, "bad_request", "nothing to annotate")
	requireError(t, f.do("POST", "/v1/sessions/nope/annotations", `{"notes": ["n"]}`), 404, "not_found", `session "nope" not found`)
	requireError(t, f.do("POST", "/v1/sessions/seed-1/annotations?store=x", `{"notes": ["n"]}`), 404, "not_found", `store "x"`)
	requireError(t, f.do("POST", "/v1/sessions/..%2Fetc/annotations", `{"notes": ["n"]}`), 400, "bad_request", "invalid session id", `"../etc"`)
	requireError(t, f.do("GET", "/v1/sessions/seed-1/annotations", ""), 405, "method_not_allowed", "POST")
}

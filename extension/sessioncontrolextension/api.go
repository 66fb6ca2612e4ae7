package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionoverview"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// routes is the API. A component id is type[/name] (session_replay/shard0);
// in a path it is one segment with its "/" escaped as %2F
// (session_replay%2Fshard0), or two segments written as they are
// (session_replay/shard0). A type never holds a "/", so the two-segment
// form is unambiguous; a "/" inside the name is %2F in either form.
// Reads are GET and actions POST, so GET /v1/replays/a/start reads replay
// "a/start" and POST /v1/replays/a/start starts replay "a".
func (e *controlExtension) routes() http.Handler {
	return jsonFallback(e.mux())
}

func (e *controlExtension) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions", e.listSessions)
	mux.HandleFunc("GET /v1/sessions/{id}", e.getSession)
	mux.HandleFunc("GET /v1/sessions/{id}/overview", e.getOverview)
	mux.HandleFunc("POST /v1/sessions/{id}/annotations", e.annotateSession)
	mux.HandleFunc("GET /v1/captures", e.listCaptures)
	mux.HandleFunc("GET /v1/replays", e.listReplays)
	for _, c := range []string{"{component}", "{type}/{name}"} {
		mux.HandleFunc("GET /v1/captures/"+c, e.getCapture)
		mux.HandleFunc("POST /v1/captures/"+c+"/sessions", e.newSession)
		mux.HandleFunc("POST /v1/captures/"+c+"/pause", e.pauseCapture)
		mux.HandleFunc("POST /v1/captures/"+c+"/resume", e.resumeCapture)
		mux.HandleFunc("POST /v1/captures/"+c+"/snapshot", e.snapshot)
		mux.HandleFunc("POST /v1/captures/"+c+"/alerts", e.alerts)
		mux.HandleFunc("GET /v1/replays/"+c, e.getReplay)
		mux.HandleFunc("POST /v1/replays/"+c+"/start", e.startReplay)
		mux.HandleFunc("POST /v1/replays/"+c+"/stop", e.stopReplay)
	}
	return mux
}

// jsonFallback answers what mux has no handler for (an unknown path, a
// method the path does not take) in the API's error shape instead of
// ServeMux's plain text.
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" { // a route, or a redirect to the clean path of one
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			detail := fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.EscapedPath(), allow)
			if r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, "/v1/captures/") || strings.HasPrefix(r.URL.Path, "/v1/replays/")) {
				// POST .../<type>/<name> is an unknown action, or an id
				// with a "/" and no action.
				detail += "; the actions are POST /v1/captures/{component}/sessions, /pause, /resume, /snapshot, /alerts " +
					"and POST /v1/replays/{component}/start, /stop"
			}
			writeError(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, detail)
		case http.StatusNotFound:
			writeError(w, r, http.StatusNotFound, codeNotFound, fmt.Sprintf("no endpoint %s (the API serves "+
				"/v1/sessions, /v1/captures and /v1/replays; see the session_control README)", r.URL.EscapedPath()))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// headerRecorder keeps the status and headers of a response and drops its
// body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

// sessionEntry is one session of GET /v1/sessions.
type sessionEntry struct {
	Store    string                 `json:"store"`
	ID       string                 `json:"id"`
	Metadata *sessionstore.Metadata `json:"metadata,omitempty"`
	// Error says why the metadata could not be read.
	Error string `json:"error,omitempty"`
}

var (
	sessionTypes    = []string{string(sessionstore.SessionTypeCapture), string(sessionstore.SessionTypeSeed), string(sessionstore.SessionTypeTraining)}
	sessionStatuses = []string{string(sessionstore.StatusActive), string(sessionstore.StatusCompleted), string(sessionstore.StatusFailed)}
)

// listSessions lists the sessions of every store a registered component
// uses, filtered by type, status and store.
func (e *controlExtension) listSessions(w http.ResponseWriter, r *http.Request) {
	q, ok := e.query(w, r, "type", "status", "store")
	if !ok {
		return
	}
	typ, status := q.Get("type"), q.Get("status")
	if typ != "" && !slices.Contains(sessionTypes, typ) {
		writeError(w, r, http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("type %q: want one of %s", typ, strings.Join(sessionTypes, ", ")))
		return
	}
	if status != "" && !slices.Contains(sessionStatuses, status) {
		writeError(w, r, http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("status %q: want one of %s", status, strings.Join(sessionStatuses, ", ")))
		return
	}
	stores, ok := e.pickStores(w, r, q.Get("store"))
	if !ok {
		return
	}
	out := []sessionEntry{}
	for _, st := range stores {
		list, err := sessionstore.ListSessions(r.Context(), st)
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, codeInternal,
				fmt.Sprintf("list sessions of %s: %v (?store= lists another store alone)", st, err))
			return
		}
		for _, s := range list {
			if s.Err != nil {
				// Its type and status are unknown: it matches no filter on them.
				if typ == "" && status == "" {
					out = append(out, sessionEntry{Store: st.String(), ID: s.ID, Error: s.Err.Error()})
				}
				continue
			}
			if (typ != "" && string(s.Metadata.SessionType) != typ) || (status != "" && string(s.Metadata.Status) != status) {
				continue
			}
			out = append(out, sessionEntry{Store: st.String(), ID: s.ID, Metadata: s.Metadata})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getSession answers a session's metadata.json as stored, from the first
// store (in store order) that has it; the Session-Store header names it.
func (e *controlExtension) getSession(w http.ResponseWriter, r *http.Request) {
	id, _, stores, ok := e.sessionRequest(w, r)
	if !ok {
		return
	}
	e.fromFirstStore(w, r, stores, id, "read metadata of", func(st sessionstore.Store) (func(), error) {
		data, err := sessionstore.ReadMetadataBytes(r.Context(), st, id)
		if err == nil && !json.Valid(data) {
			err = fmt.Errorf("metadata.json of session %q is corrupt (not JSON): run `sessionctl verify --repair %s`", id, id)
		}
		return func() { writeBody(w, http.StatusOK, data) }, err
	})
}

// getOverview answers what a session holds (sessionoverview.Compute),
// read from the first store (in store order) that has it: items over
// capture time per signal in ?buckets= buckets (1 to 1000, default 60),
// services, phases, objects, bad objects and writers.
func (e *controlExtension) getOverview(w http.ResponseWriter, r *http.Request) {
	id, q, stores, ok := e.sessionRequest(w, r, "buckets")
	if !ok {
		return
	}
	opts := sessionoverview.Options{}
	if v := q.Get("buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("buckets %q: want a number from 1 to 1000", v))
			return
		}
		opts.Buckets = n
	}
	e.fromFirstStore(w, r, stores, id, "overview of", func(st sessionstore.Store) (func(), error) {
		o, err := sessionoverview.Compute(r.Context(), st, id, opts)
		return func() { writeJSON(w, http.StatusOK, o) }, err
	})
}

// annotateSession adds annotations (phases by event time, labels, flags,
// notes) to a session in the first store (in store order) that has it, or
// the one ?store= names, and answers its metadata.json as rewritten; the
// Session-Store header names the store.
func (e *controlExtension) annotateSession(w http.ResponseWriter, r *http.Request) {
	id, _, stores, ok := e.sessionRequest(w, r)
	if !ok {
		return
	}
	var req sessionstore.AnnotationRequest
	if !decodeBody(w, r, &req) {
		return
	}
	e.fromFirstStore(w, r, stores, id, "annotate", func(st sessionstore.Store) (func(), error) {
		m, err := sessionstore.Annotate(r.Context(), st, id, req, "session_control")
		return func() { writeJSON(w, http.StatusOK, m) }, err
	})
}

// sessionRequest reads what every request about one session starts
// with: its query (?store= and params), its session id (400 if invalid,
// before any store is touched) and the stores to look in (404 for a
// ?store= that is none of them). ok false: the answer is written.
func (e *controlExtension) sessionRequest(w http.ResponseWriter, r *http.Request, params ...string) (id string, q url.Values, stores []sessionstore.Store, ok bool) {
	if q, ok = e.query(w, r, append([]string{"store"}, params...)...); !ok {
		return "", nil, nil, false
	}
	id = r.PathValue("id")
	if err := sessionstore.ValidateSessionID(id); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return "", nil, nil, false
	}
	stores, ok = e.pickStores(w, r, q.Get("store"))
	return id, q, stores, ok
}

// fromFirstStore answers a request about session id from the first of
// stores (in store order) that has it: do reads or changes the session in
// one store and returns how to answer; the Session-Store header names the
// store. A store without the session (ErrNotFound) passes to the next; bad
// input (a FieldError, an invalid id) is 400 at once; other failures are
// 500 once no store has answered, naming each (what: "read metadata of");
// no store with the session is 404.
func (e *controlExtension) fromFirstStore(w http.ResponseWriter, r *http.Request, stores []sessionstore.Store, id, what string,
	do func(sessionstore.Store) (func(), error),
) {
	var failed []string
	for _, st := range stores {
		answer, err := do(st)
		if err == nil {
			w.Header().Set("Session-Store", st.String())
			answer()
			return
		}
		if _, bad := errors.AsType[*control.FieldError](err); bad || errors.Is(err, sessionstore.ErrInvalidSessionID) {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		if !errors.Is(err, sessionstore.ErrNotFound) {
			failed = append(failed, fmt.Sprintf("%s: %v", st, err))
		}
	}
	if len(failed) > 0 {
		writeError(w, r, http.StatusInternalServerError, codeInternal,
			fmt.Sprintf("%s session %q: %s", what, id, strings.Join(failed, "; ")))
		return
	}
	writeError(w, r, http.StatusNotFound, codeNotFound, fmt.Sprintf("session %q not found in %s", id, storeNames(stores)))
}

// query returns r's query parameters, refusing any but allowed (and an
// authenticator's request parameters), so that a typo'd filter fails
// instead of being ignored.
func (e *controlExtension) query(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q := r.URL.Query()
	if e.cfg.ServerConfig.Auth.HasValue() {
		allowed = append(allowed, e.cfg.ServerConfig.Auth.Get().RequestParameters...)
	}
	for k := range q {
		if !slices.Contains(allowed, k) {
			writeError(w, r, http.StatusBadRequest, codeBadRequest,
				fmt.Sprintf("unknown query parameter %q (this endpoint takes %s)", k, strings.Join(allowed, ", ")))
			return nil, false
		}
	}
	return q, true
}

// pickStores returns the stores of the registered components, or the one
// named by ?store=.
func (e *controlExtension) pickStores(w http.ResponseWriter, r *http.Request, name string) ([]sessionstore.Store, bool) {
	stores := e.stores()
	if name == "" {
		return stores, true
	}
	for _, st := range stores {
		if st.String() == name {
			return []sessionstore.Store{st}, true
		}
	}
	writeError(w, r, http.StatusNotFound, codeNotFound, fmt.Sprintf("no registered component uses store %q; stores: %s", name, storeNames(stores)))
	return nil, false
}

func storeNames(stores []sessionstore.Store) string {
	if len(stores) == 0 {
		return "none (no component is registered)"
	}
	names := make([]string, len(stores))
	for i, st := range stores {
		names[i] = st.String()
	}
	return strings.Join(names, ", ")
}

// componentName is the component id of the request path, in either form.
func componentName(r *http.Request) string {
	if c := r.PathValue("component"); c != "" {
		return c
	}
	return r.PathValue("type") + "/" + r.PathValue("name")
}

func (e *controlExtension) listCaptures(w http.ResponseWriter, r *http.Request) {
	out := []control.CaptureState{}
	for _, c := range e.captures.all() {
		out = append(out, captureState(r.Context(), c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *controlExtension) getCapture(w http.ResponseWriter, r *http.Request) {
	if c, ok := e.capture(w, r); ok {
		writeJSON(w, http.StatusOK, captureState(r.Context(), c))
	}
}

func (e *controlExtension) newSession(w http.ResponseWriter, r *http.Request) {
	c, ok := e.capture(w, r)
	if !ok {
		return
	}
	var req control.SessionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	st, err := c.c.NewSession(r.Context(), req)
	respondCapture(w, r, c, st, err)
}

func (e *controlExtension) pauseCapture(w http.ResponseWriter, r *http.Request) {
	if c, ok := e.capture(w, r); ok {
		st, err := c.c.Pause(r.Context())
		respondCapture(w, r, c, st, err)
	}
}

func (e *controlExtension) resumeCapture(w http.ResponseWriter, r *http.Request) {
	if c, ok := e.capture(w, r); ok {
		st, err := c.c.Resume(r.Context())
		respondCapture(w, r, c, st, err)
	}
}

// snapshot saves a capture's recorder window into a session of its own.
func (e *controlExtension) snapshot(w http.ResponseWriter, r *http.Request) {
	c, ok := e.capture(w, r)
	if !ok {
		return
	}
	var req control.SnapshotRequest
	if !decodeBody(w, r, &req) {
		return
	}
	st, err := c.c.Snapshot(r.Context(), req)
	if err != nil {
		writeComponentError(w, r, err, captureState(r.Context(), c))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// alert is one alert of an Alertmanager webhook notification (the fields
// used), or the plain form {labels, annotations, startsAt}.
type alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
}

// alerts saves the capture's recorder window for each firing alert of an
// Alertmanager webhook notification ({"alerts": [...]}) or of a plain
// {labels, annotations[, startsAt]}: a snapshot named from the alert and
// its start (control.AlertSessionID), labelled with its labels, described
// by its summary or description annotation. A notification repeating an
// alert finds its snapshot saved and makes no other. The window is the
// recorder's whole window back from now, or ?before=, and ?after= on.
func (e *controlExtension) alerts(w http.ResponseWriter, r *http.Request) {
	c, ok := e.capture(w, r)
	if !ok {
		return
	}
	var body struct {
		Alerts []alert `json:"alerts"`
		alert
	}
	if !decodeWebhook(w, r, &body) {
		return
	}
	if len(body.Alerts) == 0 && len(body.Labels) > 0 {
		body.alert.Status = "firing"
		body.Alerts = []alert{body.alert}
	}
	state := captureState(r.Context(), c)
	before, after := state.RecorderWindow, control.Duration(0)
	for name, d := range map[string]*control.Duration{"before": &before, "after": &after} {
		if v := r.URL.Query().Get(name); v != "" {
			if err := d.UnmarshalText([]byte(v)); err != nil {
				writeComponentError(w, r, &control.FieldError{Field: name, Err: err}, state)
				return
			}
		}
	}
	res := control.AlertsResult{Saved: []control.SnapshotState{}, AlreadySaved: []string{}}
	for _, a := range body.Alerts {
		if a.Status != "firing" {
			res.Ignored++
			continue
		}
		start := a.StartsAt
		if start.IsZero() {
			start = time.Now() // the plain form without startsAt: this post is the occurrence
		}
		id := control.AlertSessionID(a.Labels, start)
		desc := a.Annotations["summary"]
		if desc == "" {
			desc = a.Annotations["description"]
		}
		st, err := c.c.Snapshot(r.Context(), control.SnapshotRequest{ID: id, Before: before, After: after, Description: desc, Labels: a.Labels})
		if err != nil {
			if _, rerr := sessionstore.ReadMetadata(r.Context(), c.c.Store(), id); rerr == nil {
				res.AlreadySaved = append(res.AlreadySaved, id) // an earlier notification of this alert saved it
				continue
			}
			writeComponentError(w, r, err, state)
			return
		}
		res.Saved = append(res.Saved, st)
	}
	writeJSON(w, http.StatusOK, res)
}

// capture finds the capture of the request path, or answers 404.
func (e *controlExtension) capture(w http.ResponseWriter, r *http.Request) (*entry[control.Capture], bool) {
	name := componentName(r)
	c, ok := e.captures.get(name)
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, e.captures.notFound(name))
	}
	return c, ok
}

func captureState(ctx context.Context, c *entry[control.Capture]) control.CaptureState {
	st := c.c.State(ctx)
	if st.Component == "" {
		st.Component = c.id.String()
	}
	return st
}

// respondCapture answers an action's result; an error carries the
// capture's current state.
func respondCapture(w http.ResponseWriter, r *http.Request, c *entry[control.Capture], st control.CaptureState, err error) {
	if err != nil {
		writeComponentError(w, r, err, captureState(r.Context(), c))
		return
	}
	if st.Component == "" {
		st.Component = c.id.String()
	}
	writeJSON(w, http.StatusOK, st)
}

func (e *controlExtension) listReplays(w http.ResponseWriter, r *http.Request) {
	out := []control.ReplayStatus{}
	for _, rp := range e.replays.all() {
		out = append(out, replayStatus(rp))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *controlExtension) getReplay(w http.ResponseWriter, r *http.Request) {
	if rp, ok := e.replay(w, r); ok {
		writeJSON(w, http.StatusOK, replayStatus(rp))
	}
}

func (e *controlExtension) startReplay(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.replay(w, r)
	if !ok {
		return
	}
	var req control.ReplayRequest
	if !decodeBody(w, r, &req) {
		return
	}
	st, err := rp.c.StartReplay(r.Context(), req)
	respondReplay(w, r, rp, st, err)
}

func (e *controlExtension) stopReplay(w http.ResponseWriter, r *http.Request) {
	if rp, ok := e.replay(w, r); ok {
		st, err := rp.c.StopReplay(r.Context())
		respondReplay(w, r, rp, st, err)
	}
}

// replay finds the replay of the request path, or answers 404.
func (e *controlExtension) replay(w http.ResponseWriter, r *http.Request) (*entry[control.Replay], bool) {
	name := componentName(r)
	rp, ok := e.replays.get(name)
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, e.replays.notFound(name))
	}
	return rp, ok
}

func replayStatus(rp *entry[control.Replay]) control.ReplayStatus {
	st := rp.c.Status()
	if st.Component == "" {
		st.Component = rp.id.String()
	}
	return st
}

func respondReplay(w http.ResponseWriter, r *http.Request, rp *entry[control.Replay], st control.ReplayStatus, err error) {
	if err != nil {
		writeComponentError(w, r, err, replayStatus(rp))
		return
	}
	if st.Component == "" {
		st.Component = rp.id.String()
	}
	writeJSON(w, http.StatusOK, st)
}

// writeComponentError answers the error of a component's action by the
// contract's kinds: a FieldError is 400, ErrNotFound 404, ErrConflict 409,
// anything else 500. state is the component's state after the failure.
func writeComponentError(w http.ResponseWriter, r *http.Request, err error, state any) {
	status, code := http.StatusInternalServerError, codeInternal
	if _, ok := errors.AsType[*control.FieldError](err); ok {
		status, code = http.StatusBadRequest, codeBadRequest
	} else if errors.Is(err, control.ErrNotFound) {
		status, code = http.StatusNotFound, codeNotFound
	} else if errors.Is(err, control.ErrConflict) {
		status, code = http.StatusConflict, codeConflict
	}
	writeErrorState(w, r, status, code, err.Error(), state)
}

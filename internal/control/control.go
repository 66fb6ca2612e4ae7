// Package control is the contract between the session_control extension
// (the runtime control API) and the components that opt in to it with
// `control: session_control`: session_capture exporters and session_replay
// receivers register with the extension at Start, through the host, the
// way storage extensions are found (package controlreg), and unregister at
// Shutdown. The extension never reaches into a pipeline by itself; it only
// calls what a component registered. This package holds the interfaces and
// the request and answer types only, with no collector dependency, so that
// sessionctl (the API's client) stays small.
package control // import "github.com/recordreplay/otelcol-recordreplay/internal/control"

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Capture is a session_capture exporter under control.
type Capture interface {
	// State is the exporter's state and its current own session.
	State(ctx context.Context) CaptureState
	// NewSession completes the current own session (if one is open) and
	// opens a new one described by req; it returns the new state.
	NewSession(ctx context.Context, req SessionRequest) (CaptureState, error)
	// Pause makes the exporter count and drop the data it gets (never an
	// error upstream) until Resume. Pausing a paused exporter is
	// ErrConflict, as is resuming a recording one.
	Pause(ctx context.Context) (CaptureState, error)
	Resume(ctx context.Context) (CaptureState, error)
	// Snapshot saves the window of a capture with a recorder into a
	// session of its own (ErrConflict without a recorder, or for a session
	// id that exists); it answers at once, and the session completes when
	// the window's end has passed.
	Snapshot(ctx context.Context, req SnapshotRequest) (SnapshotState, error)
	// Store is where the exporter writes sessions.
	Store() sessionstore.Store
}

// SessionRequest describes the session POST /v1/captures/{c}/sessions opens.
type SessionRequest struct {
	// ID of the new session; empty: generated (capture-<UTC time>-<hex>).
	ID                  string            `json:"id,omitempty"`
	Description         string            `json:"description,omitempty"`
	Labels              map[string]string `json:"labels,omitempty"`
	EnabledFlags        []string          `json:"enabled_flags,omitempty"`
	DiagnosticSessionID string            `json:"diagnostic_session_id,omitempty"`
}

// SnapshotRequest asks POST /v1/captures/{c}/snapshot for the items
// accepted in [now-Before, now+After].
type SnapshotRequest struct {
	// ID of the snapshot session; empty: generated (snapshot-<UTC time>-<hex>).
	ID                  string            `json:"id,omitempty"`
	Before              Duration          `json:"before"`
	After               Duration          `json:"after,omitempty"`
	Description         string            `json:"description,omitempty"`
	Labels              map[string]string `json:"labels,omitempty"`
	DiagnosticSessionID string            `json:"diagnostic_session_id,omitempty"`
}

// SnapshotState is what the API answers to a snapshot: the session that
// will hold the window, and the window.
type SnapshotState struct {
	Session  string    `json:"session"`
	Recorder string    `json:"recorder"` // the rolling session it is saved from
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
}

// AlertsResult is what POST /v1/captures/{c}/alerts did with the alerts of
// a notification: the snapshots it asked for, the ids of those saved by an
// earlier notification of the same alert, and how many alerts were not
// firing.
type AlertsResult struct {
	Saved        []SnapshotState `json:"saved"`
	AlreadySaved []string        `json:"already_saved"`
	Ignored      int             `json:"ignored"`
}

// AlertSessionID names the snapshot of an alert: alert-<alertname>-<its
// start, UTC>-<8 hex of its labels>, the same for every notification of
// one alert, different for alerts of one name with other labels.
func AlertSessionID(labels map[string]string, startsAt time.Time) string {
	name := []byte(labels["alertname"])
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			name[i] = '-'
		}
	}
	if len(name) > 64 {
		name = name[:64]
	}
	if len(name) == 0 {
		name = []byte("unnamed")
	}
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("alert-%s-%s-%x", name, startsAt.UTC().Format("20060102T150405Z"), h.Sum(nil)[:4])
}

// Capture states.
const (
	Recording = "recording"
	Paused    = "paused"
)

// CaptureState is what the API says of a capture.
type CaptureState struct {
	Component string `json:"component"`
	State     string `json:"state"` // recording | paused
	Store     string `json:"store"`
	// Session is the current own session's metadata (nil until the first
	// data or a new session opens it).
	Session *sessionstore.Metadata `json:"session"`
	// DroppedWhilePaused counts the items dropped while paused, per
	// signal, since the collector started.
	DroppedWhilePaused map[string]int64 `json:"dropped_while_paused"`
	// RecorderWindow is the window of the capture's flight recorder (0:
	// none): what a snapshot may reach back to.
	RecorderWindow Duration `json:"recorder_window,omitempty"`
	// DroppedOnOverflow counts the items dropped because the sending queue
	// was full (backpressure: drop), per signal, since the collector
	// started; each is also in its session's droppedItems.
	DroppedOnOverflow map[string]int64 `json:"dropped_on_overflow"`
}

// Replay is a session_replay receiver under control.
type Replay interface {
	// Status is the replay's state and progress.
	Status() ReplayStatus
	// StartReplay starts a replay with the receiver's configuration
	// changed by req; a replay that is running is ErrConflict. (Not Start:
	// that is the component's.)
	StartReplay(ctx context.Context, req ReplayRequest) (ReplayStatus, error)
	// StopReplay stops the running replay (ErrConflict if none runs) and
	// waits until it has stopped.
	StopReplay(ctx context.Context) (ReplayStatus, error)
	// Store is where the receiver reads sessions.
	Store() sessionstore.Store
}

// ReplayRequest overrides settings of the receiver's configuration for one
// replay; unset fields keep the configured values.
type ReplayRequest struct {
	Session     *string    `json:"session,omitempty"`
	Sessions    []string   `json:"sessions,omitempty"`
	Selection   *string    `json:"selection,omitempty"`
	Speed       *float64   `json:"speed,omitempty"`
	Timestamps  *string    `json:"timestamps,omitempty"`
	Loops       *int       `json:"loops,omitempty"`
	MaxDuration *Duration  `json:"max_duration,omitempty"`
	Phases      []string   `json:"phases,omitempty"`
	TimeRange   *TimeRange `json:"time_range,omitempty"`
	Copies      *int       `json:"copies,omitempty"`
}

// TimeRange is time_range: RFC 3339 times or offsets from the session start.
type TimeRange struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Replay states.
const (
	Idle     = "idle"     // start: manual, not started yet
	Waiting  = "waiting"  // started, waiting for start_at / start_delay
	Running  = "running"  // replaying
	Finished = "finished" // over by itself: loops done, max_duration, nothing to replay
	Stopped  = "stopped"  // stopped by the API (or the collector's shutdown)
)

// ReplayStatus is what the API says of a replay.
type ReplayStatus struct {
	Component    string    `json:"component"`
	State        string    `json:"state"`
	Session      string    `json:"session,omitempty"`
	Pass         int       `json:"pass"`
	ObjectsDone  int64     `json:"objects_done"`
	ObjectsTotal int64     `json:"objects_total"`
	ItemsDone    int64     `json:"items_done"`
	ItemsTotal   int64     `json:"items_total"`
	Percent      float64   `json:"percent"`
	LatenessP50  Duration  `json:"lateness_p50"`
	LatenessP99  Duration  `json:"lateness_p99"`
	ETA          Duration  `json:"eta"`
	Speed        float64   `json:"speed"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
}

// Duration is a time.Duration written as in the configuration ("1m30s").
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration ("90s", "1h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h)", b)
	}
	*d = Duration(v)
	return nil
}

// ErrConflict is a request the component's state does not allow (409):
// starting a running replay, pausing a paused capture.
var ErrConflict = errors.New("conflict")

// ErrNotFound is a session that does not exist (404).
var ErrNotFound = errors.New("not found")

// FieldError is bad input in one field of a request (400). It is the
// configuration's field error: an override is checked by the Validate of
// the setting it overrides, and answered under the setting's name.
type FieldError = confutil.FieldError

// Conflict returns an error that is ErrConflict and says why (the message
// alone: the API's error code already says "conflict").
func Conflict(format string, args ...any) error {
	return &kindError{kind: ErrConflict, err: fmt.Errorf(format, args...)}
}

// NotFound returns err as an ErrNotFound, with err's message.
func NotFound(err error) error { return &kindError{kind: ErrNotFound, err: err} }

// kindError is err, classified as kind for errors.Is.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"errors"
	"regexp"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// AutoSessionID asks for a generated id: capture-<UTC time>-<8 hex>.
const AutoSessionID = "auto"

// Backpressure says what the exporter does with a request its sending
// queue has no room for.
type Backpressure = confutil.Enum[backpressureValues]

const (
	// BackpressureBlock makes the pipeline wait for room in the queue (as
	// sending_queue.block_on_overflow says): nothing accepted is dropped,
	// and a store outage slows the senders down. For capture-only
	// collectors.
	BackpressureBlock Backpressure = "block"
	// BackpressureDrop never makes the pipeline wait nor fail: what the
	// queue has no room for is dropped and counted (droppedItems). For a
	// tap beside a forwarding exporter.
	BackpressureDrop Backpressure = "drop"
)

type backpressureValues struct{}

func (backpressureValues) Values() []string {
	return []string{string(BackpressureBlock), string(BackpressureDrop)}
}

// StartMode says whether the exporter records from the start.
type StartMode = confutil.Enum[startModeValues]

const (
	// StartRecording records what arrives from the start (the default).
	StartRecording StartMode = "recording"
	// StartPaused arms the capture: what arrives is counted and dropped,
	// no session opens and nothing is stored, until the control API
	// resumes it (or opens a new session).
	StartPaused StartMode = "paused"
)

type startModeValues struct{}

func (startModeValues) Values() []string {
	return []string{string(StartRecording), string(StartPaused)}
}

// Config is the configuration of the session_capture exporter.
type Config struct {
	// Store says where sessions are written.
	Store sessionstore.Config `mapstructure:"store"`
	// Session names and describes the sessions this exporter writes.
	Session SessionConfig `mapstructure:"session"`
	// MetadataInterval is how often metadata.json of an active session is
	// rewritten with the latest counts.
	MetadataInterval time.Duration `mapstructure:"metadata_interval"`
	// ShutdownTimeout is how long, when the collector stops, the exporter
	// keeps retrying the batches exporterhelper gave up on (those waiting
	// for a retry) and the final metadata writes; 0 tries once.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// CompressionLevel is the gzip level of stored objects.
	CompressionLevel sessionstore.CompressionLevel `mapstructure:"compression_level"`
	// Control, when set, is a session_control extension through which the
	// exporter can be driven at run time: open a new own session, pause,
	// resume (unset: no runtime control).
	Control *component.ID `mapstructure:"control"`
	// Backpressure is what happens when the sending queue is full: block
	// (the default) or drop (the exporter never blocks nor fails the
	// pipeline; sending_queue.block_on_overflow is then ignored).
	Backpressure Backpressure `mapstructure:"backpressure"`
	// Recorder makes the own session a rolling one that keeps the last
	// window of data (the flight recorder).
	Recorder RecorderConfig `mapstructure:"recorder"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SessionConfig describes the exporter's own session.
type SessionConfig struct {
	// ID is a fixed session id, or "auto" for capture-<UTC time>-<8 hex>.
	ID string `mapstructure:"id"`
	// FromAttribute, when set, files each resource under the session named by
	// this resource attribute (e.g. test.session.id); resources without it go
	// to the exporter's own session.
	FromAttribute string `mapstructure:"from_attribute"`
	// Description is copied into metadata.json.
	Description string `mapstructure:"description"`
	// Labels are copied into metadata.json, for selection and training.
	Labels map[string]string `mapstructure:"labels"`
	// EnabledFlags are the feature flags active while capturing.
	EnabledFlags []string `mapstructure:"enabled_flags"`
	// DiagnosticSessionID links the session to an external diagnostic run.
	DiagnosticSessionID string `mapstructure:"diagnostic_session_id"`
	// MaxBytes rotates the exporter's own session after this many stored
	// (compressed) bytes; 0 never rotates on size.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MaxDuration rotates the exporter's own session after this long; 0
	// never rotates on time. A fixed id continues as id-2, id-3, ...
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// IdleTimeout completes a session named by FromAttribute after this long
	// without data (0: only when the collector stops); data that arrives
	// later for the same id continues it.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// AllowedIDs is a regular expression the whole of every id named by
	// FromAttribute must match ("" allows any valid id); data for any other
	// id is refused with a permanent error naming it.
	AllowedIDs string `mapstructure:"allowed_ids"`
	// ReopenCompleted lets data named by FromAttribute continue a session
	// that was already completed when this exporter first saw it. By
	// default such data goes to a new session, id-2, id-3, ..., with a
	// warning, so that no client can append to another's finished session.
	ReopenCompleted bool `mapstructure:"reopen_completed"`
	// WriterID names this exporter among the writers of a session (each
	// keeps its own counts in sessions/{id}/writers/{writer}.json). It must
	// differ between collectors writing one session and stay the same
	// across restarts of one. Empty: the host name and the component id.
	WriterID string `mapstructure:"writer_id"`
	// MaxOpen caps the sessions named by FromAttribute that are open at
	// once; data for a new one beyond it is refused with a permanent error
	// naming it.
	MaxOpen int `mapstructure:"max_open"`
	// Start is recording (the default) or paused: armed, recording nothing
	// until the control API resumes the capture (needs Control).
	Start StartMode `mapstructure:"start"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; it never changes it. Every error is
// a confutil.FieldError naming its setting.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, confutil.Errorf(field, format, args...))
	}
	errs = append(errs, confutil.In("session", cfg.Session.check()))
	if cfg.ShutdownTimeout < 0 {
		bad("shutdown_timeout", "%s must not be negative", cfg.ShutdownTimeout)
	}
	if w := cfg.Recorder.Window; w < 0 {
		bad("recorder.window", "%s must not be negative", w)
	} else if w > 0 && (cfg.Session.MaxDuration > 0 || cfg.Session.MaxBytes > 0) {
		bad("recorder", "cannot be used with session.max_duration or session.max_bytes: the rolling session never rotates (the window bounds it)")
	}
	if cfg.Session.Start == StartPaused && cfg.Control == nil {
		bad("session.start", "paused needs control (a session_control extension): nothing else could start the capture")
	}
	if cfg.Backpressure == BackpressureDrop {
		switch {
		case !cfg.QueueConfig.HasValue():
			bad("backpressure", "drop needs sending_queue enabled: without a queue every request waits for the store")
		case cfg.QueueConfig.Get().WaitForResult:
			bad("backpressure", "drop cannot be used with sending_queue.wait_for_result: true: every request would wait for the store")
		}
	}
	if cfg.MetadataInterval <= 0 {
		bad("metadata_interval", "%s must be positive", cfg.MetadataInterval)
	}
	return errors.Join(errs...)
}

// check checks the session block on its own; errors name the fields
// within it.
func (s *SessionConfig) check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, confutil.Errorf(field, format, args...))
	}
	errs = append(errs, s.checkDescription())
	if s.MaxBytes < 0 {
		bad("max_bytes", "%d must not be negative", s.MaxBytes)
	}
	if s.MaxDuration < 0 {
		bad("max_duration", "%s must not be negative", s.MaxDuration)
	}
	if s.IdleTimeout < 0 {
		bad("idle_timeout", "%s must not be negative", s.IdleTimeout)
	}
	if s.AllowedIDs != "" {
		if _, err := regexp.Compile(anchored(s.AllowedIDs)); err != nil {
			bad("allowed_ids", "%q: %w", s.AllowedIDs, err)
		}
	}
	if s.WriterID != "" {
		if err := sessionstore.ValidateSessionID(s.WriterID); err != nil {
			bad("writer_id", "%w", err)
		}
	}
	if s.MaxOpen < 1 {
		bad("max_open", "%d must be at least 1", s.MaxOpen)
	}
	return errors.Join(errs...)
}

// checkDescription checks what describes a session: its id (unless
// auto), diagnostic_session_id, and the names of its labels and flags.
// The control API's requests for a new session (a new own session, a
// snapshot) are checked by it too, under the same field names.
func (s *SessionConfig) checkDescription() error {
	var errs []error
	if s.ID != AutoSessionID {
		if err := sessionstore.ValidateSessionID(s.ID); err != nil {
			errs = append(errs, confutil.Errorf("id", "%w (or use %q)", err, AutoSessionID))
		}
	}
	if s.DiagnosticSessionID != "" {
		if err := sessionstore.ValidateSessionID(s.DiagnosticSessionID); err != nil {
			errs = append(errs, confutil.Errorf("diagnostic_session_id", "%w", err))
		}
	}
	if _, ok := s.Labels[""]; ok {
		errs = append(errs, confutil.Errorf("labels", "empty label name"))
	}
	if slices.Contains(s.EnabledFlags, "") {
		errs = append(errs, confutil.Errorf("enabled_flags", "empty flag name"))
	}
	return errors.Join(errs...)
}

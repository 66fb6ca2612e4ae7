package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// maxCopies bounds copies: each copy is a full replay's work.
const maxCopies = 1000

// AutoSession asks the receiver to pick a completed session by Selection.
const AutoSession = "auto"

// Selection is how `session: auto` picks a session.
type Selection = confutil.Enum[selectionValues]

// Selection strategies.
const (
	SelectionLatest   Selection = "latest"   // newest startTime
	SelectionLargest  Selection = "largest"  // most items (spans + data points + log records)
	SelectionSmallest Selection = "smallest" // fewest items, empty sessions excluded
	SelectionRandom   Selection = "random"
	// SelectionWindow takes every session that matches the filter and was
	// capturing during time_range (RFC 3339 ends), replayed as one
	// timeline as sessions: [...] is.
	SelectionWindow Selection = "window"
)

type selectionValues struct{}

func (selectionValues) Values() []string {
	return []string{string(SelectionLatest), string(SelectionLargest), string(SelectionSmallest), string(SelectionRandom), string(SelectionWindow)}
}

// TimestampMode says how replayed timestamps are rewritten.
type TimestampMode = confutil.Enum[timestampModeValues]

// Timestamp modes (see README for the exact arithmetic).
const (
	// TimestampsNone replays timestamps as recorded.
	TimestampsNone TimestampMode = "none"
	// TimestampsRelative shifts all of a pass by one delta: the first
	// object's capture time maps to the pass start; every gap is preserved.
	TimestampsRelative TimestampMode = "relative"
	// TimestampsCurrent shifts each object by its emit time minus its
	// capture time, so data always looks live.
	TimestampsCurrent TimestampMode = "current"
)

type timestampModeValues struct{}

func (timestampModeValues) Values() []string {
	return []string{string(TimestampsNone), string(TimestampsRelative), string(TimestampsCurrent)}
}

// PaceBy is the time an object is scheduled and time-shifted by.
type PaceBy = confutil.Enum[paceByValues]

// What replay paces by.
const (
	// PaceByAuto paces by event time a session whose event time runs ahead
	// of its capture time (a seed made with clock: fast: its metadata says
	// so), and by capture time any other.
	PaceByAuto PaceBy = "auto"
	// PaceByCaptureTime uses when the object was captured (its key's
	// millisecond timestamp): the recorded timing of the capture.
	PaceByCaptureTime PaceBy = "capture_time"
	// PaceByEventTime uses the items' event times: an object is due at its
	// earliest, and one whose items span more than a second is sent in
	// pieces of 100 ms of event time, each due at its own time (objects in
	// event-time order, across signals). A backlog stored in a burst after
	// an outage replays with the timing its data was sent with.
	PaceByEventTime PaceBy = "event_time"
)

type paceByValues struct{}

func (paceByValues) Values() []string {
	return []string{string(PaceByAuto), string(PaceByCaptureTime), string(PaceByEventTime)}
}

// StartMode says when the replay starts.
type StartMode = confutil.Enum[startModeValues]

// Start modes.
const (
	// StartAuto replays as soon as the collector has started.
	StartAuto StartMode = "auto"
	// StartManual waits for POST /v1/replays/{component}/start on the
	// session_control extension named by control.
	StartManual StartMode = "manual"
)

type startModeValues struct{}

func (startModeValues) Values() []string {
	return []string{string(StartAuto), string(StartManual)}
}

// ByteSize is a size in bytes that also reads "64MiB", "1GiB", "500MB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// UnmarshalText parses a plain number of bytes or a number with a unit.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := 1.0
	num := s
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64 {
		return fmt.Errorf("invalid size %q: want bytes, or a number with KiB, MiB, GiB, KB, MB or GB", s)
	}
	*b = ByteSize(v * mult)
	return nil
}

// Config is the configuration of the session_replay receiver.
type Config struct {
	// Store says where sessions are read from (the same block as session_capture).
	Store sessionstore.Config `mapstructure:"store"`
	// Session is a session id, or "auto" to pick one by Selection.
	Session string `mapstructure:"session"`
	// Sessions replays several sessions as one timeline (e.g. the hourly
	// rotated sessions of an incident window, of every replica), their
	// objects merged by capture time, with one time shift; session must
	// then be left at auto. Empty: the one session of Session.
	Sessions []string `mapstructure:"sessions"`
	// Selection picks among completed sessions when Session is auto.
	Selection Selection `mapstructure:"selection"`
	// Filter narrows the sessions auto picks from.
	Filter FilterConfig `mapstructure:"filter"`
	// Services keeps only resources whose service.name is listed (empty: all).
	Services []string `mapstructure:"services"`
	// Speed is the replay rate: 1 = as recorded, 4 = four times faster,
	// 0 = as fast as the pipeline accepts.
	Speed float64 `mapstructure:"speed"`
	// MaxGap caps every idle stretch between objects (0 keeps recorded gaps).
	MaxGap time.Duration `mapstructure:"max_gap"`
	// MaxDuration stops the replay after this much wall time (0: no limit).
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// Loops is the number of passes over the session; 0 repeats until shutdown.
	Loops int `mapstructure:"loops"`
	// ShutdownWhenDone stops the collector (cleanly, exit status 0) once the
	// replay is over by itself: its loops done or max_duration reached. With
	// several such replays in one collector, once the last is over. For
	// replays run as a job (make replay, a Kubernetes Job).
	ShutdownWhenDone bool `mapstructure:"shutdown_when_done"`
	// Timestamps selects how timestamps are rewritten: none, relative, current.
	Timestamps TimestampMode `mapstructure:"timestamps"`
	// PaceBy selects the time that pacing and the timestamp shift use:
	// auto (default: event_time for a session whose events run ahead of its
	// capture, capture_time otherwise), capture_time or event_time.
	PaceBy PaceBy `mapstructure:"pace_by"`
	// RegenerateIDs remaps trace and span ids per pass with a keyed bijection.
	RegenerateIDs bool `mapstructure:"regenerate_ids"`
	// IDSeed keys regenerate_ids: replays with the same seed map ids the
	// same way. Default: derived from the session id and start_at when the
	// replay is sharded or has a start_at (so its shards agree), random
	// otherwise.
	IDSeed string `mapstructure:"id_seed"`
	// Copies replays this many copies of the session at once, each with
	// its own trace and span ids (a fixed remapping per copy; with
	// regenerate_ids, also per pass) and its own service.instance.id, so
	// that N times the recorded rate reaches the target without
	// compressing time. 1: the session once.
	Copies int `mapstructure:"copies"`
	// Shard replays only the objects whose uuid hashes to Index of Count.
	Shard ShardConfig `mapstructure:"shard"`
	// MaxObjectBytes caps the decompressed size of one object.
	MaxObjectBytes ByteSize `mapstructure:"max_object_bytes"`
	// MaxRequestBytes cuts an object whose protobuf is larger into several
	// requests of at most this size, at resource, scope and item
	// boundaries, all due at the object's time (0: no limit). The default
	// is just under OTLP/gRPC's default message limit of 4 MiB.
	MaxRequestBytes ByteSize `mapstructure:"max_request_bytes"`
	// MaxRequestItems cuts an object with more items into requests of at
	// most this many (0: no limit).
	MaxRequestItems int `mapstructure:"max_request_items"`
	// ReadAhead is how many objects are fetched ahead of their turn (hiding
	// storage latency); min(ReadAhead, cores) are decoded ahead of the one
	// being delivered. Both bound memory.
	ReadAhead int `mapstructure:"read_ahead"`
	// StartAt is when the first pass starts (several collectors sharing a
	// session by shard start together); an RFC 3339 time in YAML, checked
	// while the configuration loads. Zero (unset): at once.
	StartAt time.Time `mapstructure:"start_at"`
	// StartDelay waits this long after start before the first pass.
	StartDelay time.Duration `mapstructure:"start_delay"`
	// Phases replays only the items of these phases: a seed session's
	// (names from its phase table) or a session's annotated phases (by
	// event time); empty: all.
	Phases []string `mapstructure:"phases"`
	// TimeRange replays only the items whose event time is inside it.
	TimeRange TimeRangeConfig `mapstructure:"time_range"`
	// Checkpoint keeps the replay's place in a storage extension, so that
	// a restarted collector goes on where it stopped.
	Checkpoint CheckpointConfig `mapstructure:"checkpoint"`
	// ProgressInterval is how often a replay logs its progress (and
	// updates its progress metrics); 0 turns the log lines off.
	ProgressInterval time.Duration `mapstructure:"progress_interval"`
	// Signals replays only these signals (traces, metrics, logs) of the
	// ones the pipelines wire; empty: all of those.
	Signals []sessionstore.Signal `mapstructure:"signals"`
	// Start is auto (replay when the collector starts) or manual (wait for
	// the control API).
	Start StartMode `mapstructure:"start"`
	// Control, when set, is a session_control extension through which the
	// replay can be started (with overrides), stopped and watched.
	Control *component.ID `mapstructure:"control"`
	// RetryOnFailure paces retries of data the pipeline refused with a
	// non-permanent error. By default the replay waits; it never drops.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FilterConfig narrows automatic selection.
type FilterConfig struct {
	// SessionType keeps only capture, seed or training sessions ("" keeps all).
	SessionType string `mapstructure:"session_type"`
	// Labels keeps only sessions carrying all of these labels.
	Labels map[string]string `mapstructure:"labels"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// TimeRangeConfig bounds the event time of what is replayed: each end an
// RFC 3339 time, or a duration from the session's first event (its start
// when its metadata has no event time range); "" leaves that side open.
// Start is inclusive, end exclusive. Both the ends and the items compare
// in event time, whatever the capture times (a clock: fast seed).
type TimeRangeConfig struct {
	Start string `mapstructure:"start"`
	End   string `mapstructure:"end"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CheckpointConfig names the storage extension that keeps a replay's
// place (e.g. file_storage); unset: no checkpoint.
type CheckpointConfig struct {
	Storage *component.ID `mapstructure:"storage"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ShardConfig splits a session among several replaying collectors.
type ShardConfig struct {
	Index int `mapstructure:"index"`
	Count int `mapstructure:"count"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal reads the configuration; an empty start_at (an environment
// variable that is not set) means unset, as it did when it was a string.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	return confutil.DropEmpty(conf, "start_at").Unmarshal(cfg)
}

// Validate checks the configuration; it never changes it. Every error is
// a confutil.FieldError naming its setting, so that the control API checks
// a replay's overrides with it and answers 400 naming the field.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, confutil.Errorf(field, format, args...))
	}
	if cfg.Session != AutoSession {
		if err := sessionstore.ValidateSessionID(cfg.Session); err != nil {
			bad("session", "%w (or use %q)", err, AutoSession)
		}
	}
	if len(cfg.Sessions) > 0 {
		if cfg.Session != AutoSession {
			bad("sessions", "%v and session %q: set one of them (leave session at %q to replay sessions)", cfg.Sessions, cfg.Session, AutoSession)
		}
		seen := map[string]bool{}
		for i, id := range cfg.Sessions {
			if err := sessionstore.ValidateSessionID(id); err != nil {
				bad(fmt.Sprintf("sessions[%d]", i), "%w", err)
			} else if seen[id] {
				bad(fmt.Sprintf("sessions[%d]", i), "%q is listed twice", id)
			}
			seen[id] = true
		}
		if cfg.Checkpoint.Storage != nil {
			bad("sessions", "a replay of several sessions cannot resume from checkpoint.storage (yet); replay one session, or drop the checkpoint")
		}
	}
	if cfg.Session == AutoSession && len(cfg.Sessions) == 0 && cfg.Selection == SelectionWindow {
		if _, _, err := cfg.TimeRange.absolute(); err != nil {
			bad("selection", "window: %w", err)
		}
		if cfg.Checkpoint.Storage != nil {
			bad("selection", "window replays several sessions, which cannot resume from checkpoint.storage (yet)")
		}
	}
	if cfg.Copies < 1 || cfg.Copies > maxCopies {
		bad("copies", "%d must be between 1 and %d", cfg.Copies, maxCopies)
	}
	switch cfg.Filter.SessionType {
	case "", string(sessionstore.SessionTypeCapture), string(sessionstore.SessionTypeSeed), string(sessionstore.SessionTypeTraining):
	default:
		bad("filter.session_type", "%q: want %q, %q, %q or empty", cfg.Filter.SessionType,
			sessionstore.SessionTypeCapture, sessionstore.SessionTypeSeed, sessionstore.SessionTypeTraining)
	}
	if cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) {
		bad("speed", "%v must be 0 (as fast as possible) or positive", cfg.Speed)
	}
	if cfg.MaxGap < 0 {
		bad("max_gap", "%s must not be negative", cfg.MaxGap)
	}
	if cfg.ProgressInterval < 0 {
		bad("progress_interval", "%s must not be negative (0 turns progress lines off)", cfg.ProgressInterval)
	}
	errs = append(errs, confutil.CheckDuration("max_duration", cfg.MaxDuration))
	if cfg.Loops < 0 {
		bad("loops", "%d must be 0 (until stopped) or positive", cfg.Loops)
	}
	if cfg.ShutdownWhenDone && cfg.Loops == 0 && cfg.MaxDuration <= 0 {
		bad("shutdown_when_done", "this replay never ends by itself (loops: 0 and no max_duration); set loops or max_duration, or turn it off")
	}
	if cfg.Shard.Count < 1 || cfg.Shard.Index < 0 || cfg.Shard.Index >= cfg.Shard.Count {
		bad("shard", "{index: %d, count: %d}: want count >= 1 and 0 <= index < count", cfg.Shard.Index, cfg.Shard.Count)
	}
	if cfg.MaxObjectBytes <= 0 {
		bad("max_object_bytes", "%d must be positive", cfg.MaxObjectBytes)
	}
	if cfg.MaxRequestBytes < 0 {
		bad("max_request_bytes", "%d must not be negative", cfg.MaxRequestBytes)
	}
	if cfg.MaxRequestItems < 0 {
		bad("max_request_items", "%d must not be negative", cfg.MaxRequestItems)
	}
	if cfg.ReadAhead < 1 || cfg.ReadAhead > 64 {
		bad("read_ahead", "%d must be between 1 and 64", cfg.ReadAhead)
	}
	errs = append(errs, confutil.In("retry_on_failure", delivery.ValidateBackOff(cfg.RetryOnFailure)))
	if cfg.StartDelay < 0 {
		bad("start_delay", "%s must not be negative", cfg.StartDelay)
	}
	if slices.Contains(cfg.Services, "") {
		bad("services", "empty service name")
	}
	if slices.Contains(cfg.Phases, "") {
		bad("phases", "empty phase name")
	}
	errs = append(errs, confutil.In("time_range", cfg.TimeRange.check()))
	for i, sig := range cfg.Signals {
		if !sig.Valid() {
			bad(fmt.Sprintf("signals[%d]", i), "unknown signal %q: want traces, metrics or logs", sig)
		}
	}
	if cfg.Start == StartManual && cfg.Control == nil {
		bad("start", "manual needs control (a session_control extension), or nothing can ever start the replay")
	}
	if cfg.Start == StartManual && cfg.Checkpoint.Storage != nil {
		bad("start", "manual cannot resume from checkpoint.storage; use start: auto with a checkpoint")
	}
	return errors.Join(errs...)
}

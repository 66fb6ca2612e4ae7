package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// AutoSessionID asks for seed-<UTC start>-<8 hex>, derived from the run's
// inputs.
const AutoSessionID = "auto"

// Clock says how emission is paced.
type Clock = confutil.Enum[clockValues]

// Clocks.
const (
	// ClockRealtime emits each batch when the virtual clock reaches its end.
	ClockRealtime Clock = "realtime"
	// ClockFast emits as fast as the pipeline accepts.
	ClockFast Clock = "fast"
)

type clockValues struct{}

func (clockValues) Values() []string {
	return []string{string(ClockRealtime), string(ClockFast)}
}

// Config is the configuration of the seed_gen receiver.
type Config struct {
	// Pattern is a built-in pattern name.
	Pattern string `mapstructure:"pattern"`
	// ScenarioFile is a scenario YAML file; when set it replaces Pattern.
	ScenarioFile string `mapstructure:"scenario_file"`
	// Duration scales the phases to fit; 0 runs the scenario's own length.
	Duration time.Duration `mapstructure:"duration"`
	// TracesPerSecond is the rate of root traces (not spans).
	TracesPerSecond float64 `mapstructure:"traces_per_second"`
	// ErrorRate is the baseline probability that a trace fails somewhere.
	ErrorRate float64 `mapstructure:"error_rate"`
	// Seed makes the run reproducible: same scenario, seed and start_time,
	// same bytes.
	Seed int64 `mapstructure:"seed"`
	// SessionID is stamped on every resource as test.session.id.
	SessionID string `mapstructure:"session_id"`
	// Description is stamped as test.description (session metadata).
	Description string `mapstructure:"description"`
	// Labels are stamped on every resource as test.label.<name>; a capture
	// with session.from_attribute copies them into the seed session's
	// labels, beside pattern. None by default.
	Labels map[string]string `mapstructure:"labels"`
	// DiagnosticSessionID, a session id, is stamped as
	// test.diagnostic_session_id and becomes the seed session's
	// diagnosticSessionId, linking it to an external diagnostic run. Empty:
	// none.
	DiagnosticSessionID string `mapstructure:"diagnostic_session_id"`
	// Clock paces emission: realtime or fast.
	Clock Clock `mapstructure:"clock"`
	// StartTime anchors the virtual clock; an RFC 3339 time in YAML, checked
	// while the configuration loads. Zero (unset): the moment it starts.
	StartTime time.Time `mapstructure:"start_time"`
	// BatchInterval is how much virtual time one emitted batch covers.
	BatchInterval time.Duration `mapstructure:"batch_interval"`
	// MetricsInterval is the aggregation window of the generated metrics.
	MetricsInterval time.Duration `mapstructure:"metrics_interval"`
	// RetryOnFailure paces retries of batches the pipeline refused with a
	// non-permanent error. By default the run waits; it never drops.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal reads the configuration; an empty start_time (an environment
// variable that is not set) means unset, as it did when it was a string.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	return confutil.DropEmpty(conf, "start_time").Unmarshal(cfg)
}

// Validate checks the configuration, including the scenario file (errors
// name its line and field); it never changes the configuration. Every
// error is a confutil.FieldError naming its setting.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, confutil.Errorf(field, format, args...))
	}
	switch {
	case cfg.Pattern == "" && cfg.ScenarioFile == "":
		bad("pattern", "set pattern (one of %v) or scenario_file", scenario.Builtins())
	default:
		if _, err := cfg.loadScenario(); err != nil {
			field := "pattern"
			if cfg.ScenarioFile != "" {
				field = "scenario_file"
			}
			errs = append(errs, confutil.In(field, err))
		}
	}
	errs = append(errs, confutil.CheckDuration("duration", cfg.Duration))
	if cfg.TracesPerSecond <= 0 || math.IsInf(cfg.TracesPerSecond, 0) || math.IsNaN(cfg.TracesPerSecond) {
		bad("traces_per_second", "%v must be positive", cfg.TracesPerSecond)
	}
	if cfg.ErrorRate < 0 || cfg.ErrorRate > 1 || math.IsNaN(cfg.ErrorRate) {
		bad("error_rate", "%v must be between 0 and 1", cfg.ErrorRate)
	}
	if cfg.SessionID != AutoSessionID {
		if err := sessionstore.ValidateSessionID(cfg.SessionID); err != nil {
			bad("session_id", "%w (or use %q)", err, AutoSessionID)
		}
	}
	errs = append(errs, confutil.In("labels", sessionstore.ValidateSeedLabels(cfg.Labels)))
	if cfg.DiagnosticSessionID != "" {
		if err := sessionstore.ValidateSessionID(cfg.DiagnosticSessionID); err != nil {
			bad("diagnostic_session_id", "%w", err)
		}
	}
	if cfg.BatchInterval <= 0 {
		bad("batch_interval", "%s must be positive", cfg.BatchInterval)
	}
	if cfg.MetricsInterval <= 0 {
		bad("metrics_interval", "%s must be positive", cfg.MetricsInterval)
	}
	errs = append(errs, confutil.In("retry_on_failure", delivery.ValidateBackOff(cfg.RetryOnFailure)))
	return errors.Join(errs...)
}

func (cfg *Config) loadScenario() (*scenario.Scenario, error) {
	if cfg.ScenarioFile != "" {
		return scenario.Load(cfg.ScenarioFile)
	}
	return scenario.Builtin(cfg.Pattern)
}

// sessionID resolves auto: seed-<UTC start>-<8 hex of scenario, seed and
// start>, so a run with a fixed start_time always gets the same id.
func (cfg *Config) sessionID(name string, start time.Time) string {
	if cfg.SessionID != AutoSessionID {
		return cfg.SessionID
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(cfg.Seed))
	binary.BigEndian.PutUint64(b[8:], uint64(start.UnixNano()))
	h := sha256.Sum256(append(b[:], name...))
	return "seed-" + start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(h[:4])
}

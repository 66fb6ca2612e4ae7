package seedgenreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.MustNewID(metadata.Type.String())
	if name != "" {
		id = component.MustNewIDWithName(metadata.Type.String(), name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := createDefaultConfig()
	if err := sub.Unmarshal(&cfg); err != nil {
		return nil, err
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestConfigs(t *testing.T) {
	def := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(def))
	require.NoError(t, confmap.Validate(def))
	// Pipeline retries: 5 ms doubling to 1 s, never giving up.
	assert.Equal(t, configretry.BackOffConfig{Enabled: true, InitialInterval: 5 * time.Millisecond, MaxInterval: time.Second,
		Multiplier: 2}, def.RetryOnFailure)
	got, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, def, got)

	full, err := loadConfig(t, "full")
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.Pattern = "payment-failure"
	want.Duration = time.Minute
	want.TracesPerSecond = 20
	want.ErrorRate = 0.02
	want.Seed = 42
	want.SessionID = "seed-training-001"
	want.Description = "payment failure, run 1"
	want.Labels = map[string]string{"team": "payments", "run": "1"}
	want.DiagnosticSessionID = "diag-2026-001"
	want.Clock = ClockFast
	want.StartTime = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	want.BatchInterval = 500 * time.Millisecond
	want.MetricsInterval = 10 * time.Second
	want.RetryOnFailure = configretry.BackOffConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 2 * time.Second,
		Multiplier: 1.5, RandomizationFactor: 0.25, MaxElapsedTime: 10 * time.Minute}
	assert.Equal(t, want, full)

	file, err := loadConfig(t, "file")
	require.NoError(t, err)
	sc, err := file.loadScenario()
	require.NoError(t, err)
	assert.Equal(t, "checkout-storm", sc.Name, "scenario_file replaces the default pattern")

	disabled, err := loadConfig(t, "retry_disabled")
	require.NoError(t, err, "intervals do not matter when retries are off")
	assert.False(t, disabled.RetryOnFailure.Enabled)

	unset, err := loadConfig(t, "unset_start_time")
	require.NoError(t, err)
	assert.True(t, unset.StartTime.IsZero(), "start_time without a value is unset")
}

func TestInvalidConfigs(t *testing.T) {
	for name, frags := range map[string][]string{
		"bad_file":        {"testdata/scenario-bad.yaml: line 5: phases[1].flags.paymentFail: unknown flag \"paymentFail\""},
		"no_source":       {"set pattern (one of [basic-topology complex-topology db-outage high-load latency-spike payment-failure traffic-ramp training-phases]) or scenario_file"},
		"unknown_pattern": {`unknown pattern "payment-failures"`, "payment-failure"},
		"bad_clock":       {`"instant"`, "realtime", "fast"},
		"bad_values":      {"traces_per_second: 0", "error_rate: 1.5", `"../x"`, "duration: -1s"},
		"bad_labels": {"labels: empty label name", `labels: label "pattern" is reserved`,
			`diagnostic_session_id: invalid session id "../diag"`},
		"bad_start_time": {"'start_time'", `"yesterday"`, time.RFC3339},
		"typo":           {"traces_per_sec"},
		// `duration: 60` (a bare number, read as nanoseconds)
		"nanosecond_duration": {"duration: 60ns", "under a millisecond", "60s"},
		"bad_retry": {"retry_on_failure.initial_interval: 0s with max_interval 1s: want 0 < initial_interval <= max_interval",
			"retry_on_failure.multiplier: 0.5 must be at least 1"},
		// configretry's own checks run too (confmap.Validate reaches the block).
		"bad_retry_core": {"randomization_factor value must be less than or equal to 1",
			"'max_elapsed_time' must not be less than 'initial_interval'"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, f := range frags {
				assert.Contains(t, err.Error(), f)
			}
		})
	}
}

// TestStartTimeDecodesAtLoad: start_time is parsed by the decoder (RFC 3339,
// any offset), so a bad value fails before Validate runs.
func TestStartTimeDecodesAtLoad(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    time.Time
		wantErr []string
	}{
		{name: "utc", value: "2026-11-28T12:00:00Z", want: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)},
		{name: "offset_and_fraction", value: "2026-11-28T13:00:00.25+01:00", want: time.Date(2026, 11, 28, 12, 0, 0, 250e6, time.UTC)},
		{name: "unset", value: nil},
		{name: "empty", value: ""}, // an environment variable that is not set
		{name: "not_a_time", value: "yesterday", wantErr: []string{"'start_time'", `"yesterday"`}},
		{name: "date_only", value: "2026-11-28", wantErr: []string{"'start_time'", `"2026-11-28"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As the collector loads it: into the component.Config.
			c := createDefaultConfig()
			err := confmap.NewFromStringMap(map[string]any{"start_time": tt.value}).Unmarshal(&c)
			cfg := c.(*Config)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, frag := range tt.wantErr {
					assert.Contains(t, err.Error(), frag)
				}
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(cfg.StartTime), "got %s, want %s", cfg.StartTime, tt.want)
			assert.Equal(t, tt.want.IsZero(), cfg.StartTime.IsZero())
		})
	}
}

func TestAutoSessionID(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	id := cfg.sessionID("payment-failure", at)
	assert.Regexp(t, `^seed-20261128T120000Z-[0-9a-f]{8}$`, id)
	assert.Equal(t, id, cfg.sessionID("payment-failure", at), "same inputs, same id")
	assert.NotEqual(t, id, cfg.sessionID("payment-failure", at.Add(time.Second)))
	cfg.Seed = 2
	assert.NotEqual(t, id, cfg.sessionID("payment-failure", at))
}

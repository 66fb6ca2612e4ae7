package seedgenreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
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
	want.Clock = ClockFast
	want.StartTime = "2026-11-28T12:00:00Z"
	want.BatchInterval = 500 * time.Millisecond
	want.MetricsInterval = 10 * time.Second
	assert.Equal(t, want, full)

	file, err := loadConfig(t, "file")
	require.NoError(t, err)
	sc, err := file.loadScenario()
	require.NoError(t, err)
	assert.Equal(t, "checkout-storm", sc.Name, "scenario_file replaces the default pattern")
}

func TestInvalidConfigs(t *testing.T) {
	for name, frags := range map[string][]string{
		"bad_file":        {"testdata/scenario-bad.yaml: line 5: phases[1].flags.paymentFail: unknown flag \"paymentFail\""},
		"no_source":       {"set pattern (one of [basic-topology db-outage latency-spike payment-failure traffic-ramp]) or scenario_file"},
		"unknown_pattern": {`unknown pattern "payment-failures"`, "payment-failure"},
		"bad_clock":       {`"instant"`, "realtime", "fast"},
		"bad_values":      {"traces_per_second 0", "error_rate 1.5", `"../x"`, `"yesterday"`, "duration -1s"},
		"typo":            {"traces_per_sec"},
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

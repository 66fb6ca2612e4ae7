package sessionreplayreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
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

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, AutoSession, cfg.Session)
	assert.Equal(t, SelectionLatest, cfg.Selection)
	assert.Equal(t, 1.0, cfg.Speed)
	assert.Equal(t, 1, cfg.Loops)
	assert.Equal(t, TimestampsCurrent, cfg.Timestamps)
	assert.Equal(t, ByteSize(64<<20), cfg.MaxObjectBytes)
	assert.Equal(t, ShardConfig{Index: 0, Count: 1}, cfg.Shard)
	// Pipeline retries: 5 ms doubling to 1 s, never giving up (a replay
	// waits, it never drops).
	assert.Equal(t, configretry.BackOffConfig{Enabled: true, InitialInterval: 5 * time.Millisecond, MaxInterval: time.Second,
		Multiplier: 2}, cfg.RetryOnFailure)
	loaded, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, cfg, loaded)
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.Store.Backend = sessionstore.BackendS3
	want.Store.S3.Endpoint = "http://minio:9000"
	want.Store.S3.UsePathStyle = true
	want.Selection = SelectionLargest
	want.Filter = FilterConfig{SessionType: "seed", Labels: map[string]string{"env": "staging"}}
	want.Services = []string{"checkout", "payment"}
	want.Speed = 10
	want.MaxGap = 2 * time.Second
	want.MaxDuration = time.Hour
	want.Loops = 0
	want.Timestamps = TimestampsRelative
	want.PaceBy = PaceByEventTime
	want.RegenerateIDs = true
	want.Shard = ShardConfig{Index: 1, Count: 3}
	want.MaxObjectBytes = 128 << 20
	want.ReadAhead = 8
	want.MaxRequestBytes = 1 << 20
	want.MaxRequestItems = 500
	want.StartAt = time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	want.StartDelay = 5 * time.Second
	want.RetryOnFailure = configretry.BackOffConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 2 * time.Second,
		Multiplier: 1.5, RandomizationFactor: 0.25, MaxElapsedTime: 10 * time.Minute}
	assert.Equal(t, want, cfg)

	fixed, err := loadConfig(t, "fixed")
	require.NoError(t, err)
	assert.Equal(t, "capture-20261128T231000Z-1a2b3c4d", fixed.Session)
	assert.Equal(t, ByteSize(1<<20), fixed.MaxObjectBytes)

	unset, err := loadConfig(t, "unset_start_at")
	require.NoError(t, err)
	assert.True(t, unset.StartAt.IsZero(), "start_at without a value is unset")

	disabled, err := loadConfig(t, "retry_disabled")
	require.NoError(t, err, "intervals do not matter when retries are off")
	assert.False(t, disabled.RetryOnFailure.Enabled)
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		wantErr []string
	}{
		{"typo", []string{"sped"}},
		{"bad_selection", []string{`"biggest"`, "latest", "largest", "smallest", "random"}},
		{"bad_timestamps", []string{`"absolute"`, "none", "relative", "current"}},
		{"bad_pace_by", []string{`"arrival_time"`, "capture_time", "event_time"}},
		{"bad_size", []string{`"lots"`, "MiB"}},
		{"bad_id", []string{`"../etc"`}},
		{"negatives", []string{"speed: -1", "loops: -2", "max_gap: -1s", "max_duration: -1s"}},
		{"bad_shard", []string{"index: 3, count: 3"}},
		{"bad_filter", []string{`"synthetic"`}},
		{"bad_start_at", []string{"'start_at'", `"tomorrow"`, time.RFC3339}},
		{"bad_retry", []string{"retry_on_failure.initial_interval: 0s with max_interval 1s: want 0 < initial_interval <= max_interval",
			"retry_on_failure.multiplier: 0.5 must be at least 1"}},
		// configretry's own checks run too (confmap.Validate reaches the block).
		{"bad_retry_core", []string{"randomization_factor value must be less than or equal to 1",
			"'max_elapsed_time' must not be less than 'initial_interval'"}},
		{"old_backoff_key", []string{"backoff"}},
		// `max_duration: 60` (a bare number, read as nanoseconds)
		{"nanosecond_max_duration", []string{"max_duration: 60ns", "under a millisecond", "60s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, frag := range tt.wantErr {
				assert.Contains(t, err.Error(), frag)
			}
		})
	}
}

// TestStartAtDecodesAtLoad: start_at is parsed by the decoder (RFC 3339,
// any offset), so a bad value fails before Validate runs.
func TestStartAtDecodesAtLoad(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    time.Time
		wantErr []string
	}{
		{name: "utc", value: "2026-11-28T23:00:00Z", want: time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)},
		{name: "offset_and_fraction", value: "2026-11-29T00:00:00.5+01:00", want: time.Date(2026, 11, 28, 23, 0, 0, 500e6, time.UTC)},
		{name: "unset", value: nil},
		{name: "empty", value: ""}, // an environment variable that is not set
		{name: "not_a_time", value: "tomorrow", wantErr: []string{"'start_at'", `"tomorrow"`}},
		{name: "no_zone", value: "2026-11-28T23:00:00", wantErr: []string{"'start_at'", `"2026-11-28T23:00:00"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As the collector loads it: into the component.Config.
			c := createDefaultConfig()
			err := confmap.NewFromStringMap(map[string]any{"start_at": tt.value}).Unmarshal(&c)
			cfg := c.(*Config)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, frag := range tt.wantErr {
					assert.Contains(t, err.Error(), frag)
				}
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(cfg.StartAt), "got %s, want %s", cfg.StartAt, tt.want)
			assert.Equal(t, tt.want.IsZero(), cfg.StartAt.IsZero())
		})
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"64MiB": 64 << 20, "1GiB": 1 << 30, "500MB": 500e6, "1048576": 1 << 20, "1.5KiB": 1536, "10 KB": 10e3, "7B": 7,
	} {
		var b ByteSize
		require.NoError(t, b.UnmarshalText([]byte(in)), in)
		assert.Equal(t, want, b, in)
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1XB", "1e30GiB"} {
		var b ByteSize
		assert.Error(t, b.UnmarshalText([]byte(in)), in)
	}
}

// TestValidationSaysEachProblemOnce: the collector's confmap.Validate
// reaches every nested block with a Validate method, so a block that a
// parent also validates by hand is reported twice, under two paths. Each
// problem is reported once, and names its field.
func TestValidationSaysEachProblemOnce(t *testing.T) {
	_, err := loadConfig(t, "nested_problems")
	require.Error(t, err)
	msg := err.Error()
	for _, problem := range []string{`"bogus"`, "must not be empty with backend s3", `"ftp://store"`} {
		assert.Equal(t, 1, strings.Count(msg, problem), "%q in:\n%s", problem, msg)
	}
	assert.Contains(t, msg, `time_range.start: "bogus"`)
	assert.Contains(t, msg, "s3.bucket: must not be empty with backend s3")
	assert.Contains(t, msg, `s3.endpoint: "ftp://store" must be an http:// or https:// URL`)
}

package sessioncaptureexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
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
	assert.Equal(t, sessionstore.BackendFilesystem, cfg.Store.Backend)
	assert.Equal(t, "./data", cfg.Store.Directory)
	assert.Equal(t, 30*time.Second, cfg.Store.Timeout)
	assert.Equal(t, AutoSessionID, cfg.Session.ID)
	assert.Equal(t, 10*time.Second, cfg.MetadataInterval)
	assert.Equal(t, sessionstore.CompressionBestSpeed, cfg.CompressionLevel)
	require.True(t, cfg.QueueConfig.HasValue())
	q := cfg.QueueConfig.Get()
	assert.True(t, q.Batch.HasValue(), "batching is on by default: one object per batch")
	assert.True(t, q.BlockOnOverflow, "a full queue pushes back instead of dropping captures")
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Equal(t, time.Minute, cfg.Session.IdleTimeout)
	assert.Equal(t, 1000, cfg.Session.MaxOpen)
	assert.Equal(t, 20*time.Second, cfg.ShutdownTimeout)
	assert.Empty(t, cfg.Session.AllowedIDs)
	assert.False(t, cfg.Session.ReopenCompleted)

	loaded, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, cfg, loaded, "an empty section means the defaults")
}

func TestFullConfig(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.Store.Backend = sessionstore.BackendS3
	want.Store.Directory = "./unused"
	want.Store.Timeout = 10 * time.Second
	want.Store.S3.Bucket = "otel-data"
	want.Store.S3.Prefix = "team-a/capture"
	want.Store.S3.Region = "eu-west-1"
	want.Store.S3.Endpoint = "http://minio.local:9000"
	want.Store.S3.UsePathStyle = true
	want.Store.S3.AccessKeyID = "minio"
	want.Store.S3.SecretAccessKey = "minio123"
	want.Session.ID = "checkout-load-test"
	want.Session.FromAttribute = "test.session.id"
	want.Session.Description = "checkout load test"
	want.Session.Labels = map[string]string{"env": "staging", "team": "payments"}
	want.Session.EnabledFlags = []string{"paymentFailure"}
	want.Session.AllowedIDs = "seed-.*"
	want.Session.ReopenCompleted = true
	want.Session.MaxOpen = 50
	want.ShutdownTimeout = 25 * time.Second
	want.Session.DiagnosticSessionID = "diag-42"
	want.Session.MaxBytes = 1 << 30
	want.Session.MaxDuration = time.Hour
	want.MetadataInterval = 30 * time.Second
	want.CompressionLevel = sessionstore.CompressionBalanced
	want.Backpressure = BackpressureDrop
	want.TimeoutConfig.Timeout = 10 * time.Second
	want.RetryConfig.InitialInterval = time.Second
	want.RetryConfig.MaxInterval = 10 * time.Second
	want.RetryConfig.MaxElapsedTime = 2 * time.Minute
	q := want.QueueConfig.Get()
	q.NumConsumers = 4
	q.QueueSize = 500
	assert.Equal(t, want, cfg)
	assert.Equal(t, "[REDACTED]", cfg.Store.S3.SecretAccessKey.String(), "secrets never print")
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		wantErr []string // every fragment must appear in the error
	}{
		{name: "typo", wantErr: []string{"sesion"}},
		{name: "bad_backend", wantErr: []string{`"gcs"`, "filesystem", "s3"}},
		{name: "bad_allowed_ids", wantErr: []string{"session.allowed_ids", `"seed-(["`}},
		{name: "negative_shutdown_timeout", wantErr: []string{"shutdown_timeout: -1s"}},
		{name: "zero_max_open", wantErr: []string{"session.max_open: 0"}},
		{name: "zero_store_timeout", wantErr: []string{"store: timeout: 0s must be positive"}},
		{name: "bad_compression", wantErr: []string{`"fastest"`, "best_speed"}},
		{name: "bad_backpressure", wantErr: []string{"backpressure", `"shed"`, `"block"`, `"drop"`}},
		{name: "drop_without_queue", wantErr: []string{"backpressure: drop needs sending_queue enabled"}},
		{name: "traversal_id", wantErr: []string{"session.id", `"../x"`}},
		{name: "slash_id", wantErr: []string{"session.id", `"a/b"`}},
		{name: "empty_id", wantErr: []string{"session.id", `""`, "must not be empty"}},
		{name: "dotdot_id", wantErr: []string{"session.id", `".."`}},
		{name: "nul_id", wantErr: []string{"session.id", `"a\x00b"`}},
		{name: "s3_no_bucket", wantErr: []string{"store: s3.bucket: must not be empty"}},
		{name: "s3_bad_endpoint", wantErr: []string{`"minio:9000"`, "http://"}},
		{name: "zero_interval", wantErr: []string{"metadata_interval: 0s"}},
		{name: "negative_limits", wantErr: []string{"session.max_bytes: -1", "session.max_duration: -1s"}},
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

func TestLongSessionIDRefused(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Session.ID = strings.Repeat("a", 200)
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "200 bytes long")
	cfg.Session.ID = strings.Repeat("a", 128)
	require.NoError(t, cfg.Validate())
}

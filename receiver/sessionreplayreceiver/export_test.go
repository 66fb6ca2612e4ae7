package sessionreplayreceiver

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// setStore points a session_capture config at store with a fixed session
// id, through its public configuration surface (as YAML would).
func setStore(t *testing.T, cfg component.Config, store sessionstore.Config, id string) {
	t.Helper()
	conf := confmap.NewFromStringMap(map[string]any{
		"store": map[string]any{
			"backend":   string(store.Backend),
			"directory": store.Directory,
			"s3": map[string]any{
				"bucket": store.S3.Bucket, "prefix": store.S3.Prefix, "region": store.S3.Region,
				"endpoint": store.S3.Endpoint, "use_path_style": store.S3.UsePathStyle,
				"access_key_id": store.S3.AccessKeyID, "secret_access_key": string(store.S3.SecretAccessKey),
			},
		},
		"session": map[string]any{"id": id},
	})
	require.NoError(t, conf.Unmarshal(cfg))
}

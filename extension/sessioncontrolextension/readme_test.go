package sessioncontrolextension

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.yaml.in/yaml/v3"

	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension/internal/metadata"
)

// TestReadmeConfigLoads: the README's configuration example is a valid
// config of the extension with the documented defaults.
func TestReadmeConfigLoads(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(data), "```yaml\n")
	require.True(t, ok)
	block, _, _ := strings.Cut(after, "```")
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(block), &raw))
	sub, err := confmap.NewFromStringMap(raw).Sub("extensions::session_control")
	require.NoError(t, err)
	cfg := createDefaultConfig()
	require.NoError(t, sub.Unmarshal(&cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, createDefaultConfig(), cfg, "the example shows the defaults")
}

// TestReadmeCurlExamplesRoute: every curl example of the README reaches an
// endpoint of the API with its method.
func TestReadmeCurlExamplesRoute(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	curl := regexp.MustCompile(`(?m)^curl (.*)$`)
	url := regexp.MustCompile(`'?127\.0\.0\.1:4320(/[^ ']*)'?`)
	mux := newControlExtension(createDefaultConfig().(*Config), extensiontest.NewNopSettings(metadata.Type)).mux()
	found := 0
	for _, m := range curl.FindAllStringSubmatch(text, -1) {
		u := url.FindStringSubmatch(m[1])
		require.NotNil(t, u, m[0])
		method := http.MethodGet
		if strings.Contains(m[1], "-X POST") || strings.Contains(m[1], " -d ") {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:4320"+u[1], http.NoBody)
		require.NoError(t, err)
		_, pattern := mux.Handler(req)
		assert.NotEmpty(t, pattern, "%s %s", method, u[1])
		found++
	}
	require.GreaterOrEqual(t, found, 10)
}

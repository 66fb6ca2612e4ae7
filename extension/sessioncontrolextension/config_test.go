package sessioncontrolextension

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension/internal/metadata"
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
	assert.Equal(t, "127.0.0.1:4320", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, confignet.TransportTypeTCP, cfg.ServerConfig.NetAddr.Transport)
	assert.Empty(t, string(cfg.Token))
	assert.False(t, cfg.ServerConfig.Auth.HasValue())

	loaded, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, cfg, loaded, "an empty section means the defaults")
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "token")
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.ServerConfig.NetAddr.Endpoint = "0.0.0.0:4320"
	want.ServerConfig.ReadHeaderTimeout = 10 * time.Second
	want.Token = "s3cr3t-t0ken"
	assert.Equal(t, want, cfg)
	assert.Equal(t, "[REDACTED]", cfg.Token.String(), "the token never prints")

	cfg, err = loadConfig(t, "auth")
	require.NoError(t, err)
	want = createDefaultConfig().(*Config)
	want.ServerConfig.NetAddr.Endpoint = "10.0.0.5:4320"
	want.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{
		Config: configauth.Config{AuthenticatorID: component.MustNewIDWithName("basicauth", "control")},
	})
	assert.Equal(t, want, cfg)

	cfg, err = loadConfig(t, "unix")
	require.NoError(t, err, "a unix socket is local")
	assert.Equal(t, confignet.TransportTypeUnix, cfg.ServerConfig.NetAddr.Transport)
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		wantErr []string // every fragment must appear in the error
	}{
		{name: "open", wantErr: []string{`"0.0.0.0:4320"`, "not a loopback address", "token", "auth", "Authorization: Bearer"}},
		{name: "typo", wantErr: []string{"endpont"}},
		{name: "no_port", wantErr: []string{`"127.0.0.1"`, "host:port"}},
		{name: "blank_token", wantErr: []string{"token", "blank"}},
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

// TestValidateEndpoint: only an endpoint this machine alone can reach runs
// without auth or token; any other runs with either.
func TestValidateEndpoint(t *testing.T) {
	auth := configoptional.Some(confighttp.AuthConfig{
		Config: configauth.Config{AuthenticatorID: component.MustNewID("basicauth")},
	})
	tests := []struct {
		endpoint string
		local    bool
	}{
		{"127.0.0.1:4320", true},
		{"127.3.2.1:4320", true},
		{"[::1]:4320", true},
		{"localhost:4320", true},
		{"LocalHost:4320", true},
		{"0.0.0.0:4320", false},
		{":4320", false},
		{"[::]:4320", false},
		{"192.168.1.10:4320", false},
		{"10.0.0.1:4320", false},
		{"control.example.com:4320", false},
		{"[::ffff:10.0.0.1]:4320", false},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.ServerConfig.NetAddr.Endpoint = tt.endpoint
			err := cfg.Validate()
			if tt.local {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), `"`+tt.endpoint+`"`, "the error names the endpoint")
				assert.Contains(t, err.Error(), "set token")
				assert.Contains(t, err.Error(), "auth")
			}

			cfg.Token = "t"
			require.NoError(t, cfg.Validate(), "with a token")
			cfg.Token = ""
			cfg.ServerConfig.Auth = auth
			require.NoError(t, cfg.Validate(), "with an authenticator")
		})
	}

	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = ""
	require.ErrorContains(t, cfg.Validate(), "endpoint: is required")
}

// TestValidateBlankToken: a token that is empty once its surrounding
// whitespace is trimmed (as every token is) is refused, naming the field,
// whatever the endpoint: it would let a blank Authorization header in.
func TestValidateBlankToken(t *testing.T) {
	for _, endpoint := range []string{"0.0.0.0:4320", "127.0.0.1:4320"} {
		for _, token := range []string{"\n", " ", "\t\r\n", "\u00a0", " \u2003\n"} {
			t.Run(fmt.Sprintf("%s/%q", endpoint, token), func(t *testing.T) {
				cfg := createDefaultConfig().(*Config)
				cfg.ServerConfig.NetAddr.Endpoint = endpoint
				cfg.Token = configopaque.String(token)
				err := cfg.Validate()
				require.Error(t, err)
				assert.Contains(t, err.Error(), "token")
				assert.Contains(t, err.Error(), "blank")
			})
		}
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Token = " tok\n"
	require.NoError(t, cfg.Validate(), "a token with a trailing newline is the token")
}

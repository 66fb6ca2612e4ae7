package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"fmt"
	"net"
	"strings"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
)

// Config is the configuration of the session_control extension.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, tls, auth (an
	// authenticator extension), cors, timeouts.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// Token, if set, is required of every request as
	// `Authorization: Bearer <token>`.
	Token configopaque.String `mapstructure:"token"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

// Validate refuses an endpoint other hosts can reach when nothing
// authenticates its requests: the API starts and stops captures and
// replays.
func (cfg *Config) Validate() error {
	addr := cfg.ServerConfig.NetAddr
	if addr.Endpoint == "" {
		return confutil.Errorf("endpoint", "is required (e.g. 127.0.0.1:4320)")
	}
	if cfg.Token != "" && strings.TrimSpace(string(cfg.Token)) == "" {
		// Tokens are compared trimmed (a Secret file ends in a newline):
		// this one is no token, and would match a blank header.
		return confutil.Errorf("token", "is blank (only whitespace, e.g. an empty Secret file): set a token, or leave token unset")
	}
	local, err := isLocal(addr)
	if err != nil {
		return confutil.In("endpoint", err)
	}
	if local || cfg.Token != "" || cfg.ServerConfig.Auth.HasValue() {
		return nil
	}
	return confutil.Errorf("endpoint", "%q is not a loopback address and neither auth nor token is set, so anyone who reaches it "+
		"could start and stop captures and replays: set token (clients then send \"Authorization: Bearer <token>\"), "+
		"or auth with an authenticator extension, or listen on loopback (127.0.0.1:4320)", addr.Endpoint)
}

// isLocal reports whether only this machine can reach addr: a loopback
// address (127.0.0.0/8, ::1, localhost) or a unix socket. An empty host
// (":4320") listens on every interface.
func isLocal(addr confignet.AddrConfig) (bool, error) {
	switch addr.Transport {
	case confignet.TransportTypeUnix, confignet.TransportTypeUnixgram, confignet.TransportTypeUnixPacket:
		return true, nil
	}
	host, _, err := net.SplitHostPort(addr.Endpoint)
	if err != nil {
		return false, fmt.Errorf("%q: %w (want host:port, e.g. 127.0.0.1:4320)", addr.Endpoint, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

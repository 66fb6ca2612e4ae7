package devstack // import "github.com/recordreplay/otelcol-recordreplay/internal/devstack"

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Settings are what the stack runs with: from the environment (DEV_*), or,
// while the stack runs, those it was started with (DEV_DIR/dev.state).
type Settings struct {
	S3Port    int    `json:"s3_port"`
	Bucket    string `json:"bucket"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	GRPC      string `json:"otlp_grpc"` // host:port the collector listens on
	HTTP      string `json:"otlp_http"`
	Health    string `json:"health"`
	Config    string `json:"config"` // relative to the repository, or absolute
}

// getenv returns the first of names that is set and not empty, else def,
// and the name it came from (for messages).
func getenv(env func(string) string, def string, names ...string) (string, string) {
	for _, n := range names {
		if v := env(n); v != "" {
			return v, n
		}
	}
	return def, names[0]
}

// settingsFromEnv reads the DEV_* variables (with their defaults) and checks them.
func settingsFromEnv(env func(string) string) (Settings, error) {
	var s Settings
	port, name := getenv(env, "9000", "DEV_S3_PORT")
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return s, fmt.Errorf("%s=%s: want a port number (1-65535)", name, port)
	}
	s.S3Port = p
	s.Bucket, _ = getenv(env, "otel-data", "DEV_BUCKET")
	s.AccessKey, _ = getenv(env, "recordreplay", "DEV_ACCESS_KEY")
	s.SecretKey, _ = getenv(env, "recordreplay-dev-secret", "DEV_SECRET_KEY")
	s.Config, _ = getenv(env, "configs/capture-minio.yaml", "DEV_CONFIG")
	for _, e := range []struct {
		to    *string
		def   string
		names []string
	}{
		{&s.GRPC, "127.0.0.1:4317", []string{"DEV_OTLP_GRPC_ENDPOINT", "OTLP_GRPC_ENDPOINT"}},
		{&s.HTTP, "127.0.0.1:4318", []string{"DEV_OTLP_HTTP_ENDPOINT", "OTLP_HTTP_ENDPOINT"}},
		{&s.Health, "127.0.0.1:13133", []string{"DEV_HEALTH_ENDPOINT", "HEALTH_ENDPOINT"}},
	} {
		v, name := getenv(env, e.def, e.names...)
		if _, err := parseHostPort(v); err != nil {
			return s, fmt.Errorf("%s=%s: %w", name, v, err)
		}
		*e.to = v
	}
	return s, nil
}

// parseHostPort checks a host:port listen address and returns its port.
func parseHostPort(addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("want host:port (%w)", err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("port %q: want a number from 1 to 65535", port)
	}
	return port, nil
}

// seconds reads a whole number of seconds from name (def when unset).
func seconds(env func(string) string, name string, def int) (time.Duration, error) {
	v, _ := getenv(env, strconv.Itoa(def), name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%s: want a whole number of seconds", name, v)
	}
	return time.Duration(n) * time.Second, nil
}

// S3Addr is the S3 server's listen address.
func (s Settings) S3Addr() string { return "127.0.0.1:" + strconv.Itoa(s.S3Port) }

// S3Endpoint is the S3 server's URL.
func (s Settings) S3Endpoint() string { return "http://" + s.S3Addr() }

// readState reads the settings of the running stack.
func readState(path string) (Settings, error) {
	var s Settings
	data, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.S3Port == 0 || s.Bucket == "" || s.GRPC == "" || s.HTTP == "" || s.Health == "" || s.Config == "" {
		return s, fmt.Errorf("%s: incomplete", path)
	}
	return s, nil
}

// writeState writes the settings of the stack being started.
func writeState(path string, s Settings) error {
	data, err := json.MarshalIndent(struct {
		Comment string `json:"_comment"`
		Settings
	}{"settings of the dev stack started " + time.Now().UTC().Format(time.RFC3339) + " (read by make dev-up)", s}, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

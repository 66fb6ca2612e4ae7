// Command imagestart is the container image's entrypoint: it runs the
// collector, /otelcol-recordreplay, in its place (exec, so the collector is
// the container's process 1 and gets its signals).
//
// With arguments (the container's command, e.g. `--config
// /etc/otelcol-recordreplay/replay.yaml`) the collector gets them as they
// are. Without, it runs the image's default config: config.yaml
// (configs/container.yaml: record everything received into sessions), or,
// when FORWARD_ENDPOINT is set, tap.yaml (configs/tap.yaml: forward
// everything to FORWARD_ENDPOINT and record a copy that never holds the
// forwarding up).
//
// It gives the replay config (replay.yaml, configs/replay.yaml) the settings
// `make replay` gives it, from the same variables: REPLAY_PROTOCOL (grpc |
// http, default http) picks REPLAY_EXPORTER, otlp_grpc or otlp_http, when
// REPLAY_ENDPOINT is set and REPLAY_EXPORTER is not; REPLAY_HEADERS given as
// name=value pairs separated by commas becomes the YAML map the config takes.
// A bad REPLAY_PROTOCOL, a bare host for OTLP/HTTP or a pair that is not
// name=value stop it before the collector runs (exit status 2).
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
)

const (
	collector     = "/otelcol-recordreplay"
	captureConfig = "/etc/otelcol-recordreplay/config.yaml"
	tapConfig     = "/etc/otelcol-recordreplay/tap.yaml"
)

// collectorArgs returns the collector's arguments for the container's.
func collectorArgs(given []string, getenv func(string) string) []string {
	if len(given) > 0 {
		return given
	}
	if getenv("FORWARD_ENDPOINT") != "" {
		return []string{"--config", tapConfig}
	}
	return []string{"--config", captureConfig}
}

// isHeaderName reports whether s is an HTTP header name: a token (RFC 9110)
// without the quote, as scripts/replay.sh takes it. Checked by hand: regexp
// would add a fifth to the entrypoint's size.
func isHeaderName(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// headersYAML turns name=value pairs separated by commas into the YAML map
// of configs/replay.yaml's REPLAY_HEADERS, each name and value trimmed and
// single-quoted; a YAML map or list ({...}, [...]) is returned as it is.
// scripts/replay.sh does the same for make replay.
func headersYAML(s string) (string, error) {
	if t := strings.TrimSpace(s); t == "" || t[0] == '{' || t[0] == '[' {
		return s, nil
	}
	const want = `name=value pairs separated by commas, e.g. authorization=Bearer x; a value with a comma: a YAML map, '{name: "a, b"}'`
	quote := func(s string) string { return "'" + strings.ReplaceAll(strings.TrimSpace(s), "'", "''") + "'" }
	var pairs []string
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		// (never the value in an error: it may be a secret)
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return "", fmt.Errorf(`REPLAY_HEADERS: pair %d has no "=" (%s)`, len(pairs)+1, want)
		}
		if !isHeaderName(strings.TrimSpace(name)) {
			return "", fmt.Errorf("REPLAY_HEADERS: pair %d: %q is not a header name (%s)", len(pairs)+1, strings.TrimSpace(name), want)
		}
		pairs = append(pairs, quote(name)+": "+quote(value))
	}
	return "{" + strings.Join(pairs, ", ") + "}", nil
}

// replayEnv returns the collector's environment: environ with the replay
// settings derived as make replay derives them.
func replayEnv(environ []string) ([]string, error) {
	get := func(name string) string {
		for _, kv := range environ { // the first wins, as in Getenv
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				return v
			}
		}
		return ""
	}
	env := environ
	put := func(name, value string) {
		env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
		env = append(env, name+"="+value)
	}
	protocol := get("REPLAY_PROTOCOL")
	if protocol == "" {
		protocol = "http"
	}
	if protocol != "grpc" && protocol != "http" {
		return nil, fmt.Errorf("REPLAY_PROTOCOL=%s: want grpc or http", protocol)
	}
	if endpoint := get("REPLAY_ENDPOINT"); endpoint != "" && get("REPLAY_EXPORTER") == "" {
		if protocol == "http" && !strings.Contains(endpoint, "://") {
			return nil, fmt.Errorf("REPLAY_ENDPOINT=%s: OTLP/HTTP needs a URL (http://%s); for OTLP/gRPC to host:port set REPLAY_PROTOCOL=grpc", endpoint, endpoint)
		}
		put("REPLAY_EXPORTER", "otlp_"+protocol)
	}
	if h := get("REPLAY_HEADERS"); h != "" {
		y, err := headersYAML(h)
		if err != nil {
			return nil, err
		}
		put("REPLAY_HEADERS", y)
	}
	return env, nil
}

func main() {
	argv := append([]string{collector}, collectorArgs(os.Args[1:], os.Getenv)...)
	env, err := replayEnv(os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagestart: %v\n", err)
		os.Exit(2)
	}
	err = syscall.Exec(collector, argv, env)
	fmt.Fprintf(os.Stderr, "imagestart: cannot run %s: %v\n", collector, err)
	os.Exit(127)
}

// Package otelcoltest runs the built collector binary for end-to-end tests:
// start it with a config, talk OTLP to it, stop it with SIGTERM. Tests skip
// when the binary is missing, unless RECORDREPLAY_REQUIRE_OTELCOL=1 (as
// `make test` sets), in which case they fail.
package otelcoltest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
)

// Bin finds the collector binary: $OTELCOL_BIN, then bin/otelcol-recordreplay
// at the repository root.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("OTELCOL_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if dir, err := os.Getwd(); err == nil {
		for ; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
				continue
			}
			p := filepath.Join(dir, "bin", "otelcol-recordreplay")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("RECORDREPLAY_REQUIRE_OTELCOL") == "1" {
		tb.Fatal("bin/otelcol-recordreplay not found: run `make build`")
	}
	tb.Skip("bin/otelcol-recordreplay not found: run `make build` (or set OTELCOL_BIN)")
	return ""
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(tb testing.TB) int { return ports.Free(tb) }

// Collector is one running collector process.
type Collector struct {
	GRPC, HTTP, Health string // host:port
	Control            string // host:port of the session_control API (CONTROL_ENDPOINT, {{CONTROL}})
	Dir                string // working directory of the process
	logPath            string
	p                  *proc.Process
}

// Start launches the collector and waits until its health check (if the
// config has one) reports ready.
func Start(tb testing.TB, config string, env ...string) *Collector {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		c := Launch(tb, config, env...)
		if !strings.Contains(config, "health_check") {
			return c
		}
		if c.retryable(tb, attempt) {
			continue
		}
		return c
	}
}

// retryable waits for the collector to become healthy; it reports true
// when the collector died because a port was taken meanwhile (another
// attempt with fresh ports will do), and fails the test otherwise.
func (c *Collector) retryable(tb testing.TB, attempt int) bool {
	tb.Helper()
	err := c.waitHealthy()
	if err == nil {
		return false
	}
	if attempt < 3 && strings.Contains(c.Log(), "address already in use") {
		tb.Logf("collector could not bind (attempt %d), retrying with other ports", attempt)
		return true
	}
	tb.Fatalf("%v:\n%s", err, c.LogTail(40))
	return false
}

// StartFile runs the collector on an existing config file, with the
// default config's address variables (OTLP_GRPC_ENDPOINT, OTLP_HTTP_ENDPOINT,
// HEALTH_ENDPOINT, CONTROL_ENDPOINT, TELEMETRY_PORT) set to fresh loopback addresses, and
// waits for its health check if it has one. If a port was taken between
// choosing it and the collector binding it, it starts again with others.
func StartFile(tb testing.TB, configPath string, env ...string) *Collector {
	tb.Helper()
	abs, err := filepath.Abs(configPath)
	require.NoError(tb, err)
	data, err := os.ReadFile(abs)
	require.NoError(tb, err)
	for attempt := 1; ; attempt++ {
		c := newCollector(tb)
		full := append([]string{
			"OTLP_GRPC_ENDPOINT=" + c.GRPC, "OTLP_HTTP_ENDPOINT=" + c.HTTP, "HEALTH_ENDPOINT=" + c.Health,
			"CONTROL_ENDPOINT=" + c.Control, "TELEMETRY_PORT=" + strconv.Itoa(FreePort(tb)),
		}, env...)
		c.run(tb, abs, full)
		if !strings.Contains(string(data), "health_check") || !c.retryable(tb, attempt) {
			return c
		}
	}
}

func newCollector(tb testing.TB) *Collector {
	return &Collector{
		GRPC:    "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		HTTP:    "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		Health:  "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		Control: "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		Dir:     tb.TempDir(),
	}
}

// Launch writes config (with {{GRPC}}, {{HTTP}}, {{HEALTH}}, {{CONTROL}} and
// {{DIR}} replaced by fresh loopback addresses and the working directory) and starts
// the collector in a temporary directory, without waiting for it. The
// process is killed when the test ends.
func Launch(tb testing.TB, config string, env ...string) *Collector {
	tb.Helper()
	c := newCollector(tb)
	config = strings.NewReplacer("{{GRPC}}", c.GRPC, "{{HTTP}}", c.HTTP, "{{HEALTH}}", c.Health, "{{CONTROL}}", c.Control,
		"{{DIR}}", c.Dir).Replace(config)
	cfgPath := filepath.Join(c.Dir, "config.yaml")
	require.NoError(tb, os.WriteFile(cfgPath, []byte(config), 0o644))
	c.run(tb, cfgPath, env)
	return c
}

func (c *Collector) run(tb testing.TB, cfgPath string, env []string) {
	tb.Helper()
	c.logPath = filepath.Join(c.Dir, "collector.log")
	p, err := proc.Start(proc.Spec{
		Path: Bin(tb), Args: []string{"--config", cfgPath}, Env: env, Dir: c.Dir, Log: c.logPath, DieWithParent: true,
	})
	require.NoError(tb, err)
	c.p = p
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("collector log (last lines):\n%s", c.LogTail(40))
		}
	})
}

// Pid is the process id.
func (c *Collector) Pid() int { return c.p.Pid() }

// WaitLog waits until the log contains text.
func (c *Collector) WaitLog(tb testing.TB, text string, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch err := proc.WaitLog(ctx, c.logPath, text, c.p); {
	case errors.Is(err, proc.ErrExited):
		tb.Fatalf("collector exited (%v) before logging %q:\n%s", c.p.Err(), text, c.LogTail(40))
	case err != nil:
		tb.Fatalf("collector did not log %q within %s:\n%s", text, timeout, c.LogTail(40))
	}
}

// Log returns what the collector printed so far.
func (c *Collector) Log() string {
	data, _ := os.ReadFile(c.logPath)
	return string(data)
}

// LogTail returns the last n lines of the log.
func (c *Collector) LogTail(n int) string {
	lines := strings.Split(c.Log(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitHealthy waits until the health check extension reports ready.
func (c *Collector) WaitHealthy(tb testing.TB) {
	tb.Helper()
	if err := c.waitHealthy(); err != nil {
		tb.Fatalf("%v:\n%s", err, c.LogTail(40))
	}
}

func (c *Collector) waitHealthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := proc.WaitHTTP(ctx, "http://"+c.Health+"/", func(status int) bool { return status == http.StatusOK }, c.p)
	switch {
	case errors.Is(err, proc.ErrExited):
		return fmt.Errorf("collector exited during start-up (%v)", c.p.Err())
	case err != nil:
		return errors.New("collector not healthy within 60s")
	}
	return nil
}

// Stop sends SIGTERM and waits for a clean exit (status 0).
func (c *Collector) Stop(tb testing.TB) {
	tb.Helper()
	killed, err := c.p.Stop(2 * time.Minute)
	require.NoError(tb, err)
	if killed {
		tb.Fatalf("collector did not exit within 2m of SIGTERM (killed):\n%s", c.LogTail(40))
	}
	require.NoError(tb, c.p.Err(), "collector exit status; log:\n%s", c.LogTail(40))
}

// Wait waits for the process to exit by itself and returns its error.
func (c *Collector) Wait(timeout time.Duration) (error, bool) {
	select {
	case <-c.p.Done():
		return c.p.Err(), true
	case <-time.After(timeout):
		return nil, false
	}
}

// postClient gives up on a request after a minute: a collector that does
// not answer fails the test instead of hanging it.
var postClient = &http.Client{Timeout: time.Minute}

func (c *Collector) post(tb testing.TB, path string, body []byte) {
	tb.Helper()
	resp, err := postClient.Post("http://"+c.HTTP+path, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(tb, err)
	defer resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode, "POST %s", path)
}

// SendTracesHTTP posts td to /v1/traces as OTLP/HTTP protobuf.
func (c *Collector) SendTracesHTTP(tb testing.TB, td ptrace.Traces) {
	tb.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	c.post(tb, "/v1/traces", body)
}

// SendMetricsHTTP posts md to /v1/metrics.
func (c *Collector) SendMetricsHTTP(tb testing.TB, md pmetric.Metrics) {
	tb.Helper()
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(tb, err)
	c.post(tb, "/v1/metrics", body)
}

// SendLogsHTTP posts ld to /v1/logs.
func (c *Collector) SendLogsHTTP(tb testing.TB, ld plog.Logs) {
	tb.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(tb, err)
	c.post(tb, "/v1/logs", body)
}

// GRPCClients are OTLP/gRPC clients of a collector.
type GRPCClients struct {
	conn    *grpc.ClientConn
	Traces  ptraceotlp.GRPCClient
	Metrics pmetricotlp.GRPCClient
	Logs    plogotlp.GRPCClient
}

// DialGRPC connects OTLP/gRPC clients; they close when the test ends.
func (c *Collector) DialGRPC(tb testing.TB) *GRPCClients {
	tb.Helper()
	conn, err := grpc.NewClient(c.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return &GRPCClients{conn: conn, Traces: ptraceotlp.NewGRPCClient(conn), Metrics: pmetricotlp.NewGRPCClient(conn), Logs: plogotlp.NewGRPCClient(conn)}
}

// Ctx returns a context with a timeout for one RPC.
func Ctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// String describes the collector.
func (c *Collector) String() string { return fmt.Sprintf("collector grpc=%s http=%s", c.GRPC, c.HTTP) }

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// engine runs the container engine as `make image-test` found it works on
// this machine (scripts/image.sh): CONTAINER_CMD is the command line before
// the subcommand, e.g. "podman" or "env CONTAINERS_CONF=… podman --runtime
// runc --cgroup-manager=cgroupfs"; CONTAINER_NET is "bridge" when published
// ports work, else "host".
type engine struct {
	cmd   []string
	host  bool
	image string
}

func (e engine) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.cmd[0], append(e.cmd[1:], args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (e engine) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(t, args...)
	require.NoError(t, err, "%s %s:\n%s", strings.Join(e.cmd, " "), strings.Join(args, " "), out)
	return out
}

// container is one running container of the image.
type container struct {
	name               string
	grpc, http, health string // host:port as seen from the host
	telemetry          string
	eng                engine
}

// start runs the image detached with the volume dir at /data. In bridge
// mode the container listens on its defaults and the ports are published
// on the host's loopback; in host mode it listens on free loopback ports.
func (e engine) start(t *testing.T, role, volume string, env []string, args ...string) *container {
	t.Helper()
	c := &container{name: fmt.Sprintf("rr-imagetest-%s-%08x", role, rand.Uint32()), eng: e}
	p := func() string { return "127.0.0.1:" + strconv.Itoa(otelcoltest.FreePort(t)) }
	c.grpc, c.http, c.health, c.telemetry = p(), p(), p(), p()
	runArgs := []string{"run", "-d", "--name", c.name, "--read-only", "-v", volume + ":/data"}
	if e.host {
		_, tport, _ := strings.Cut(c.telemetry, ":")
		runArgs = append(runArgs, "--net=host",
			"-e", "OTLP_GRPC_ENDPOINT="+c.grpc, "-e", "OTLP_HTTP_ENDPOINT="+c.http,
			"-e", "HEALTH_ENDPOINT="+c.health, "-e", "TELEMETRY_HOST=127.0.0.1", "-e", "TELEMETRY_PORT="+tport)
	} else {
		runArgs = append(runArgs, "-p", c.grpc+":4317", "-p", c.http+":4318", "-p", c.health+":13133", "-p", c.telemetry+":8888")
	}
	for _, kv := range env {
		runArgs = append(runArgs, "-e", kv)
	}
	runArgs = append(runArgs, e.image)
	runArgs = append(runArgs, args...)
	e.must(t, runArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := e.run(t, "logs", c.name)
			t.Logf("%s log:\n%s", c.name, lastLines(logs, 40))
		}
		_, _ = e.run(t, "rm", "-f", "-t", "0", c.name)
	})
	return c
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (c *container) logs(t *testing.T) string {
	out, _ := c.eng.run(t, "logs", c.name)
	return out
}

func (c *container) waitLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(c.logs(t), text) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not log %q within %v:\n%s", c.name, text, timeout, lastLines(c.logs(t), 40))
}

// waitHealthy polls the health check from the host until it answers 200.
func (c *container) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.health + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: health check %s not 200 within 60s:\n%s", c.name, c.health, lastLines(c.logs(t), 40))
}

// stop is `podman stop` (SIGTERM, SIGKILL after 10 s); it returns how long
// the container took to exit and its exit code.
func (c *container) stop(t *testing.T) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	c.eng.must(t, "stop", "-t", "10", c.name)
	took := time.Since(start)
	code, err := strconv.Atoi(c.eng.must(t, "inspect", "--format", "{{.State.ExitCode}}", c.name))
	require.NoError(t, err)
	return took, code
}

// volume is a host directory for /data, writable by the image's user.
func volume(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(dir, 10001, 10001))
	} else {
		require.NoError(t, os.Chmod(dir, 0o777)) // rootless: the container's 10001 is a sub-uid
	}
	return dir
}

// TestImage is `make image-test`: the image built by `make image`, run as a
// user would run it. The capture container receives OTLP traces, metrics and
// logs over gRPC and HTTP from the host, writes the session onto the mounted
// volume as uid 10001, answers its health check, and on `stop` (SIGTERM)
// exits 0 within 10 s with the session completed. Then a second container of
// the same image, run with replay.yaml and its environment as `make replay`
// sets it, replays that session into a third one capturing again: the two
// sessions hold the same items. Skipped unless RECORDREPLAY_IMAGE is set.
func TestImage(t *testing.T) {
	image := os.Getenv("RECORDREPLAY_IMAGE")
	if image == "" {
		t.Skip("RECORDREPLAY_IMAGE not set: run `make image-test`")
	}
	cmd := strings.Fields(os.Getenv("CONTAINER_CMD"))
	require.NotEmpty(t, cmd, "CONTAINER_CMD (set by scripts/image.sh)")
	eng := engine{cmd: cmd, host: os.Getenv("CONTAINER_NET") == "host", image: image}

	t.Run("inspect", func(t *testing.T) {
		var info []struct {
			Size   int64
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				ExposedPorts map[string]struct{}
				Volumes      map[string]struct{}
				Labels       map[string]string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(eng.must(t, "image", "inspect", image)), &info))
		require.Len(t, info, 1)
		cfg := info[0].Config
		t.Logf("image %s: %d bytes (%.1f MB); user %s; entrypoint %v; cmd %v; ports %v; volumes %v",
			image, info[0].Size, float64(info[0].Size)/1e6, cfg.User, cfg.Entrypoint, cfg.Cmd, keys(cfg.ExposedPorts), keys(cfg.Volumes))
		assert.Less(t, info[0].Size, int64(60e6), "image size (target: under 60 MB)")
		assert.Equal(t, "10001:10001", cfg.User)
		assert.Equal(t, []string{"/otelcol-recordreplay"}, cfg.Entrypoint)
		assert.Equal(t, []string{"--config", "/etc/otelcol-recordreplay/config.yaml"}, cfg.Cmd)
		for _, p := range []string{"4317/tcp", "4318/tcp", "13133/tcp"} {
			assert.Contains(t, cfg.ExposedPorts, p)
		}
		assert.Contains(t, cfg.Volumes, "/data")
		for _, l := range []string{"source", "version", "licenses"} {
			assert.NotEmpty(t, cfg.Labels["org.opencontainers.image."+l], "label %s", l)
		}
		// what the binaries are is checked by scripts/image.sh (static, CGO_ENABLED=0);
		// here, that sessionctl runs in the image and its default ./data is the volume
		out := eng.must(t, "run", "--rm", "--entrypoint", "/sessionctl", image, "prune", "--older-than", "1h", "--dry-run")
		t.Logf("sessionctl in the image: %s", out)
	})
	if t.Failed() {
		return
	}

	recorded := volume(t)
	id := fmt.Sprintf("image-test-%08x", rand.Uint32())
	capture := eng.start(t, "capture", recorded, []string{"CAPTURE_SESSION_ID=" + id, "CAPTURE_DESCRIPTION=make image-test"})
	capture.waitHealthy(t)

	// traces, metrics and logs over both ports, from the host
	c := &otelcoltest.Collector{GRPC: capture.grpc, HTTP: capture.http}
	base := time.Now().Add(-time.Minute)
	var spans, points, records int
	for i := range 3 {
		td := sessiontest.Traces("grpc-client", i, 20, base)
		md, ld := testdata.GenerateMetrics(2+i), testdata.GenerateLogs(3+i)
		spans, points, records = spans+td.SpanCount(), points+md.DataPointCount(), records+ld.LogRecordCount()
		g := c.DialGRPC(t)
		_, err := g.Traces.Export(otelcoltest.Ctx(t), ptraceotlp.NewExportRequestFromTraces(td))
		require.NoError(t, err)
		_, err = g.Metrics.Export(otelcoltest.Ctx(t), pmetricotlp.NewExportRequestFromMetrics(md))
		require.NoError(t, err)
		_, err = g.Logs.Export(otelcoltest.Ctx(t), plogotlp.NewExportRequestFromLogs(ld))
		require.NoError(t, err)

		td = sessiontest.Traces("http-client", 100+i, 15, base)
		md, ld = testdata.GenerateMetrics(4+i), testdata.GenerateLogs(2+i)
		spans, points, records = spans+td.SpanCount(), points+md.DataPointCount(), records+ld.LogRecordCount()
		c.SendTracesHTTP(t, td)
		c.SendMetricsHTTP(t, md)
		c.SendLogsHTTP(t, ld)
	}

	took, code := capture.stop(t)
	t.Logf("capture container: exit %d %v after stop", code, took.Round(time.Millisecond))
	assert.Equal(t, 0, code, "exit code after SIGTERM")
	assert.Less(t, took, 10*time.Second, "stop took (SIGKILL comes at 10 s)")
	capture.waitLog(t, "Shutdown complete", time.Second)

	st, err := sessionstore.OpenFilesystem(recorded)
	require.NoError(t, err)
	got := sessiontest.Read(t, st, id)
	assert.Equal(t, sessionstore.StatusCompleted, got.Meta.Status)
	assert.Equal(t, spans, got.Traces.SpanCount(), "spans stored")
	assert.Equal(t, points, got.Metrics.DataPointCount(), "data points stored")
	assert.Equal(t, records, got.Logs.LogRecordCount(), "log records stored")
	sessiontest.CheckCounts(t, got)
	t.Logf("session %s on the volume: %s, %d spans, %d data points, %d log records in %d objects",
		id, got.Meta.Status, got.Traces.SpanCount(), got.Metrics.DataPointCount(), got.Logs.LogRecordCount(), len(got.Objects))
	if os.Geteuid() == 0 { // rootful: the container's uid is the host's
		files := 0
		require.NoError(t, filepath.WalkDir(filepath.Join(recorded, "sessions", id), func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			info, err := d.Info()
			require.NoError(t, err)
			assert.Equal(t, uint32(10001), info.Sys().(*syscall.Stat_t).Uid, "owner of %s", p)
			files++
			return nil
		}))
		assert.Greater(t, files, 4, "files of the session")
	}

	// replay it with the image's replay.yaml, set up as `make replay` does,
	// into a third container capturing again (replayed as recorded: no
	// timestamp rewriting, so the sessions must hold the same bytes)
	if t.Failed() {
		return
	}
	replayed := volume(t)
	id2 := id + "-replayed"
	target := eng.start(t, "target", replayed, []string{"CAPTURE_SESSION_ID=" + id2})
	target.waitHealthy(t)
	replay := eng.startReplay(t, recorded, target.http, []string{
		"REPLAY_SESSION=" + id, "REPLAY_SPEED=0", "REPLAY_TIMESTAMPS=none", "REPLAY_EXPORTER=otlp_http",
	})
	replay.waitLog(t, "Replay finished", 2*time.Minute)
	took, code = replay.stop(t)
	assert.Equal(t, 0, code, "replay container exit code after SIGTERM (%v)", took)
	took, code = target.stop(t)
	assert.Equal(t, 0, code, "target container exit code after SIGTERM (%v)", took)

	st2, err := sessionstore.OpenFilesystem(replayed)
	require.NoError(t, err)
	again := sessiontest.Read(t, st2, id2)
	assert.Equal(t, sessionstore.StatusCompleted, again.Meta.Status)
	t.Logf("replayed into %s: %s, %d spans, %d data points, %d log records", id2, again.Meta.Status,
		again.Traces.SpanCount(), again.Metrics.DataPointCount(), again.Logs.LogRecordCount())
	assert.Equal(t, sessiontest.Canonical(t, got.Traces, got.Metrics, got.Logs),
		sessiontest.Canonical(t, again.Traces, again.Metrics, again.Logs), "replayed session holds what was recorded")
}

// startReplay runs the image with /etc/otelcol-recordreplay/replay.yaml on
// the recorded volume (read-only), exporting over OTLP/HTTP to target
// (host:port on the host's loopback). It runs on the host network, so that
// the host's loopback is its own.
func (e engine) startReplay(t *testing.T, recorded, target string, env []string) *container {
	t.Helper()
	c := &container{name: fmt.Sprintf("rr-imagetest-replay-%08x", rand.Uint32()), eng: e}
	args := []string{"run", "-d", "--name", c.name, "--read-only", "--net=host", "-v", recorded + ":/data:ro",
		"-e", "REPLAY_ENDPOINT=http://" + target, "-e", "TELEMETRY_PORT=" + strconv.Itoa(otelcoltest.FreePort(t))}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(args, e.image, "--config", "/etc/otelcol-recordreplay/replay.yaml")
	e.must(t, args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", c.name, lastLines(c.logs(t), 40))
		}
		_, _ = e.run(t, "rm", "-f", "-t", "0", c.name)
	})
	return c
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

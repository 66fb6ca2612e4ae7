package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// engine runs the container engine as `make image-test` found it works on
// this machine (scripts/image-test.sh): CONTAINER_CMD is the command line before
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

// run describes one container of the image to start.
type run struct {
	role    string
	hostNet bool     // on the host's network even where published ports work
	flags   []string // further `run` flags, such as volumes
	env     []string
	args    []string // the command (default: none: the image's default config)
}

// start runs the image detached and read-only. With published ports (bridge
// mode) the container listens on its defaults and its ports are published
// on the host's loopback; on the host's network it listens on free loopback
// ports.
func (e engine) start(t *testing.T, r run) *container {
	t.Helper()
	c := &container{name: fmt.Sprintf("rr-imagetest-%s-%08x", r.role, rand.Uint32()), eng: e}
	p := func() string { return "127.0.0.1:" + strconv.Itoa(otelcoltest.FreePort(t)) }
	c.grpc, c.http, c.health, c.telemetry = p(), p(), p(), p()
	runArgs := []string{"run", "-d", "--name", c.name, "--read-only"}
	if e.host || r.hostNet {
		_, tport, _ := strings.Cut(c.telemetry, ":")
		runArgs = append(runArgs, "--net=host",
			"-e", "OTLP_GRPC_ENDPOINT="+c.grpc, "-e", "OTLP_HTTP_ENDPOINT="+c.http,
			"-e", "HEALTH_ENDPOINT="+c.health, "-e", "TELEMETRY_HOST=127.0.0.1", "-e", "TELEMETRY_PORT="+tport)
	} else {
		runArgs = append(runArgs, "-p", c.grpc+":4317", "-p", c.http+":4318", "-p", c.health+":13133", "-p", c.telemetry+":8888")
	}
	runArgs = append(runArgs, r.flags...)
	for _, kv := range r.env {
		runArgs = append(runArgs, "-e", kv)
	}
	runArgs = append(runArgs, e.image)
	runArgs = append(runArgs, r.args...)
	e.must(t, runArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", c.name, lastLines(c.logs(t), 40))
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

// wait waits for the container to exit by itself and returns its exit code.
func (c *container) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.eng.must(t, "inspect", "--format", "{{.State.Running}}", c.name) == "false" {
			code, err := strconv.Atoi(c.eng.must(t, "inspect", "--format", "{{.State.ExitCode}}", c.name))
			require.NoError(t, err)
			return code
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s still running after %v:\n%s", c.name, timeout, lastLines(c.logs(t), 40))
	return -1
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

// imageEngine skips the test unless `make image-test` runs it.
func imageEngine(t *testing.T) engine {
	image := os.Getenv("RECORDREPLAY_IMAGE")
	if image == "" {
		t.Skip("RECORDREPLAY_IMAGE not set: run `make image-test`")
	}
	cmd := strings.Fields(os.Getenv("CONTAINER_CMD"))
	require.NotEmpty(t, cmd, "CONTAINER_CMD (set by scripts/image-test.sh)")
	return engine{cmd: cmd, host: os.Getenv("CONTAINER_NET") == "host", image: image}
}

// TestImage is `make image-test`: the image built by `make image`, run as a
// user would run it. The capture container receives OTLP traces, metrics and
// logs over gRPC and HTTP from the host, writes the session onto the mounted
// volume as uid 10001, answers its health check, and on `stop` (SIGTERM)
// exits 0 within 10 s with the session completed. Then a second container of
// the same image, run with replay.yaml and make replay's variables
// (REPLAY_PROTOCOL=grpc, REPLAY_HEADERS as name=value pairs), replays that
// session over OTLP/gRPC into a third one capturing again: the two sessions
// hold the same items. Skipped unless RECORDREPLAY_IMAGE is set.
func TestImage(t *testing.T) {
	eng := imageEngine(t)
	image := eng.image

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
		assert.Less(t, info[0].Size, int64(80e6), "image size (target: under 80 MB)")
		assert.Equal(t, "10001:10001", cfg.User)
		assert.Equal(t, []string{"/imagestart"}, cfg.Entrypoint, "execs the collector with the default config (or the tap)")
		assert.Empty(t, cfg.Cmd)
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
	capture := eng.start(t, run{role: "capture", flags: []string{"-v", recorded + ":/data"},
		env: []string{"CAPTURE_SESSION_ID=" + id, "CAPTURE_DESCRIPTION=make image-test"}})
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

	// replay it with the image's replay.yaml, set up with make replay's
	// variables (the entrypoint picks the exporter from REPLAY_PROTOCOL and
	// turns REPLAY_HEADERS into the config's map), over OTLP/gRPC into a
	// third container capturing again (replayed as recorded: no timestamp
	// rewriting, so the sessions must hold the same bytes)
	if t.Failed() {
		return
	}
	replayed := volume(t)
	id2 := id + "-replayed"
	target := eng.start(t, run{role: "target", flags: []string{"-v", replayed + ":/data"}, env: []string{"CAPTURE_SESSION_ID=" + id2}})
	target.waitHealthy(t)
	// on the host's network, so that the target's published port on the
	// host's loopback is its own loopback
	replay := eng.start(t, run{role: "replay", hostNet: true, flags: []string{"-v", recorded + ":/data:ro"},
		env: []string{
			"REPLAY_SESSION=" + id, "REPLAY_SPEED=0", "REPLAY_TIMESTAMPS=none",
			"REPLAY_PROTOCOL=grpc", "REPLAY_ENDPOINT=" + target.grpc, "REPLAY_INSECURE=true",
			"REPLAY_HEADERS=x-replay=image-test, x-scope-orgid=team-a",
			"REPLAY_SHUTDOWN_WHEN_DONE=true", // exits by itself, as a Job's pod must
		},
		args: []string{"--config", "/etc/otelcol-recordreplay/replay.yaml"}})
	code = replay.wait(t, 2*time.Minute)
	assert.Equal(t, 0, code, "replay container's exit code when the replay is over")
	replay.waitLog(t, "Replay finished", time.Second)
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

// TestImageTap: the image with FORWARD_ENDPOINT set and no command runs the
// tap (configs/tap.yaml): what it receives reaches the backend, and a copy
// is recorded on the volume.
func TestImageTap(t *testing.T) {
	eng := imageEngine(t)
	sink := new(consumertest.TracesSink)
	backend, _ := serveOTLP(t, "grpc", sink, nil)
	recorded := volume(t)
	tap := eng.start(t, run{role: "tap", hostNet: true, flags: []string{"-v", recorded + ":/data"},
		env: []string{"FORWARD_ENDPOINT=" + backend, "FORWARD_INSECURE=true", "CAPTURE_SESSION_ID=image-tap"}})
	tap.waitHealthy(t)
	tap.waitLog(t, "Everything is ready", 10*time.Second)
	c := &otelcoltest.Collector{GRPC: tap.grpc, HTTP: tap.http}
	for i := range 5 {
		c.SendTracesHTTP(t, sessiontest.Traces("tapped", i, 20, time.Now()))
	}
	require.Eventually(t, func() bool { return sink.SpanCount() == 100 }, 30*time.Second, 20*time.Millisecond,
		"the backend got %d of 100 spans", sink.SpanCount())
	_, code := tap.stop(t)
	assert.Equal(t, 0, code, "exit code after SIGTERM")
	st, err := sessionstore.OpenFilesystem(recorded)
	require.NoError(t, err)
	got := sessiontest.Read(t, st, "image-tap")
	assert.Equal(t, 100, got.Traces.SpanCount(), "the copy on the volume")
	assert.Equal(t, sessionstore.StatusCompleted, got.Meta.Status)
}

// TestImageS3OverTLS captures into an S3 server over HTTPS from the image,
// as the S3 variant of the Kubernetes capture does. The image's CA bundle is
// the one its binaries use: with it as shipped, the server's certificate
// (from a CA made for the test) is refused by name; with the test CA added
// to that file, the session is stored and completed.
func TestImageS3OverTLS(t *testing.T) {
	eng := imageEngine(t)
	srv := s3server.Start(t)
	const bucket = "image-test"
	srv.CreateBucket(t, bucket)
	endpoint, caPEM := srv.TLS(t)

	// the image's bundle, copied out of a created (never started) container
	dir := t.TempDir()
	name := fmt.Sprintf("rr-imagetest-bundle-%08x", rand.Uint32())
	eng.must(t, "create", "--name", name, eng.image)
	t.Cleanup(func() { _, _ = eng.run(t, "rm", "-f", name) })
	shipped := filepath.Join(dir, "shipped.crt")
	eng.must(t, "cp", name+":/etc/ssl/certs/ca-certificates.crt", shipped)
	bundle, err := os.ReadFile(shipped)
	require.NoError(t, err)
	var certs int
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		_, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		certs++
	}
	t.Logf("the image's CA bundle holds %d certificates", certs)
	assert.Greater(t, certs, 50, "certificates in /etc/ssl/certs/ca-certificates.crt")
	withTestCA := filepath.Join(dir, "with-test-ca.crt")
	require.NoError(t, os.WriteFile(withTestCA, append(append(bundle, '\n'), caPEM...), 0o644))

	s3env := func(id string) []string {
		return []string{
			"STORE=s3", "S3_ENDPOINT=" + endpoint, "S3_BUCKET=" + bucket,
			"AWS_ACCESS_KEY_ID=" + s3server.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3server.SecretKey,
			"CAPTURE_SESSION_ID=" + id,
		}
	}
	// the server is on the host's loopback: these containers use the host's network
	refused := eng.start(t, run{role: "s3-untrusted", hostNet: true, env: s3env("image-tls-untrusted")})
	refused.waitLog(t, "certificate signed by unknown authority", time.Minute)
	refused.waitLog(t, "set store.s3.tls.ca_file", time.Second)

	cfg := srv.Config(bucket, "")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	capture := func(t *testing.T, flags []string, env ...string) {
		id := fmt.Sprintf("image-tls-%08x", rand.Uint32())
		c := eng.start(t, run{role: "s3", hostNet: true, env: append(s3env(id), env...), flags: flags})
		c.waitHealthy(t)
		td := sessiontest.Traces("tls", 1, 25, time.Now())
		(&otelcoltest.Collector{HTTP: c.http}).SendTracesHTTP(t, td)
		took, code := c.stop(t)
		assert.Equal(t, 0, code, "exit code after SIGTERM (%v)", took)
		got := sessiontest.Read(t, st, id)
		assert.Equal(t, sessionstore.StatusCompleted, got.Meta.Status)
		assert.Equal(t, td.SpanCount(), got.Traces.SpanCount(), "spans stored over TLS")
	}
	t.Run("system bundle", func(t *testing.T) {
		capture(t, []string{"-v", withTestCA + ":/etc/ssl/certs/ca-certificates.crt:ro"})
	})
	t.Run("S3_CA_FILE", func(t *testing.T) {
		caFile := filepath.Join(dir, "test-ca.crt")
		require.NoError(t, os.WriteFile(caFile, caPEM, 0o644))
		capture(t, []string{"-v", caFile + ":/etc/otelcol-recordreplay/s3-ca.crt:ro"}, "S3_CA_FILE=/etc/otelcol-recordreplay/s3-ca.crt")
	})
	assert.NotContains(t, sessiontest.IDs(t, st), "image-tls-untrusted", "nothing stored without trust")
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

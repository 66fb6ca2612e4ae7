package devstack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

// Run as bin/otelcol-recordreplay of a fake repository, the test binary is
// a collector: it answers on HEALTH_ENDPOINT (200, or 503 with
// FAKE_COLLECTOR=unhealthy) until SIGTERM (ignored with
// FAKE_COLLECTOR=ignore-term); with FAKE_COLLECTOR=bind-fails it exits at
// once, logging what a collector logs when its port is taken.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) != collectorName {
		os.Exit(m.Run())
	}
	health := os.Getenv("HEALTH_ENDPOINT")
	switch os.Getenv("FAKE_COLLECTOR") {
	case "bind-fails":
		fmt.Printf("Error: listen tcp %s: bind: address already in use\n", health)
		os.Exit(1)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	}
	status := http.StatusOK
	if os.Getenv("FAKE_COLLECTOR") == "unhealthy" {
		status = http.StatusServiceUnavailable
	}
	fmt.Printf("fake collector: S3 %s bucket %s\n", os.Getenv("S3_ENDPOINT"), os.Getenv("S3_BUCKET"))
	srv := &http.Server{Addr: health, ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(
		func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })}
	go func() { _ = srv.ListenAndServe() }()
	time.Sleep(2 * time.Minute) // a test that crashed leaves nothing running for long
	os.Exit(0)
}

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := settingsFromEnv(env(nil))
	require.NoError(t, err)
	assert.Equal(t, Settings{S3Port: 9000, Bucket: "otel-data", AccessKey: "recordreplay", SecretKey: "recordreplay-dev-secret",
		GRPC: "127.0.0.1:4317", HTTP: "127.0.0.1:4318", Health: "127.0.0.1:13133", Config: "configs/capture-minio.yaml"}, s)

	s, err = settingsFromEnv(env(map[string]string{"OTLP_GRPC_ENDPOINT": "0.0.0.0:5317", "DEV_OTLP_HTTP_ENDPOINT": "127.0.0.1:5318",
		"OTLP_HTTP_ENDPOINT": "127.0.0.1:6318", "DEV_S3_PORT": "9100", "DEV_BUCKET": "b", "HEALTH_ENDPOINT": ""}))
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:5317", s.GRPC, "OTLP_GRPC_ENDPOINT without DEV_OTLP_GRPC_ENDPOINT")
	assert.Equal(t, "127.0.0.1:5318", s.HTTP, "DEV_ first")
	assert.Equal(t, "127.0.0.1:13133", s.Health, "empty is unset")
	assert.Equal(t, "http://127.0.0.1:9100", s.S3Endpoint())

	for in, want := range map[string]string{
		"DEV_S3_PORT=x":                    "DEV_S3_PORT=x: want a port number (1-65535)",
		"DEV_S3_PORT=70000":                "DEV_S3_PORT=70000: want a port number",
		"OTLP_GRPC_ENDPOINT=4317":          "OTLP_GRPC_ENDPOINT=4317: want host:port",
		"DEV_HEALTH_ENDPOINT=127.0.0.1:ab": `DEV_HEALTH_ENDPOINT=127.0.0.1:ab: port "ab"`,
	} {
		k, v, _ := strings.Cut(in, "=")
		_, err := settingsFromEnv(env(map[string]string{k: v}))
		assert.ErrorContains(t, err, want)
	}
	_, err = seconds(env(map[string]string{"DEV_WAIT": "1m"}), "DEV_WAIT", 60)
	assert.ErrorContains(t, err, "DEV_WAIT=1m: want a whole number of seconds")
	d, err := seconds(env(nil), "DEV_WAIT", 60)
	require.NoError(t, err)
	assert.Equal(t, "60s", secs(d))
}

func TestProbeAndQuote(t *testing.T) {
	assert.Equal(t, "127.0.0.1:4317", probe("0.0.0.0:4317"))
	assert.Equal(t, "127.0.0.1:4317", probe(":4317"))
	assert.Equal(t, "[::1]:4317", probe("[::]:4317"))
	assert.Equal(t, "10.0.0.1:4317", probe("10.0.0.1:4317"))
	assert.Equal(t, "otel-data", shellQuote("otel-data"))
	assert.Equal(t, "http://127.0.0.1:9000", shellQuote("http://127.0.0.1:9000"))
	assert.Equal(t, `'a b'`, shellQuote("a b"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
	assert.Equal(t, `''`, shellQuote(""))
}

// fakeRepo is a repository with the real versitygw and the test binary as
// its collector; env is the stack's environment, on free ports.
type fakeRepo struct {
	root, dir string
	env       map[string]string
}

func newFakeRepo(t *testing.T) *fakeRepo {
	t.Helper()
	if testing.Short() {
		t.Skip("starts versitygw and a fake collector")
	}
	vgw, err := versitygw.Binary()
	if err != nil {
		if os.Getenv("RECORDREPLAY_REQUIRE_S3") == "1" {
			t.Fatalf("versitygw not found (run `make tools`): %v", err)
		}
		t.Skipf("versitygw not found: %v", err)
	}
	r := &fakeRepo{root: t.TempDir()}
	r.dir = filepath.Join(r.root, ".dev")
	bin := filepath.Join(r.root, "bin")
	require.NoError(t, os.MkdirAll(filepath.Join(r.root, "configs"), 0o755))
	require.NoError(t, os.MkdirAll(bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(r.root, "configs", "capture-minio.yaml"), nil, 0o644))
	require.NoError(t, os.Symlink(vgw, filepath.Join(bin, vgwName)))
	require.NoError(t, os.Symlink(os.Args[0], filepath.Join(bin, collectorName)))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "sessionctl"), []byte("#!/bin/sh\n"), 0o755))
	r.env = map[string]string{
		"DEV_S3_PORT":            strconv.Itoa(ports.Free(t)),
		"DEV_OTLP_GRPC_ENDPOINT": "127.0.0.1:" + strconv.Itoa(ports.Free(t)),
		"DEV_OTLP_HTTP_ENDPOINT": "127.0.0.1:" + strconv.Itoa(ports.Free(t)),
		"DEV_HEALTH_ENDPOINT":    "127.0.0.1:" + strconv.Itoa(ports.Free(t)),
		"DEV_WAIT":               "30",
	}
	t.Cleanup(func() { // whatever happened, nothing stays running
		if _, _, err := r.run(context.Background(), "down"); err != nil {
			t.Errorf("cleanup: down: %v", err)
		}
	})
	return r
}

// run runs up or down and returns what it printed.
func (r *fakeRepo) run(ctx context.Context, cmd string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	st, err := New(r.root, func(k string) string { return r.env[k] }, &out, &errOut)
	if err != nil {
		return "", "", err
	}
	if cmd == "up" {
		err = st.Up(ctx)
	} else {
		err = st.Down()
	}
	return out.String(), errOut.String(), err
}

func (r *fakeRepo) pid(t *testing.T, name string) (int, bool) {
	t.Helper()
	return proc.PIDFile{Path: filepath.Join(r.dir, name+".pid"), Name: map[string]string{
		"versitygw": vgwName, "collector": collectorName}[name]}.Pid()
}

func TestUpDown(t *testing.T) {
	r := newFakeRepo(t)
	ctx := context.Background()
	out, errOut, err := r.run(ctx, "up")
	require.NoError(t, err, "%s%s", out, errOut)
	assert.Empty(t, errOut)
	s3 := "http://127.0.0.1:" + r.env["DEV_S3_PORT"]
	assert.Contains(t, out, "dev: starting versitygw on 127.0.0.1:"+r.env["DEV_S3_PORT"]+" (log .dev/versitygw.log)\n")
	assert.Contains(t, out, "dev: creating bucket otel-data\n")
	assert.Contains(t, out, "dev: up\n")
	assert.Contains(t, out, "  make seed-quick STORE=s3 S3_ENDPOINT="+s3+" S3_BUCKET=otel-data AWS_ACCESS_KEY_ID=recordreplay "+
		"AWS_SECRET_ACCESS_KEY=recordreplay-dev-secret\n")
	assert.Contains(t, out, "REPLAY_ENDPOINT=http://"+r.env["DEV_OTLP_HTTP_ENDPOINT"]+"\n")
	assert.Contains(t, out, "The same variables, for your shell:  source .dev/env\n")
	assert.True(t, strings.HasSuffix(out, "Stop both (the data stays in .dev):\n  make dev-down\n"), out)
	env, err := os.ReadFile(filepath.Join(r.dir, "env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "export S3_ENDPOINT="+s3+"\n")
	assert.DirExists(t, filepath.Join(r.dir, "s3", "otel-data"), "the bucket")
	vgwPid, ok := r.pid(t, "versitygw")
	require.True(t, ok)
	colPid, ok := r.pid(t, "collector")
	require.True(t, ok)
	assert.Contains(t, out, fmt.Sprintf("dev: pid files        .dev/versitygw.pid (%d)  .dev/collector.pid (%d)\n", vgwPid, colPid))
	log, err := os.ReadFile(filepath.Join(r.dir, "collector.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "starting collector (make dev-up)\nfake collector: S3 "+s3+" bucket otel-data\n")

	// up again: the same stack, with the settings it was started with
	r.env["DEV_S3_PORT"] = "1"
	again, _, err := r.run(ctx, "up")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(again, fmt.Sprintf(
		"dev: already up (versitygw pid %d, collector pid %d); make dev-down stops it\n", vgwPid, colPid)), again)
	assert.Contains(t, again, "S3_ENDPOINT="+s3+" ")

	out, errOut, err = r.run(ctx, "down")
	require.NoError(t, err)
	assert.Empty(t, errOut)
	assert.Equal(t, fmt.Sprintf(`dev: stopping the collector (pid %d, SIGTERM)
dev: stopped the collector
dev: stopping versitygw (pid %d, SIGTERM)
dev: stopped versitygw
dev: down; the data stays in .dev
`, colPid, vgwPid), out)
	assert.NoFileExists(t, filepath.Join(r.dir, "collector.pid"))
	assert.NoFileExists(t, filepath.Join(r.dir, "dev.state"))
	out, _, err = r.run(ctx, "down")
	require.NoError(t, err)
	assert.Equal(t, "dev: nothing running (no pid files in .dev)\n", out)
}

// TestUpFails: a collector that cannot bind its port: the port is named, the
// log shown, and the S3 server started for it stopped again.
func TestUpFails(t *testing.T) {
	r := newFakeRepo(t)
	t.Setenv("FAKE_COLLECTOR", "bind-fails")
	out, errOut, err := r.run(context.Background(), "up")
	require.ErrorIs(t, err, ErrFailed)
	assert.Contains(t, out, "dev: starting the collector")
	health := r.env["DEV_HEALTH_ENDPOINT"]
	_, port, _ := net.SplitHostPort(health)
	assert.Contains(t, errOut, "dev: the collector exited during start-up (exit status 1)\n"+
		"dev: port "+port+" is taken: "+health+" is in use by another process\n"+
		"dev: last lines of .dev/collector.log:\n")
	assert.Contains(t, errOut, "    Error: listen tcp "+health+": bind: address already in use\n"+
		"dev: start-up failed: stopping what was started\n")
	assert.Contains(t, errOut, "dev: stopped versitygw\n")
	_, ok := r.pid(t, "versitygw")
	assert.False(t, ok)
	assert.NoFileExists(t, filepath.Join(r.dir, "versitygw.pid"))
	assert.NoFileExists(t, filepath.Join(r.dir, "dev.state"))
}

// TestUpInterrupted: SIGINT (a cancelled context) while waiting for the
// collector stops what was started.
func TestUpInterrupted(t *testing.T) {
	r := newFakeRepo(t)
	t.Setenv("FAKE_COLLECTOR", "unhealthy")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // once the collector has started
		for {
			if _, ok := r.pid(t, "collector"); ok {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, errOut, err := r.run(ctx, "up")
	require.ErrorIs(t, err, ErrInterrupted)
	assert.Contains(t, errOut, "dev: start-up failed: stopping what was started\n")
	assert.Contains(t, errOut, "dev: stopped the collector\n")
	assert.Contains(t, errOut, "dev: stopped versitygw\n")
	for _, name := range []string{"versitygw", "collector"} {
		_, ok := r.pid(t, name)
		assert.False(t, ok, name)
	}
}

// TestDownKills: a collector that ignores SIGTERM is killed when
// DEV_STOP_TIMEOUT is over, with a word about its sessions; a stale pid file
// is removed.
func TestDownKills(t *testing.T) {
	r := newFakeRepo(t)
	t.Setenv("FAKE_COLLECTOR", "ignore-term")
	_, errOut, err := r.run(context.Background(), "up")
	require.NoError(t, err, errOut)
	colPid, ok := r.pid(t, "collector")
	require.True(t, ok)
	vgwPid, ok := r.pid(t, "versitygw")
	require.True(t, ok)
	require.NoError(t, syscall.Kill(vgwPid, syscall.SIGKILL)) // gone without its pid file
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, proc.WaitExit(ctx, proc.PIDFile{Path: filepath.Join(r.dir, "versitygw.pid"), Name: vgwName}))
	r.env["DEV_STOP_TIMEOUT"] = "0"
	out, errOut, err := r.run(context.Background(), "down")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("dev: the collector (pid %d) still running after 0s: SIGKILL\n"+
		"dev: sessions it had open may stay active: bin/sessionctl verify --repair <id> completes them\n", colPid), errOut)
	assert.Equal(t, fmt.Sprintf(`dev: stopping the collector (pid %d, SIGTERM)
dev: stopped the collector
dev: versitygw was not running (removed .dev/versitygw.pid)
dev: down; the data stays in .dev
`, colPid), out)
}

func TestUpChecks(t *testing.T) {
	r := newFakeRepo(t)
	l, err := net.Listen("tcp", r.env["DEV_OTLP_GRPC_ENDPOINT"])
	require.NoError(t, err)
	defer l.Close()
	_, errOut, err := r.run(context.Background(), "up")
	require.ErrorIs(t, err, ErrFailed)
	_, port, _ := net.SplitHostPort(r.env["DEV_OTLP_GRPC_ENDPOINT"])
	assert.Equal(t, "dev: port "+port+" is taken: something already listens on "+r.env["DEV_OTLP_GRPC_ENDPOINT"]+
		", wanted for OTLP gRPC (DEV_OTLP_GRPC_ENDPOINT); stop it or choose another port\n", errOut)

	require.NoError(t, os.Remove(filepath.Join(r.root, "bin", "sessionctl")))
	_, errOut, err = r.run(context.Background(), "up")
	require.ErrorIs(t, err, ErrFailed)
	assert.Equal(t, "dev: bin/sessionctl missing: run make dev-up (it builds and installs it)\n", errOut)
}

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestDevStack runs the local S3 dev stack the way a developer does, from the
// repository root: `make dev-up` (versitygw and a collector capturing into
// it, in the background), then the lines it printed — `make seed-quick` into
// the bucket, `make replay` of that session back into the dev collector,
// bin/sessionctl list —, then `make dev-down`, twice. Its own ports and data
// directory keep it apart from other tests.
func TestDevStack(t *testing.T) {
	t.Parallel() // a minute of real time in processes of its own
	if testing.Short() {
		t.Skip("starts the dev stack and seeds for 10 s of real time")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	requireBin(t, root, "RECORDREPLAY_REQUIRE_OTELCOL", "run `make build`", "otelcol-recordreplay", "sessionctl")
	requireBin(t, root, "RECORDREPLAY_REQUIRE_S3", "run `make tools`", "versitygw")
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not found")
	}

	devDir := t.TempDir()
	s3Port, grpcPort, httpPort, healthPort := ports.Free(t), ports.Free(t), ports.Free(t), ports.Free(t)
	devVars := []string{
		"DEV_DIR=" + devDir,
		"DEV_S3_PORT=" + strconv.Itoa(s3Port),
		"DEV_OTLP_GRPC_ENDPOINT=127.0.0.1:" + strconv.Itoa(grpcPort),
		"DEV_OTLP_HTTP_ENDPOINT=127.0.0.1:" + strconv.Itoa(httpPort),
		"DEV_HEALTH_ENDPOINT=127.0.0.1:" + strconv.Itoa(healthPort),
	}
	t.Cleanup(func() { // whatever happened, nothing stays running
		if out, err := runMake(t, root, time.Minute, "dev-down", "DEV_DIR="+devDir); err != nil {
			t.Errorf("cleanup: make dev-down: %v\n%s", err, out)
		}
	})

	// make dev-up
	out, err := runMake(t, root, 4*time.Minute, append([]string{"dev-up"}, devVars...)...)
	require.NoError(t, err, "make dev-up:\n%s", out)
	t.Logf("make dev-up:\n%s", out)
	seedLine := printedLine(t, out, "make seed-quick ", "")
	replayLine := printedLine(t, out, "make replay ", "REPLAY_ENDPOINT=")
	listLine := printedLine(t, out, "AWS_ACCESS_KEY_ID=", "bin/sessionctl ")
	downLine := printedLine(t, out, "make dev-down", "")
	vars := assignments(t, seedLine)
	httpURL := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(s3Port), vars["S3_ENDPOINT"])
	assert.Equal(t, "s3", vars["STORE"])
	assert.Equal(t, httpURL, assignments(t, replayLine)["REPLAY_ENDPOINT"])
	assert.Contains(t, out, "127.0.0.1:"+strconv.Itoa(grpcPort))
	env, err := os.ReadFile(filepath.Join(devDir, "env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "export S3_ENDPOINT="+vars["S3_ENDPOINT"]+"\n")
	assert.Contains(t, string(env), "export AWS_SECRET_ACCESS_KEY="+vars["AWS_SECRET_ACCESS_KEY"]+"\n")
	vgwPID, colPID := readPID(t, devDir, "versitygw"), readPID(t, devDir, "collector")
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(healthPort) + "/")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the dev collector's health check")

	// a second make dev-up finds the stack up and prints the same lines
	again, err := runMake(t, root, time.Minute, append([]string{"dev-up"}, devVars...)...)
	require.NoError(t, err, "second make dev-up:\n%s", again)
	assert.Contains(t, again, "already up")
	assert.Equal(t, seedLine, printedLine(t, again, "make seed-quick ", ""))
	assert.Equal(t, vgwPID, readPID(t, devDir, "versitygw"))
	assert.Equal(t, colPID, readPID(t, devDir, "collector"))

	cfg := sessionstore.NewDefaultConfig()
	cfg.Backend = sessionstore.BackendS3
	cfg.S3.Bucket = vars["S3_BUCKET"]
	cfg.S3.Endpoint = vars["S3_ENDPOINT"]
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = vars["AWS_ACCESS_KEY_ID"]
	cfg.S3.SecretAccessKey = configopaque.String(vars["AWS_SECRET_ACCESS_KEY"])
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	require.Empty(t, sessions(t, st), "a new bucket")

	// the printed make seed-quick: 10 s of basic-topology into the bucket
	out, err = runMake(t, root, 3*time.Minute, strings.Fields(seedLine)[1:]...)
	require.NoError(t, err, "%s:\n%s", seedLine, tail([]byte(out)))
	assert.Contains(t, out, "Seed finished")
	after := sessions(t, st)
	require.Len(t, after, 1, "the seed session")
	seed := after[0]
	assert.Equal(t, sessionstore.SessionTypeSeed, seed.Metadata.SessionType)
	assert.Equal(t, sessionstore.StatusCompleted, seed.Metadata.Status)
	require.Positive(t, seed.Metadata.Items())
	t.Logf("seed session %s: %d spans, %d data points, %d log records", seed.ID,
		seed.Metadata.CapturedTraces, seed.Metadata.CapturedMetrics, seed.Metadata.CapturedLogs)

	// the printed bin/sessionctl list
	listOut := runPrinted(t, root, listLine)
	assert.Contains(t, listOut, seed.ID)
	assert.Contains(t, listOut, "completed")

	// the printed make replay into the dev collector, with a telemetry port of
	// its own; it stops by itself when the replay is over
	out, err = runMake(t, root, 3*time.Minute,
		append(strings.Fields(replayLine)[1:], "TELEMETRY_PORT="+strconv.Itoa(ports.Free(t)))...)
	require.NoError(t, err, "%s:\n%s", replayLine, tail([]byte(out)))
	require.Contains(t, out, "Replay finished")
	assert.Contains(t, out, `"session": "`+seed.ID+`"`)
	assert.Contains(t, out, `"spans": `+strconv.FormatInt(seed.Metadata.CapturedTraces, 10)+",")

	// the dev collector stores the replayed items: its sessions (the seed
	// session's id names them; reopen_completed is off, so a new session)
	// grow by exactly the seed session's counts, and the seed session stays as it was
	var captured *sessionstore.Metadata
	require.Eventually(t, func() bool {
		captured = devTotals(t, st, seed.ID)
		return captured.CapturedTraces >= seed.Metadata.CapturedTraces &&
			captured.CapturedMetrics >= seed.Metadata.CapturedMetrics &&
			captured.CapturedLogs >= seed.Metadata.CapturedLogs
	}, time.Minute, 500*time.Millisecond, "the dev collector's sessions did not reach the seed session's counts")
	assertSameCounts(t, seed.Metadata, captured)

	// the printed make dev-down: both processes end, the sessions are
	// completed, the data stays
	out, err = runMake(t, root, time.Minute, strings.Fields(downLine)[1:]...)
	require.NoError(t, err, "make dev-down:\n%s", out)
	t.Logf("make dev-down:\n%s", out)
	for name, pid := range map[string]int{"versitygw": vgwPID, "collector": colPID} {
		assert.NoFileExists(t, filepath.Join(devDir, name+".pid"))
		assert.True(t, processGone(pid), "%s (pid %d) still running after make dev-down", name, pid)
	}
	// with the server down, the bucket's files are read as a session directory:
	// versitygw's posix backend keeps each object at its key
	bucketDir := filepath.Join(devDir, "s3", vars["S3_BUCKET"])
	require.DirExists(t, bucketDir)
	files, err := sessionstore.OpenFilesystem(bucketDir)
	require.NoError(t, err)
	defer files.Close()
	var devIDs []string
	for _, s := range sessions(t, files) {
		if s.ID == seed.ID {
			assertSameCounts(t, seed.Metadata, s.Metadata)
			continue
		}
		devIDs = append(devIDs, s.ID)
		assert.Equal(t, sessionstore.StatusCompleted, s.Metadata.Status, "dev collector's session %s", s.ID)
		sessiontest.CheckCounts(t, sessiontest.Read(t, files, s.ID))
	}
	require.NotEmpty(t, devIDs)
	t.Logf("the dev collector's sessions: %v", devIDs)
	assertSameCounts(t, seed.Metadata, devTotals(t, files, seed.ID))

	// a second make dev-down has nothing to do
	out, err = runMake(t, root, time.Minute, "dev-down", "DEV_DIR="+devDir)
	require.NoError(t, err, "second make dev-down:\n%s", out)
	assert.Contains(t, out, "nothing running")
}

// requireBin skips (or, with env=1, fails) the test when a binary is not in bin/.
func requireBin(t *testing.T, root, env, hint string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(root, "bin", n)); err != nil {
			if os.Getenv(env) == "1" {
				t.Fatalf("bin/%s not found: %s", n, hint)
			}
			t.Skipf("bin/%s not found: %s", n, hint)
		}
	}
}

// makeEnv is the test's environment for make, without what would change
// what the Makefile and the configs do: the parent make's jobserver and
// flags (a `make test` runs this test), and the variables of the make
// targets, the scripts and the configs.
func makeEnv() []string {
	drop := map[string]bool{
		"MAKEFLAGS": true, "MAKELEVEL": true, "MFLAGS": true, "GNUMAKEFLAGS": true, "MAKEOVERRIDES": true,
		"MAKE_TERMOUT": true, "MAKE_TERMERR": true,
		"STORE": true, "OTLP_GRPC_ENDPOINT": true, "OTLP_HTTP_ENDPOINT": true, "HEALTH_ENDPOINT": true,
		"TELEMETRY_PORT": true, "TELEMETRY_HOST": true, "CONFIG": true,
		"SESSION": true, "SELECTION": true, "SPEED": true, "LOOPS": true, "TIMESTAMPS": true,
		"PATTERN": true, "SCENARIO": true, "DURATION": true, "RATE": true, "ERROR_RATE": true,
		"SEED": true, "DESCRIPTION": true, "CLOCK": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if drop[name] {
			continue
		}
		if i := strings.IndexByte(name, '_'); i > 0 {
			switch name[:i+1] {
			case "DEV_", "S3_", "AWS_", "CAPTURE_", "REPLAY_", "SEED_", "OTEL_", "VGW_", "CONTROL_", "VALIDATE_":
				continue
			}
		}
		env = append(env, kv)
	}
	return env
}

// runMake runs make with args in the repository root, bounded by timeout
// (and by the test's deadline): on timeout the whole process group (make,
// run-until.sh, a collector) is killed. What dev-up starts leaves the group.
func runMake(t *testing.T, root string, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	if dl, ok := t.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)-30*time.Second), 5*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = root
	cmd.Env = makeEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("make %s: not done within %s, killed: %w", strings.Join(args, " "), timeout, err)
	}
	t.Logf("make %s: %s (%v)", args[0], time.Since(start).Round(100*time.Millisecond), err)
	return string(out), err
}

// runPrinted runs a printed command line of the form `VAR=value... cmd args...`
// from the repository root and returns its output.
func runPrinted(t *testing.T, root, line string) string {
	t.Helper()
	fields := strings.Fields(line)
	env := makeEnv()
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		env = append(env, fields[0])
		fields = fields[1:]
	}
	require.NotEmpty(t, fields, "no command in %q", line)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, fields[0]), fields[1:]...)
	cmd.Dir = root
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s:\n%s", line, out)
	return string(out)
}

// printedLine finds the line of out that starts with prefix (after its
// indentation) and contains with.
func printedLine(t *testing.T, out, prefix, with string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, prefix) && strings.Contains(l, with) {
			require.NotContains(t, l, `\`, "a quoted value; this test splits on spaces")
			require.NotContains(t, l, `'`, "a quoted value; this test splits on spaces")
			return l
		}
	}
	t.Fatalf("make dev-up printed no line starting with %q containing %q:\n%s", prefix, with, out)
	return ""
}

// assignments returns the VAR=value words of a printed line.
func assignments(t *testing.T, line string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

// readPID reads DEV_DIR/NAME.pid and checks that the process runs.
func readPID(t *testing.T, devDir, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(devDir, name+".pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err, "%s.pid", name)
	require.False(t, processGone(pid), "%s (pid %d) is not running", name, pid)
	return pid
}

// processGone reports whether pid has exited (a zombie not yet reaped by
// its new parent counts as exited).
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true
		}
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	// pid (comm) state ...: the state follows the last ')'
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// sessions lists the sessions of st with their metadata.
func sessions(t *testing.T, st sessionstore.Store) []sessionstore.SessionInfo {
	t.Helper()
	list, err := sessionstore.ListSessions(context.Background(), st)
	require.NoError(t, err)
	for _, s := range list {
		require.NoError(t, s.Err, "session %s", s.ID)
	}
	return list
}

// devTotals sums the counts of every session but the seed session: what the
// dev collector stored.
func devTotals(t *testing.T, st sessionstore.Store, seedID string) *sessionstore.Metadata {
	t.Helper()
	var m sessionstore.Metadata
	for _, s := range sessions(t, st) {
		if s.ID == seedID {
			continue
		}
		m.CapturedTraces += s.Metadata.CapturedTraces
		m.CapturedMetrics += s.Metadata.CapturedMetrics
		m.CapturedLogs += s.Metadata.CapturedLogs
	}
	return &m
}

func assertSameCounts(t *testing.T, want, got *sessionstore.Metadata) {
	t.Helper()
	assert.Equal(t, want.CapturedTraces, got.CapturedTraces, "spans")
	assert.Equal(t, want.CapturedMetrics, got.CapturedMetrics, "data points")
	assert.Equal(t, want.CapturedLogs, got.CapturedLogs, "log records")
}

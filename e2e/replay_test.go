package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestReplayIntoCapture captures traffic with one collector, replays it with
// configs/replay.yaml (the config behind `make replay`) over OTLP/HTTP into
// a second capturing collector, and checks the second capture holds exactly
// what the first one did.
func TestReplayIntoCapture(t *testing.T) {
	first := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: original}"))
	want := sendMixed(t, first)
	first.Stop(t)

	second := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: replayed}"))
	replay := otelcoltest.StartFile(t, "../configs/replay.yaml",
		"REPLAY_DIR="+filepath.Join(first.Dir, "data"), "REPLAY_SPEED=0", "REPLAY_TIMESTAMPS=none",
		"REPLAY_EXPORTER=otlp_http", "REPLAY_ENDPOINT=http://"+second.HTTP,
		"TELEMETRY_PORT="+strconv.Itoa(otelcoltest.FreePort(t)))
	replay.WaitLog(t, "Replay finished", 60*time.Second)
	assert.Contains(t, replay.Log(), `"session": "original"`)
	replay.Stop(t) // drains its exporter queue
	second.Stop(t)

	st, err := sessionstore.OpenFilesystem(filepath.Join(second.Dir, "data"))
	require.NoError(t, err)
	defer st.Close()
	got := sessiontest.Read(t, st, "replayed")
	require.NoError(t, ptracetest.CompareTraces(want.traces, got.Traces, ptracetest.IgnoreResourceSpansOrder()))
	require.NoError(t, pmetrictest.CompareMetrics(want.metrics, got.Metrics, pmetrictest.IgnoreResourceMetricsOrder()))
	require.NoError(t, plogtest.CompareLogs(want.logs, got.Logs, plogtest.IgnoreResourceLogsOrder()))
}

// TestReplayMemory replays, at speed 0, a session of more than 1 GiB of
// uncompressed OTLP and reads the collector's peak resident memory.
func TestReplayMemory(t *testing.T) {
	t.Parallel() // seconds of real time in its own collector and store
	if testing.Short() {
		t.Skip("writes 1 GiB of OTLP")
	}
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	c0 := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "big", c0)
	const objects = 185
	var raw int64
	for i := range objects {
		// Four distinct batches, each stored many times: content does not
		// matter for memory, size does.
		// 16384 spans: the largest batch session_capture writes by default.
		td := sessiontest.RealisticTraces(uint64(i%4), 16384, c0)
		w.Traces(c0.Add(time.Duration(i)*time.Second), td)
	}
	for _, s := range w.Meta.Signals {
		raw += s.Bytes
	}
	require.Greater(t, raw, int64(1<<30), "at least 1 GiB uncompressed")
	w.Complete()

	c := otelcoltest.Launch(t, `
receivers:
  session_replay:
    store: {backend: filesystem, directory: `+dir+`}
    session: big
    speed: 0
    timestamps: relative
    regenerate_ids: true
exporters:
  debug: {verbosity: basic}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [debug]}
`)
	start := time.Now()
	c.WaitLog(t, "Replay finished", 5*time.Minute)
	elapsed := time.Since(start)
	peak := peakRSS(t, c.Pid())
	c.Stop(t)
	assert.Contains(t, c.Log(), fmt.Sprintf(`"objects": %d`, objects))
	t.Logf("replayed %d objects, %.2f GiB of OTLP, in %s: peak RSS %d MiB", objects, float64(raw)/(1<<30), elapsed.Round(time.Millisecond), peak>>20)
	// Bounded whatever the session size: min(read_ahead, cores) objects
	// decoded ahead of the one delivered (about 25 MiB of pdata each at
	// 16,384 spans; 3 in all on this 2-core machine), plus the garbage
	// collector's headroom (GOGC 100) and the runtime. Measured 204-229
	// MiB on 2026-12-07 (142-153 MiB with read_ahead: 1, 224-240 MiB with
	// 16; one more object decoded at once, cores+1, reached 253-306 MiB).
	assert.Less(t, peak, int64(256<<20), "peak RSS")
}

// peakRSS reads VmHWM (peak resident set size) of a process.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestShutdownWhenDoneExitsCleanly: a replay with shutdown_when_done that
// is over at once (nothing in the session for the wired pipelines) stops
// the collector cleanly, exit status 0, even though it is over before the
// collector has finished starting (and listens for SIGTERM). Five runs: it
// was a race.
func TestShutdownWhenDoneExitsCleanly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	w := sessiontest.NewWriter(t, st, "logs-only", time.Now().Add(-time.Hour))
	w.Logs(time.Now().Add(-time.Hour), testdata.GenerateLogs(3))
	w.Complete()
	config := fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %q}
    session: logs-only
    speed: 0
    shutdown_when_done: true
exporters:
  debug: {}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [debug]}
`, dir)
	for i := range 5 {
		c := otelcoltest.Launch(t, config)
		err, exited := c.Wait(30 * time.Second)
		require.True(t, exited, "run %d: the collector did not stop:\n%s", i, c.LogTail(20))
		require.NoError(t, err, "run %d: exit status:\n%s", i, c.LogTail(20))
		assert.Contains(t, c.Log(), "Stopping the collector: the replay is over (shutdown_when_done)")
	}
}

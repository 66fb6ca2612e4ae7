package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeersConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := PeersConfigFromEnv("/repo", env(nil))
	require.NoError(t, err)
	assert.Equal(t, 5, c.MinRounds)
	assert.Equal(t, 15, c.MaxRounds)
	assert.Equal(t, 0.10, c.Spread)
	assert.Equal(t, 25, c.Duration)
	assert.Equal(t, [3]int{10000, 5000, 5000}, c.Rates)
	assert.True(t, c.UpdateMD)
	assert.Equal(t, "/repo/bench-peers.out", c.inRoot(c.Out))
	assert.Equal(t, "/repo/BENCHMARKS.md", c.inRoot(c.BenchMD))
	assert.Equal(t, "MIN_ROUNDS=5 MAX_ROUNDS=15 SPREAD=0.10", c.asked)
	assert.Equal(t, []string{"traces", "--workers", "8", "--rate", "1250", "--batch-size", "512"}, c.loadArgs("traces", 10000))
	assert.Equal(t, []string{"logs", "--workers", "3", "--rate", "1166.67", "--batch-size", "512"}, c.loadArgs("logs", 3500))

	c, err = PeersConfigFromEnv("/repo", env(map[string]string{"ROUNDS": "2", "MIN_ROUNDS": "7", "UPDATE_MD": "0",
		"OUT": "/tmp/x.out", "DURATION": "5"}))
	require.NoError(t, err)
	assert.Equal(t, 2, c.MinRounds, "ROUNDS wins")
	assert.Equal(t, 2, c.MaxRounds)
	assert.False(t, c.UpdateMD)
	assert.Equal(t, "/tmp/x.out", c.inRoot(c.Out))
	assert.Equal(t, 5, c.Duration)

	_, err = PeersConfigFromEnv("/repo", env(map[string]string{"DURATION": "5s", "SPREAD": "x", "MIN_ROUNDS": "0"}))
	assert.ErrorContains(t, err, "DURATION=5s: want a whole number above 0")
	assert.ErrorContains(t, err, "SPREAD=x: want a fraction above 0")
	assert.ErrorContains(t, err, "MIN_ROUNDS=0: want a whole number above 0")
	_, err = PeersConfigFromEnv("/repo", env(map[string]string{"MIN_ROUNDS": "9", "MAX_ROUNDS": "3"}))
	assert.ErrorContains(t, err, "MIN_ROUNDS=9 is above MAX_ROUNDS=3")
}

func TestSumMetrics(t *testing.T) {
	text := `# HELP otelcol_receiver_accepted_spans_total Number of spans.
# TYPE otelcol_receiver_accepted_spans_total counter
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 474135
otelcol_receiver_accepted_metric_points_total{receiver="otlp",transport="grpc"} 1.5e+05
otelcol_receiver_accepted_log_records_total{receiver="otlp",transport="grpc"} 100
otelcol_exporter_sent_spans_total{exporter="debug"} 7
`
	assert.EqualValues(t, 474135+150000+100, sumMetrics(strings.NewReader(text), acceptedMetrics))
	assert.EqualValues(t, 7, sumMetrics(strings.NewReader(text), sentMetrics))
	assert.EqualValues(t, 0, sumMetrics(strings.NewReader(text), failedMetrics))
}

func TestStoredFiles(t *testing.T) {
	dir := t.TempDir()
	var size int64
	write := func(name, content string) {
		size += int64(len(content))
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("sessions/a/metadata.json", `{"id": "a", "status": "completed"}`)
	write("sessions/a/traces/0001.pb.gz", "12345")
	write("sessions/b/metadata.json", `{"status":"active"}`)
	write("sessions/c/metadata.json", `{"status": "completed"}`)
	bytes, files, status, err := storedFiles(dir, true)
	require.NoError(t, err)
	assert.EqualValues(t, 4, files)
	assert.Equal(t, size, bytes)
	assert.Equal(t, "active×1,completed×2", status)

	_, files, status, err = storedFiles(dir, false)
	require.NoError(t, err)
	assert.EqualValues(t, 4, files)
	assert.Equal(t, "-", status)

	bytes, files, status, err = storedFiles(filepath.Join(dir, "none"), true)
	require.NoError(t, err, "nothing stored")
	assert.Zero(t, bytes+files)
	assert.Empty(t, status)
}

func TestProcStat(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	ticks, err := cpuTicks(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ticks, int64(0))
	busy, err := machineBusyTicks()
	require.NoError(t, err)
	assert.Positive(t, busy)
	rss, err := peakRSSKiB(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, rss)
	_, err = cpuTicks(-1)
	assert.Error(t, err)
}

func TestSeedConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := SeedConfigFromEnv("/repo", env(nil))
	require.NoError(t, err)
	assert.Equal(t, SeedConfig{Root: "/repo", Seconds: 10, Rates: []int{2000, 5000, 10000, 20000}, Workers: 8}, c)
	c, err = SeedConfigFromEnv("/repo", env(map[string]string{"RATES": " 100  300 ", "WORKERS": "2", "SECONDS_PER_RUN": "3"}))
	require.NoError(t, err)
	assert.Equal(t, SeedConfig{Root: "/repo", Seconds: 3, Rates: []int{100, 300}, Workers: 2}, c)
	_, err = SeedConfigFromEnv("/repo", env(map[string]string{"RATES": "100 1e3", "WORKERS": "-1", "SECONDS_PER_RUN": "3s"}))
	assert.ErrorContains(t, err, `RATES=100 1e3: "1e3" is not a whole number above 0`)
	assert.ErrorContains(t, err, "WORKERS=-1: want whole numbers above 0")
	assert.ErrorContains(t, err, "SECONDS_PER_RUN=3s")
	_, err = SeedConfigFromEnv("/repo", env(map[string]string{"RATES": "  "}))
	assert.ErrorContains(t, err, "RATES=  : want at least one rate")
}

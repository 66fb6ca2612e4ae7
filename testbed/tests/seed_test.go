package tests

// Scenario 3: seed_gen with clock: fast -> OTLP -> the testbed's mock
// backend: every generated item arrives (the counts seed_gen logs when it
// finishes), at what rate and for how much CPU.

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/require"
)

// seedLimits: clock fast generates as fast as the pipeline accepts, so it
// takes the cores it can get; only memory is limited.
var seedLimits = testbed.ResourceSpec{ExpectedMaxRAM: 200, ResourceCheckPeriod: 250 * time.Millisecond}

var seedFinished = regexp.MustCompile(`Seed finished.*"spans": (\d+), "data_points": (\d+), "log_records": (\d+)`)

// TestSeed is scenario 3: 2 minutes of basic-topology at 1000 traces/s,
// exported over OTLP/gRPC without a sending queue (so seed_gen is paced by
// what the backend accepts), and once more with the exporter's default queue
// (1000 batches: the whole run, about 120 one-second batches, fits in it, so
// seed_gen finishes at once and the queue holds everything in memory).
func TestSeed(t *testing.T) {
	t.Run("no_queue", func(t *testing.T) {
		runSeed(t, noQueue, seedLimits)
	})
	t.Run("default_queue", func(t *testing.T) {
		runSeed(t, "", testbed.ResourceSpec{ExpectedMaxRAM: 1024, ResourceCheckPeriod: 250 * time.Millisecond})
	})
}

func runSeed(t *testing.T, queue string, limits testbed.ResourceSpec) {
	checkEvery(t, limits)
	backend := testbed.NewOTLPDataReceiver(freePort(t)).WithQueue(queue)
	agent := newAgent(t)
	receivers := `
  seed_gen:
    pattern: basic-topology
    duration: 2m
    traces_per_second: 1000
    seed: 1
    clock: fast`
	prepareAgent(t, agent, collectorConfig(receivers, backend.GenConfigYAMLStr(),
		"seed_gen", backend.ProtocolName(), "traces", "metrics", "logs"))
	load := &fixedLoad{name: "seed_gen"}
	v := &countValidator{}
	tc := testbed.NewLoadGeneratorTestCase(t, load, backend, agent, v, performanceResultsSummary,
		testbed.WithResourceLimits(limits))
	bindT(tc, t)
	t.Cleanup(tc.Stop)
	tc.StartBackend()
	start := time.Now()
	tc.StartAgent()
	waitProcessMon(t, agent)

	// seed_gen logs its counts when the pattern ends.
	var spans, points, records uint64
	tc.WaitForN(func() bool {
		b, err := os.ReadFile(tc.ComposeTestResultFileName("agent.log"))
		if err != nil {
			return false
		}
		m := seedFinished.FindSubmatch(b)
		if m == nil {
			return false
		}
		spans, _ = strconv.ParseUint(string(m[1]), 10, 64)
		points, _ = strconv.ParseUint(string(m[2]), 10, 64)
		records, _ = strconv.ParseUint(string(m[3]), 10, 64)
		return true
	}, 5*time.Minute, "seed_gen to log \"Seed finished\"")
	total := spans + points + records
	load.items.Store(total)
	waitFor(t, func() bool { return tc.MockBackend.DataItemsReceived() >= total }, time.Minute,
		fmt.Sprintf("the mock backend to receive the %d generated items", total))
	elapsed := time.Since(start)
	cpu := cpuSeconds(agent)
	tc.StopAgent()
	tc.ValidateData()
	require.True(t, v.ran, "the testbed signalled an error before validation (a resource limit or a timeout, logged above)")
	require.Positive(t, spans)
	rc := agent.GetTotalConsumption()
	report(t, "seed_gen generated %d spans, %d data points, %d log records (%d items), all received, in %.1f s from process start: %.0f items/s (%.0f spans/s); agent CPU %.1f s = %.0f%% of one core; %.0f items (%.0f spans) per agent CPU-second; RSS max %d MiB (limit %d MiB)",
		spans, points, records, total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), float64(spans)/elapsed.Seconds(),
		cpu, 100*cpu/elapsed.Seconds(), float64(total)/cpu, float64(spans)/cpu, rc.RAMMiBMax, limits.ExpectedMaxRAM)
}

// countValidator is the testbed's count check (PerfTestValidator), noting
// that it ran.
type countValidator struct{ ran bool }

func (v *countValidator) Validate(tc *testbed.TestCase) {
	v.ran = true
	(&testbed.PerfTestValidator{}).Validate(tc)
}

func (*countValidator) RecordResults(tc *testbed.TestCase) {
	(&testbed.PerfTestValidator{IncludeLimitsInReport: true}).RecordResults(tc)
}

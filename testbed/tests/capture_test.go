package tests

// Scenario 1: OTLP -> session_capture (filesystem) at 10k items/s of each
// signal for 60 s; afterwards the stored session decodes to exactly what the
// load generator sent.

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/require"
)

// captureLimits are the limits for capture at 10k spans/s: 20 % of
// one core and 150 MiB RSS, checked by the testbed every 3 s.
var captureLimits = testbed.ResourceSpec{ExpectedMaxCPU: 20, ExpectedMaxRAM: 150}

// captureOpts describes one capture run.
type captureOpts struct {
	signal   string        // traces | metrics | logs
	rate     int           // items per second
	duration time.Duration // how long the load runs
	limits   testbed.ResourceSpec
	root     string // where the sessions land (a directory, or an S3 bucket's posix directory)
	exporter string // the session_capture block under exporters:
	// during replaces the plain sleep while the load runs (faults, samples);
	// it gets the time the load started.
	during func(t *testing.T, tc *testbed.TestCase, agent testbed.OtelcolRunner, start time.Time)
	// drainTimeout bounds the wait for the store to hold everything sent.
	drainTimeout time.Duration
	// maxDelay: how long the load generator retries a refused batch.
	maxDelay time.Duration
}

// captureResult is what a capture run measured.
type captureResult struct {
	sent        uint64
	loadElapsed time.Duration
	cpuLoad     float64 // agent CPU-seconds while the load ran
	rssEnd      float64 // agent RSS (MiB) when the load stopped
}

// filesystemExporter is the session_capture configuration of the capture
// scenarios: a fixed session id, metadata rewritten every second (the test
// waits on its counts), the rest defaults.
func filesystemExporter(dir, sessionYAML string) string {
	return fmt.Sprintf(`
  session_capture:
    store:
      backend: filesystem
      directory: %q
    session:%s
    metadata_interval: 1s`, dir, sessionYAML)
}

// loadOptions gives rate items/s of the signal with the perf data provider.
// Its metrics batches hold 7 data points per metric (ItemsPerBatch metrics),
// so for metrics DataItemsPerSecond is divided by 7 to send rate data points/s.
func loadOptions(signal string, rate int) testbed.LoadOptions {
	if signal == "metrics" {
		return testbed.LoadOptions{DataItemsPerSecond: rate / 7, ItemsPerBatch: 10, Parallel: 1}
	}
	return testbed.LoadOptions{DataItemsPerSecond: rate, ItemsPerBatch: 100, Parallel: 1}
}

func newSender(signal string, port int) testbed.DataSender {
	switch signal {
	case "traces":
		return testbed.NewOTLPTraceDataSender(testbed.DefaultHost, port)
	case "metrics":
		return testbed.NewOTLPMetricDataSender(testbed.DefaultHost, port)
	default:
		return testbed.NewOTLPLogsDataSender(testbed.DefaultHost, port)
	}
}

// waitProcessMon waits until the testbed's monitor of the agent is set up.
func waitProcessMon(t *testing.T, agent testbed.OtelcolRunner) {
	deadline := time.Now().Add(10 * time.Second)
	for agent.GetProcessMon() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the testbed does not monitor the agent (no resource limits?)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runCapture runs one capture scenario and validates it with the
// captureValidator.
func runCapture(t *testing.T, o captureOpts) captureResult {
	if o.drainTimeout == 0 {
		o.drainTimeout = 30 * time.Second
	}
	opts := loadOptions(o.signal, o.rate)
	if o.maxDelay > 0 {
		opts.MaxDelay = o.maxDelay
	}
	sender := newSender(o.signal, freePort(t))
	provider := &recordingProvider{DataProvider: testbed.NewPerfTestDataProvider(opts)}
	store := &storeReceiver{exporterYAML: o.exporter, root: o.root}
	agent := newAgent(t)
	prepareAgent(t, agent, collectorConfig(sender.GenConfigYAMLStr(), store.GenConfigYAMLStr(),
		sender.ProtocolName(), store.ProtocolName(), o.signal))

	validator := &captureValidator{provider: provider, store: store}
	tc := testbed.NewTestCase(t, provider, sender, store, agent, validator, performanceResultsSummary,
		testbed.WithResourceLimits(o.limits))
	bindT(tc, t)
	t.Cleanup(tc.Stop)

	tc.StartBackend()
	tc.StartAgent()
	waitProcessMon(t, agent)
	cpu0 := cpuSeconds(agent)
	start := time.Now()
	tc.StartLoad(opts)
	tc.WaitFor(func() bool { return tc.LoadGenerator.DataItemsSent() > 0 }, "load generator started")
	if o.during != nil {
		o.during(t, tc, agent, start)
	} else {
		tc.Sleep(o.duration - time.Since(start))
	}
	tc.StopLoad()
	res := captureResult{
		sent:        tc.LoadGenerator.DataItemsSent(),
		loadElapsed: time.Since(start),
		cpuLoad:     cpuSeconds(agent) - cpu0,
		rssEnd:      rssMiB(agent),
	}
	waitFor(t, func() bool { return storedItems(o.root) >= int64(res.sent) }, o.drainTimeout,
		fmt.Sprintf("the store to count the %d items sent (metadata.json)", res.sent))
	tc.StopAgent()
	require.NoError(t, store.Drain(), "reading the stored sessions back")
	validator.ran = false
	tc.ValidateData()
	require.True(t, validator.ran, "the testbed signalled an error before validation (a resource limit or a timeout, logged above)")

	rc := agent.GetTotalConsumption()
	report(t, "%d %s sent in %.1f s (%.0f/s); agent CPU %.1f s while loaded = %.1f%% of one core (avg since start %.1f%%, max 3-s period %.1f%%; limit %d%%); RSS max %d MiB, at load end %.0f MiB (limit %d MiB); %d objects read back",
		res.sent, itemName(o.signal), res.loadElapsed.Seconds(), float64(res.sent)/res.loadElapsed.Seconds(),
		res.cpuLoad, 100*res.cpuLoad/res.loadElapsed.Seconds(), rc.CPUPercentAvg, rc.CPUPercentMax, o.limits.ExpectedMaxCPU,
		rc.RAMMiBMax, res.rssEnd, o.limits.ExpectedMaxRAM, store.objects)
	return res
}

func itemName(signal string) string {
	switch signal {
	case "traces":
		return "spans"
	case "metrics":
		return "data points"
	}
	return "log records"
}

// freshDir is an empty directory under the test's results directory; it is
// kept after the test (scenario 2 replays the traces session of scenario 1).
func freshDir(t *testing.T, name string) string {
	dir, err := filepath.Abs(filepath.Join("results", t.Name(), name))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// capturedTraces is the traces session scenario 1 stored, for scenario 2.
var capturedTraces struct {
	sync.Mutex
	root, id string
}

const captureSessionID = "testbed-capture"

func captureSignal(t *testing.T, signal string) {
	dir := freshDir(t, "store")
	runCapture(t, captureOpts{
		signal:   signal,
		rate:     10_000,
		duration: loadDuration(t, 60*time.Second),
		limits:   captureLimits,
		root:     dir,
		exporter: filesystemExporter(dir, "\n      id: "+captureSessionID),
	})
	if signal == "traces" && !t.Failed() {
		capturedTraces.Lock()
		capturedTraces.root, capturedTraces.id = dir, captureSessionID
		capturedTraces.Unlock()
	}
}

// TestCapture is scenario 1.
func TestCapture(t *testing.T) {
	for _, signal := range []string{"traces", "metrics", "logs"} {
		t.Run(signal, func(t *testing.T) { captureSignal(t, signal) })
	}
}

package tests

// Scenario 2: the traces session scenario 1 captured -> session_replay, paced
// at 1x and at speed 0 -> OTLP -> the testbed's mock backend; what arrives is
// compared item by item with the stored session (timestamps: none, so replay
// must deliver the stored bytes). A third case sends the testbed's golden
// trace dataset through capture and replay and checks it with the testbed's
// correctness validator.

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/require"
)

var (
	// replayLimits1x: replaying a 10k spans/s session at its recorded pace
	// costs what capturing it did, give or take decoding.
	replayLimits1x = testbed.ResourceSpec{ExpectedMaxCPU: 30, ExpectedMaxRAM: 150}
	// replayLimitsFast: speed 0 takes every core it can get, so only memory
	// is limited (checked every 250 ms: such a replay lasts seconds); the
	// rate and CPU are reported.
	replayLimitsFast = testbed.ResourceSpec{ExpectedMaxRAM: 200, ResourceCheckPeriod: 250 * time.Millisecond}
)

// tracesSession is the traces session of scenario 1, captured now if
// scenario 1 did not run in this process.
func tracesSession(t *testing.T) (root, id string) {
	capturedTraces.Lock()
	root, id = capturedTraces.root, capturedTraces.id
	capturedTraces.Unlock()
	if root == "" {
		t.Run("capture_traces", func(t *testing.T) { captureSignal(t, "traces") })
		capturedTraces.Lock()
		root, id = capturedTraces.root, capturedTraces.id
		capturedTraces.Unlock()
		require.NotEmpty(t, root, "capturing the session to replay failed")
	}
	return root, id
}

// sessionContent decodes a stored session: its items by content, and the
// span of its capture times.
func sessionContent(t *testing.T, root, id string) (*itemSet, time.Duration) {
	s := newItemSet()
	var first, last time.Time
	require.NoError(t, forEachObject(root, id, func(o storedObject) error {
		if first.IsZero() {
			first = o.CaptureTime
		}
		last = o.CaptureTime
		switch o.Signal {
		case "traces":
			s.AddTraces(o.Traces)
		case "metrics":
			s.AddMetrics(o.Metrics)
		default:
			s.AddLogs(o.Logs)
		}
		return nil
	}))
	require.Positive(t, s.Len(), "session %s under %s holds no items", id, root)
	return s, last.Sub(first)
}

// replayReceiver is the session_replay block of the agent.
func replayReceiver(root, id, speed string) string {
	return fmt.Sprintf(`
  session_replay:
    store:
      backend: filesystem
      directory: %q
    session: %s
    speed: %s
    timestamps: none
    progress_interval: 10s`, root, id, speed)
}

// runReplay replays session id into the mock backend over OTLP/gRPC and
// validates what arrived against want (and extra, if set). load is the
// testbed load generator the test case reports: by default one that says the
// session's item count was sent.
func runReplay(t *testing.T, root, id, speed string, want *itemSet, length time.Duration,
	limits testbed.ResourceSpec, load testbed.LoadGenerator, extra testbed.TestCaseValidator,
) {
	checkEvery(t, limits)
	if load == nil {
		fl := &fixedLoad{name: "session " + id}
		fl.items.Store(uint64(want.Len()))
		load = fl
	}
	backend := testbed.NewOTLPDataReceiver(freePort(t))
	if speed == "0" {
		// Without the exporter's sending queue: the default queue (1000
		// requests) takes a whole session at once when the backend is
		// slower than the replay, and its memory is then the queue's.
		// Here the replay is paced by what the backend accepts.
		backend.WithQueue(noQueue)
	}
	agent := newAgent(t)
	prepareAgent(t, agent, collectorConfig(replayReceiver(root, id, speed), backend.GenConfigYAMLStr(),
		"session_replay", backend.ProtocolName(), "traces"))
	v := &contentValidator{want: want, extra: extra}
	tc := testbed.NewLoadGeneratorTestCase(t, load, backend, agent, v, performanceResultsSummary,
		testbed.WithResourceLimits(limits))
	bindT(tc, t)
	t.Cleanup(tc.Stop)
	tc.EnableRecording()
	tc.StartBackend()
	start := time.Now()
	tc.StartAgent()
	waitProcessMon(t, agent)
	timeout := 60 * time.Second
	if speed != "0" {
		timeout += length
	}
	n := uint64(want.Len())
	waitFor(t, func() bool { return tc.MockBackend.DataItemsReceived() >= n }, timeout,
		fmt.Sprintf("the mock backend to receive the session's %d items", n))
	elapsed := time.Since(start)
	cpu := cpuSeconds(agent)
	rss := rssMiB(agent)
	tc.StopAgent()
	tc.ValidateData()
	require.True(t, v.ran, "the testbed signalled an error before validation (a resource limit or a timeout, logged above)")
	rc := agent.GetTotalConsumption()
	report(t, "replayed %d items of a %.1f s session in %.1f s from process start (%.0f items/s) at speed %s; agent CPU %.1f s = %.1f%% of one core (max 3-s period %.1f%%; limit %d%%); %.0f items per CPU-second; RSS max %d MiB, at end %.0f MiB (limit %d MiB)",
		n, length.Seconds(), elapsed.Seconds(), float64(n)/elapsed.Seconds(), speed,
		cpu, 100*cpu/elapsed.Seconds(), rc.CPUPercentMax, limits.ExpectedMaxCPU, float64(n)/cpu,
		rc.RAMMiBMax, rss, limits.ExpectedMaxRAM)
}

// goldenFiles are the pairwise trace and span definitions of the testbed's
// golden dataset (in the contrib coreinternal module, from the module cache).
func goldenFiles(t *testing.T) (traces, spans string) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}",
		"github.com/open-telemetry/opentelemetry-collector-contrib/internal/coreinternal").Output()
	require.NoError(t, err, "locating the golden dataset (go list -m)")
	dir := filepath.Join(strings.TrimSpace(string(out)), "goldendataset", "testdata")
	return filepath.Join(dir, "generated_pict_pairs_traces.txt"), filepath.Join(dir, "generated_pict_pairs_spans.txt")
}

// TestReplay is scenario 2.
func TestReplay(t *testing.T) {
	root, id := tracesSession(t)
	want, length := sessionContent(t, root, id)
	t.Run("speed_1x", func(t *testing.T) {
		runReplay(t, root, id, "1", want, length, replayLimits1x, nil, nil)
	})
	t.Run("speed_0", func(t *testing.T) {
		runReplay(t, root, id, "0", want, length, replayLimitsFast, nil, nil)
	})

	// The golden dataset: captured, then replayed at speed 0, and checked
	// span by span by the testbed's correctness validator (which knows
	// only this data provider's spans).
	tracesFile, spansFile := goldenFiles(t)
	golden := testbed.NewGoldenDataProvider(tracesFile, spansFile, "")
	var (
		goldenLoad  testbed.LoadGenerator
		goldenRoot  string
		goldenItems *itemSet
	)
	sender := testbed.NewOTLPTraceDataSender(testbed.DefaultHost, freePort(t))
	t.Run("golden_capture", func(t *testing.T) {
		dir := freshDir(t, "store")
		provider := &recordingProvider{DataProvider: golden}
		store := &storeReceiver{exporterYAML: filesystemExporter(dir, "\n      id: golden"), root: dir}
		agent := newAgent(t)
		prepareAgent(t, agent, collectorConfig(sender.GenConfigYAMLStr(), store.GenConfigYAMLStr(),
			sender.ProtocolName(), store.ProtocolName(), "traces"))
		v := &captureValidator{provider: provider, store: store}
		tc := testbed.NewTestCase(t, provider, sender, store, agent, v, performanceResultsSummary,
			testbed.WithResourceLimits(captureLimits))
		bindT(tc, t)
		t.Cleanup(tc.Stop)
		tc.StartBackend()
		tc.StartAgent()
		tc.StartLoad(testbed.LoadOptions{DataItemsPerSecond: 1024, ItemsPerBatch: 1})
		tc.Sleep(3 * time.Second) // the provider is done after its few hundred traces
		tc.StopLoad()
		sent := tc.LoadGenerator.DataItemsSent()
		waitFor(t, func() bool { return storedItems(dir) >= int64(sent) }, 30*time.Second, "the golden traces stored")
		tc.StopAgent()
		require.NoError(t, store.Drain())
		tc.ValidateData()
		require.True(t, v.ran, "the testbed signalled an error before validation")
		goldenLoad, goldenRoot, goldenItems = finishedLoad{tc.LoadGenerator}, dir, store.Received()
		report(t, "%d golden spans captured", sent)
	})
	t.Run("golden_replay", func(t *testing.T) {
		require.NotNil(t, goldenLoad, "golden_capture failed")
		// Over OTLP/gRPC: the golden spans are large, and their one stored
		// object (4.7 MB) is over gRPC's default 4 MiB message limit of the
		// mock backend's OTLP/gRPC receiver, which would refuse it for good
		// as one request; the replay's max_request_bytes (default just under
		// 4 MiB) sends it as two.
		runReplay(t, goldenRoot, "golden", "0", goldenItems, 0, replayLimitsFast, goldenLoad,
			testbed.NewCorrectTestValidator(sender.ProtocolName(), "otlp", golden))
	})
}

// finishedLoad is a load generator that has finished: it still reports what
// it sent (and its permanent errors), and is ready at once, since its sender's
// endpoint (the capture agent) is gone.
type finishedLoad struct{ testbed.LoadGenerator }

func (finishedLoad) Start(testbed.LoadOptions) {}
func (finishedLoad) Stop()                     {}
func (finishedLoad) IsReady() bool             { return true }

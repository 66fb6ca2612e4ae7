package tests

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// performanceResultsSummary collects every scenario's row of
// results/TESTRESULTS.md (the testbed's results file).
var performanceResultsSummary testbed.TestResultsSummary = &testbed.PerformanceResults{}

// TestMain runs the scenarios only with RUN_TESTBED set (scripts/testbed.sh
// and scripts/soak.sh set it), as every testbed suite does.
func TestMain(m *testing.M) {
	if os.Getenv("RUN_TESTBED") != "" {
		initScenarioReport()
	}
	testbed.DoTestMain(m, performanceResultsSummary)
}

// agentBinary is the distribution under test: $OTELCOL_BIN, else
// bin/otelcol-recordreplay of the repository (make build).
func agentBinary(t *testing.T) string {
	p := os.Getenv("OTELCOL_BIN")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "otelcol-recordreplay")
	}
	p, err := filepath.Abs(p)
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("collector binary %s: %v (run `make build` at the repository root, or set OTELCOL_BIN)", p, err)
	}
	return p
}

// newAgent is our built binary as the testbed's child process, on two cores
// as the contrib scenarios run it.
func newAgent(t *testing.T) testbed.OtelcolRunner {
	return testbed.NewChildProcessCollector(
		testbed.WithAgentExePath(agentBinary(t)),
		testbed.WithEnvVar("GOMAXPROCS", "2"))
}

// freePort is a free TCP port on the loopback interface.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// loadDuration is how long each load runs: 60 s, or $TESTBED_LOAD_DURATION
// (for trying a change quickly; the numbers are for 60 s).
func loadDuration(t *testing.T, def time.Duration) time.Duration {
	if s := os.Getenv("TESTBED_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	return def
}

// collectorConfig is an agent configuration: one pipeline per signal from
// receiver to exporter, the collector's own metrics off (no port to share
// with anything else on the machine).
func collectorConfig(receivers, exporters, receiverName, exporterName string, signals ...string) string {
	cfg := fmt.Sprintf("receivers:%s\nexporters:%s\nservice:\n  telemetry:\n    metrics:\n      level: none\n  pipelines:\n", receivers, exporters)
	for _, s := range signals {
		cfg += fmt.Sprintf("    %s:\n      receivers: [%s]\n      exporters: [%s]\n", s, receiverName, exporterName)
	}
	return cfg
}

// noQueue is the exporter setting (for BaseOTLPDataReceiver.WithQueue) that
// turns the agent's OTLP exporter's sending queue off.
const noQueue = "sending_queue:\n      enabled: false"

// checkEvery makes the testbed check the agent's CPU and RAM every
// limits.ResourceCheckPeriod, when set. The testbed takes its check period
// from TESTCASE_DURATION (min(that, 3 s)), overriding the ResourceSpec's, so
// scenarios that last a few seconds set it there.
func checkEvery(t *testing.T, limits testbed.ResourceSpec) {
	if limits.ResourceCheckPeriod > 0 {
		t.Setenv("TESTCASE_DURATION", limits.ResourceCheckPeriod.String())
	}
}

// waitFor polls cond for up to timeout. Unlike tc.WaitForN, running out of
// time is not a testbed error (after which the testbed skips validation): the
// validators still run and say what is missing.
func waitFor(t *testing.T, cond func() bool, timeout time.Duration, what string) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Logf("gave up waiting %s for %s; validating what there is", timeout, what)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// prepareAgent writes the agent's configuration and logs it.
func prepareAgent(t *testing.T, agent testbed.OtelcolRunner, cfg string) {
	cleanup, err := agent.PrepareConfig(t, cfg)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	t.Logf("agent config:\n%s", cfg)
}

// cpuSeconds is the agent's CPU time so far (user + system).
func cpuSeconds(agent testbed.OtelcolRunner) float64 {
	p := agent.GetProcessMon()
	if p == nil {
		return 0
	}
	times, err := p.Times()
	if err != nil {
		return 0
	}
	return times.User + times.System
}

// rssMiB is the agent's resident set size now.
func rssMiB(agent testbed.OtelcolRunner) float64 {
	p := agent.GetProcessMon()
	if p == nil {
		return 0
	}
	mi, err := p.MemoryInfo()
	if err != nil {
		return 0
	}
	return float64(mi.RSS) / (1 << 20)
}

// ---- what the load generator sent ----

// recordingProvider is a testbed DataProvider that keeps, marshalled, every
// batch the wrapped provider generated, so the validator can compare what the
// collector stored with what was sent, item by item.
type recordingProvider struct {
	testbed.DataProvider
	mu      sync.Mutex
	traces  [][]byte
	metrics [][]byte
	logs    [][]byte
}

func (p *recordingProvider) GenerateTraces() (ptrace.Traces, bool) {
	td, done := p.DataProvider.GenerateTraces()
	if !done {
		b, err := traceMarshaler.MarshalTraces(td)
		if err != nil {
			panic(err)
		}
		p.mu.Lock()
		p.traces = append(p.traces, b)
		p.mu.Unlock()
	}
	return td, done
}

func (p *recordingProvider) GenerateMetrics() (pmetric.Metrics, bool) {
	md, done := p.DataProvider.GenerateMetrics()
	if !done {
		b, err := metricMarshaler.MarshalMetrics(md)
		if err != nil {
			panic(err)
		}
		p.mu.Lock()
		p.metrics = append(p.metrics, b)
		p.mu.Unlock()
	}
	return md, done
}

func (p *recordingProvider) GenerateLogs() (plog.Logs, bool) {
	ld, done := p.DataProvider.GenerateLogs()
	if !done {
		b, err := logMarshaler.MarshalLogs(ld)
		if err != nil {
			panic(err)
		}
		p.mu.Lock()
		p.logs = append(p.logs, b)
		p.mu.Unlock()
	}
	return ld, done
}

// Sent is every item generated, by content.
func (p *recordingProvider) Sent() *itemSet {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := newItemSet()
	for _, b := range p.traces {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b)
		if err != nil {
			panic(err)
		}
		s.AddTraces(td)
	}
	for _, b := range p.metrics {
		md, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(b)
		if err != nil {
			panic(err)
		}
		s.AddMetrics(md)
	}
	for _, b := range p.logs {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(b)
		if err != nil {
			panic(err)
		}
		s.AddLogs(ld)
	}
	return s
}

// ---- the session store as the testbed's receiving end ----

// storeReceiver is a testbed DataReceiver for the session_capture exporter:
// its configuration is the exporter's, and Drain reads the sessions the
// exporter stored back (decoding every object) and hands them to the mock
// backend's consumers, so the testbed's counters and validators see what was
// stored, exactly as they see what an OTLP exporter delivers.
type storeReceiver struct {
	exporterYAML string // the session_capture block under exporters:
	root         string // directory holding sessions/ (the store, or the S3 bucket's posix directory)

	tc       consumer.Traces
	mc       consumer.Metrics
	lc       consumer.Logs
	received *itemSet
	objects  int
}

func (r *storeReceiver) Start(tc consumer.Traces, mc consumer.Metrics, lc consumer.Logs) error {
	r.tc, r.mc, r.lc = tc, mc, lc
	r.received = newItemSet()
	return nil
}

func (*storeReceiver) Stop() error                   { return nil }
func (r *storeReceiver) GenConfigYAMLStr() string    { return r.exporterYAML }
func (*storeReceiver) ProtocolName() string          { return "session_capture" }
func (r *storeReceiver) Received() *itemSet          { return r.received }
func (r *storeReceiver) sessions() ([]string, error) { return sessionIDs(r.root) }

// Drain reads every stored session into the mock backend.
func (r *storeReceiver) Drain() error {
	ids, err := r.sessions()
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, id := range ids {
		err := forEachObject(r.root, id, func(o storedObject) error {
			r.objects++
			switch o.Signal {
			case "traces":
				r.received.AddTraces(o.Traces)
				return r.tc.ConsumeTraces(ctx, o.Traces)
			case "metrics":
				r.received.AddMetrics(o.Metrics)
				return r.mc.ConsumeMetrics(ctx, o.Metrics)
			default:
				r.received.AddLogs(o.Logs)
				return r.lc.ConsumeLogs(ctx, o.Logs)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// storedItems is the sum of the items every session's metadata.json counts
// (0 while there is none).
func storedItems(root string) int64 {
	ids, err := sessionIDs(root)
	if err != nil {
		return 0
	}
	var n int64
	for _, id := range ids {
		if md, err := readMetadata(root, id); err == nil {
			n += md.Items()
		}
	}
	return n
}

// ---- validators ----

// captureValidator checks a capture: the testbed's count check (items sent =
// items the store gave back), the content of every item against what the
// load generator sent, and every session's metadata.json: completed, nothing
// lost, its counts those of its objects, summing to what was sent.
type captureValidator struct {
	provider *recordingProvider
	store    *storeReceiver
	ran      bool // Validate ran: the testbed skips it after it signalled an error
}

func (v *captureValidator) Validate(tc *testbed.TestCase) {
	v.ran = true
	t := testingT(tc)
	(&testbed.PerfTestValidator{}).Validate(tc)
	if d := diffItems(v.provider.Sent(), v.store.Received(), 10); d != "" {
		t.Error(d)
	} else {
		log.Printf("Stored content matches what was sent: %d items", v.store.Received().Len())
	}
	checkSessions(t, v.store.root, int64(tc.LoadGenerator.DataItemsSent()))
}

func (*captureValidator) RecordResults(tc *testbed.TestCase) {
	(&testbed.PerfTestValidator{IncludeLimitsInReport: true}).RecordResults(tc)
}

// checkSessions checks every session under root: completed, no lostItems,
// metadata counts equal to the items of its objects, and all of them summing
// to want. It returns the sessions' metadata.
func checkSessions(t assert.TestingT, root string, want int64) []sessionMetadata {
	ids, err := sessionIDs(root)
	if !assert.NoError(t, err) {
		return nil
	}
	var all []sessionMetadata
	var total int64
	for _, id := range ids {
		md, err := readMetadata(root, id)
		if !assert.NoError(t, err, "session %s", id) {
			continue
		}
		all = append(all, md)
		assert.Equal(t, "completed", md.Status, "session %s status", id)
		assert.Empty(t, md.LostItems, "session %s lostItems", id)
		var objItems int64
		assert.NoError(t, forEachObject(root, id, func(o storedObject) error {
			objItems += int64(o.Items())
			return nil
		}))
		assert.Equal(t, md.Items(), objItems, "session %s: metadata.json counts %d items, its objects hold %d", id, md.Items(), objItems)
		total += md.Items()
	}
	assert.Equal(t, want, total, "items counted in metadata.json of %d sessions vs items sent", len(ids))
	return all
}

// contentValidator checks what the mock backend received against a known
// set of items (a stored session): the testbed's count check, then content,
// then optionally another testbed validator (the correctness validator).
type contentValidator struct {
	want  *itemSet
	extra testbed.TestCaseValidator
	ran   bool
}

func (v *contentValidator) Validate(tc *testbed.TestCase) {
	v.ran = true
	t := testingT(tc)
	(&testbed.PerfTestValidator{}).Validate(tc)
	got := newItemSet()
	for _, td := range tc.MockBackend.ReceivedTraces {
		got.AddTraces(td)
	}
	for _, md := range tc.MockBackend.ReceivedMetrics {
		got.AddMetrics(md)
	}
	for _, ld := range tc.MockBackend.ReceivedLogs {
		got.AddLogs(ld)
	}
	if d := diffItems(v.want, got, 10); d != "" {
		t.Error(d)
	} else {
		log.Printf("Received content matches the session: %d items", got.Len())
	}
	if v.extra != nil {
		v.extra.Validate(tc)
	}
}

func (*contentValidator) RecordResults(tc *testbed.TestCase) {
	(&testbed.PerfTestValidator{IncludeLimitsInReport: true}).RecordResults(tc)
}

// testingT gets the test of a TestCase (the field is unexported; validators
// are handed the TestCase only).
var currentT sync.Map // *testbed.TestCase -> *testing.T

func bindT(tc *testbed.TestCase, t *testing.T) { currentT.Store(tc, t) }

func testingT(tc *testbed.TestCase) *testing.T {
	t, ok := currentT.Load(tc)
	if !ok {
		panic("test case not bound to its test (bindT)")
	}
	return t.(*testing.T)
}

// ---- a load that the collector makes itself ----

// fixedLoad is a testbed LoadGenerator for scenarios where the data does not
// come from the test process (replay, seed): it sends nothing and reports as
// sent the items the source holds, so the testbed's counters and validators
// compare the mock backend with that number.
type fixedLoad struct {
	items atomic.Uint64
	name  string
}

func (*fixedLoad) Start(testbed.LoadOptions) {}
func (*fixedLoad) Stop()                     {}
func (*fixedLoad) IsReady() bool             { return true }
func (l *fixedLoad) DataItemsSent() uint64   { return l.items.Load() }
func (l *fixedLoad) IncDataItemsSent()       { l.items.Add(1) }
func (*fixedLoad) PermanentErrors() uint64   { return 0 }
func (l *fixedLoad) GetStats() string {
	return fmt.Sprintf("Source: %d items (%s)", l.items.Load(), l.name)
}

// ---- the extra figures (rates, CPU-seconds, RSS points) ----

var (
	reportMu   sync.Mutex
	reportPath string
)

// initScenarioReport starts results/SCENARIOS.md, where each scenario adds
// the figures the testbed's table has no column for.
func initScenarioReport() {
	dir, err := filepath.Abs("results")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	reportPath = filepath.Join(dir, "SCENARIOS.md")
	f, err := os.OpenFile(reportPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "\n# Scenario figures, %s\n\n", time.Now().UTC().Format(time.RFC3339))
}

// report adds a line to results/SCENARIOS.md and the test log.
func report(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf("%s: %s", t.Name(), fmt.Sprintf(format, args...))
	t.Log(line)
	reportMu.Lock()
	defer reportMu.Unlock()
	if reportPath == "" {
		return
	}
	f, err := os.OpenFile(reportPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, "- "+line)
}

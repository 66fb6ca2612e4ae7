package tests

// Capture as a tap: what recording a copy of the traffic with
// configs/tap.yaml costs the forwarding path. The same binary forwards
// 10k spans/s, received over OTLP/gRPC, to an OTLP/gRPC backend in this
// test, in three variants interleaved in rounds:
//
//	notap           configs/tap.yaml without session_capture
//	tap             configs/tap.yaml, capturing into a filesystem store
//	tap_store_down  configs/tap.yaml, capturing into an S3 endpoint nothing
//	                listens on: the capture's queue fills, then drops
//
// Each run measures the collector's CPU per span, the rate at which spans
// reach the backend and each span's latency from send to the backend, and
// reports them against notap of the same round. The goals (CPU per span with
// the tap ≤ 1.25× without; p99 latency added by the tap ≤ 1 ms; with the
// store down, the backend's rate within 5 % of no tap) are reported, not
// asserted: what is asserted is correctness, that every span reaches the
// backend exactly once, that no request fails, and that the capture accounts
// for what it did not store (in metadata.json; with the store down, in its
// log).

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	// The forwarding exporter compresses with gzip (tap.yaml's default);
	// the backend's server needs the codec registered to read it.
	_ "google.golang.org/grpc/encoding/gzip"
)

const (
	tapRounds          = 3
	tapRequestInterval = 10 * time.Millisecond // 100 requests/s ...
	tapSpansPerRequest = 100                   // ... of 100 spans: 10k spans/s
)

// tapVariant is one configuration of the collector under comparison.
type tapVariant struct {
	name   string
	config string // the collector's configuration file
	// setup returns the variant's own environment and the check to run
	// once its collector has stopped.
	setup func(t *testing.T) (env []string, check tapCheck)
}

// tapCheck checks a run after its collector has stopped, given the spans
// sent.
type tapCheck func(t *testing.T, sent uint64, exit tapExit)

// tapExit is how a run's collector ended.
type tapExit struct {
	log string // its output
	err error  // from waiting for it: nil if it exited with status 0
}

// tapRun is what one run of a variant measured.
type tapRun struct {
	spans    uint64        // sent, and received exactly once each
	load     time.Duration // from the first send to the last arrival at the backend
	cpu      float64       // collector CPU-seconds, from just before the first send to just after the last arrival
	p50, p99 time.Duration // send to arrival at the backend, per span
	max      time.Duration
}

// cpuPerSpan is in microseconds.
func (r tapRun) cpuPerSpan() float64 { return 1e6 * r.cpu / float64(r.spans) }

// rate is the spans per second the backend received.
func (r tapRun) rate() float64 { return float64(r.spans) / r.load.Seconds() }

// TestTapOverhead: notap, tap and tap_store_down, each loaded for 20 s
// ($TESTBED_LOAD_DURATION) per round; every round starts with the next
// variant, so that none always runs first or after the same neighbour.
func TestTapOverhead(t *testing.T) {
	bin := agentBinary(t)
	tapConfig, err := filepath.Abs(filepath.Join("..", "..", "configs", "tap.yaml"))
	require.NoError(t, err)
	variants := []tapVariant{
		{name: "notap", config: withoutCapture(t, tapConfig), setup: noTap},
		{name: "tap", config: tapConfig, setup: filesystemTap},
		{name: "tap_store_down", config: tapConfig, setup: storeDownTap},
	}
	duration := loadDuration(t, 20*time.Second)
	rounds := make([]map[string]tapRun, tapRounds)
	for r := range rounds {
		rounds[r] = map[string]tapRun{}
		t.Run(fmt.Sprintf("round%d", r+1), func(t *testing.T) {
			for i := range variants {
				v := variants[(r+i)%len(variants)]
				t.Run(v.name, func(t *testing.T) {
					run := runTap(t, bin, v, duration)
					if !t.Failed() {
						rounds[r][v.name] = run
					}
				})
			}
		})
	}
	reportTapOverhead(t, rounds)
}

// withoutCapture writes configs/tap.yaml without session_capture (its block
// under exporters and its place in every pipeline) into the test's results
// directory and returns that file's path. The rest, comments included, is
// the file as it is.
func withoutCapture(t *testing.T, tapConfig string) string {
	b, err := os.ReadFile(tapConfig)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	root := doc.Content[0]
	exporters := mappingValue(t, root, "exporters")
	for i := 0; i < len(exporters.Content); i += 2 {
		if exporters.Content[i].Value == "session_capture" {
			exporters.Content = slices.Delete(exporters.Content, i, i+2)
			break
		}
	}
	pipelines := mappingValue(t, mappingValue(t, root, "service"), "pipelines")
	for i := 1; i < len(pipelines.Content); i += 2 {
		list := mappingValue(t, pipelines.Content[i], "exporters")
		list.Content = slices.DeleteFunc(list.Content, func(n *yaml.Node) bool { return n.Value == "session_capture" })
		require.NotEmpty(t, list.Content, "pipeline %s has no exporter but session_capture", pipelines.Content[i-1].Value)
	}
	out, err := yaml.Marshal(&doc)
	require.NoError(t, err)
	out = append([]byte("# TestTapOverhead's notap: configs/tap.yaml without session_capture.\n"), out...)
	dir, err := filepath.Abs(filepath.Join("results", t.Name()))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "notap.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// mappingValue is the value of key in the YAML mapping node m.
func mappingValue(t *testing.T, m *yaml.Node, key string) *yaml.Node {
	t.Helper()
	require.Equal(t, yaml.MappingNode, m.Kind, "looking up %q in a node that is not a mapping", key)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	t.Fatalf("configs/tap.yaml has no key %q where expected", key)
	return nil
}

// noTap has no capture; its collector must stop cleanly.
func noTap(*testing.T) ([]string, tapCheck) {
	return nil, func(t *testing.T, _ uint64, exit tapExit) {
		assert.NoError(t, exit.err, "the collector's exit")
	}
}

// filesystemTap captures into a fresh directory; its collector must stop
// cleanly, and the sessions' metadata.json account for every span sent,
// stored or dropped.
func filesystemTap(t *testing.T) ([]string, tapCheck) {
	dir := t.TempDir()
	return []string{"STORE=filesystem", "CAPTURE_DIR=" + dir}, func(t *testing.T, sent uint64, exit tapExit) {
		assert.NoError(t, exit.err, "the collector's exit")
		ids, err := sessionIDs(dir)
		require.NoError(t, err)
		require.NotEmpty(t, ids, "no session under %s", dir)
		var stored, dropped int64
		for _, id := range ids {
			md, err := readMetadata(dir, id)
			require.NoError(t, err)
			stored += md.CapturedTraces
			dropped += md.DroppedItems["traces"]
		}
		assert.Equal(t, int64(sent), stored+dropped, "spans stored %d + dropped %d by the capture vs sent", stored, dropped)
		report(t, "capture: %d sessions, %d spans stored, %d dropped", len(ids), stored, dropped)
	}
}

// storeDownTap captures into an S3 endpoint nothing listens on. The store is
// never reachable, so no metadata.json is written: the drops show in the
// log only. The collector stops with an error, as the session's final
// metadata.json cannot be written either; that is not this test's concern.
func storeDownTap(t *testing.T) ([]string, tapCheck) {
	env := []string{
		"STORE=s3", fmt.Sprintf("S3_ENDPOINT=http://127.0.0.1:%d", freePort(t)), "S3_BUCKET=otel-data",
		"AWS_ACCESS_KEY_ID=testbed", "AWS_SECRET_ACCESS_KEY=testbed",
	}
	return env, func(t *testing.T, _ uint64, exit tapExit) {
		for _, line := range []string{
			"Session store not reachable yet",
			"Sending queue full: items dropped (backpressure: drop)",
		} {
			assert.True(t, strings.Contains(exit.log, line), "the collector's log says %q", line)
		}
		t.Logf("the collector's exit: %v", exit.err)
	}
}

// runTap runs variant v once: the collector forwarding to a fresh backend,
// loaded for duration.
func runTap(t *testing.T, bin string, v tapVariant, duration time.Duration) tapRun {
	backend := startTapBackend(t)
	otlpGRPC := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := []string{
		"GOMAXPROCS=2",
		"FORWARD_ENDPOINT=" + backend.addr, "FORWARD_INSECURE=true",
		"OTLP_GRPC_ENDPOINT=" + otlpGRPC,
		fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", freePort(t)),
		"HEALTH_ENDPOINT=" + health,
		"TELEMETRY_HOST=127.0.0.1", fmt.Sprintf("TELEMETRY_PORT=%d", freePort(t)),
	}
	variantEnv, check := v.setup(t)
	agent := startTapAgent(t, bin, v.config, append(env, variantEnv...), health)

	cpu0 := agent.cpuSeconds(t)
	sent := sendTapLoad(t, otlpGRPC, duration)
	waitFor(t, func() bool { return backend.spanCount() >= sent.spans }, 30*time.Second,
		fmt.Sprintf("the backend to receive the %d spans sent", sent.spans))
	cpu := agent.cpuSeconds(t) - cpu0
	exit := agent.stop(t)

	assert.Zero(t, sent.failed, "requests that failed or had spans rejected")
	got := backend.result()
	assert.Equal(t, sent.spans, got.spans, "spans received at the backend vs sent")
	assert.Equal(t, sent.spans, got.distinct, "distinct span ids received at the backend vs sent")
	check(t, sent.spans, exit)
	run := tapRun{spans: sent.spans, load: got.last.Sub(sent.first), cpu: cpu}
	run.p50, run.p99, run.max = quantile(got.latencies, 0.50), quantile(got.latencies, 0.99), quantile(got.latencies, 1)
	report(t, "%d spans sent in %.1f s; the backend received %d (%d distinct), %.0f spans/s; collector CPU %.2f s = %.1f µs/span (%.0f%% of one core); send to backend p50 %s, p99 %s, max %s",
		run.spans, sent.elapsed.Seconds(), got.spans, got.distinct, run.rate(), run.cpu, run.cpuPerSpan(),
		100*run.cpu/run.load.Seconds(), ms(run.p50), ms(run.p99), ms(run.max))
	return run
}

// ---- the collector ----

// tapAgent is the collector as a child process of the test, its output in
// agent.log of the run's results directory.
type tapAgent struct {
	cmd     *exec.Cmd
	proc    *process.Process
	logPath string
	exited  chan struct{} // closed when the process has exited, waitErr set
	waitErr error
	stopped sync.Once
}

// startTapAgent starts bin on config with env added to the test's
// environment and waits until its health check answers.
func startTapAgent(t *testing.T, bin, config string, env []string, health string) *tapAgent {
	dir, err := filepath.Abs(filepath.Join("results", t.Name()))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	a := &tapAgent{logPath: filepath.Join(dir, "agent.log"), exited: make(chan struct{})}
	t.Logf("the collector's log: %s", a.logPath)
	logFile, err := os.Create(a.logPath)
	require.NoError(t, err)
	defer logFile.Close() // the child has its own descriptor
	a.cmd = exec.Command(bin, "--config", config)
	a.cmd.Env = append(os.Environ(), env...)
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	require.NoError(t, a.cmd.Start())
	go func() {
		a.waitErr = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() { a.stop(t) })
	a.proc, err = process.NewProcess(int32(a.cmd.Process.Pid))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the collector's health check (log: %s)", a.logPath)
	return a
}

// cpuSeconds is the collector's CPU time so far (user + system).
func (a *tapAgent) cpuSeconds(t *testing.T) float64 {
	times, err := a.proc.Times()
	require.NoError(t, err)
	return times.User + times.System
}

// stop ends the collector with SIGTERM, as a service manager would, and
// says how it ended. It must exit by itself within a minute (the capture
// gives up on a store that is down within its shutdown_timeout, 20 s).
func (a *tapAgent) stop(t *testing.T) tapExit {
	a.stopped.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(time.Minute):
			t.Error("the collector did not stop within a minute of SIGTERM; killed")
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
	})
	b, err := os.ReadFile(a.logPath)
	require.NoError(t, err)
	return tapExit{log: string(b), err: a.waitErr}
}

// ---- the load ----

// tapSent is what the load sent.
type tapSent struct {
	spans   uint64
	failed  int           // requests that failed or had spans rejected
	first   time.Time     // when the first request was built
	elapsed time.Duration // from then to the last request's answer
}

// sendTapLoad sends OTLP/gRPC export requests of tapSpansPerRequest spans
// to addr, one every tapRequestInterval for duration, as one client
// without compression (the default of the OpenTelemetry SDKs). The
// schedule is absolute (request i is due at start + i × interval), so a
// slow answer delays the next requests but not the total sent.
func sendTapLoad(t *testing.T, addr string, duration time.Duration) tapSent {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	n := int(duration / tapRequestInterval)
	var s tapSent
	s.first = time.Now()
	for i := range n {
		time.Sleep(time.Until(s.first.Add(time.Duration(i) * tapRequestInterval)))
		req := tapRequest(uint64(i))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := client.Export(ctx, req)
		cancel()
		if err == nil && resp.PartialSuccess().RejectedSpans() > 0 {
			err = fmt.Errorf("%d spans rejected: %s", resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage())
		}
		if err != nil {
			if s.failed == 0 {
				t.Logf("request %d (the first that failed): %v", i, err)
			}
			s.failed++
		}
		s.spans += tapSpansPerRequest
	}
	s.elapsed = time.Since(s.first)
	return s
}

// tapRequest is request number i: one trace of tapSpansPerRequest client
// spans, shaped like the testbed load generator's (two int attributes),
// with span ids i × tapSpansPerRequest + 1, + 2, ... and every span's
// start and end timestamp the time it is built, just before it is sent.
func tapRequest(i uint64) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tap-load")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(tapSpansPerRequest)
	var traceID pcommon.TraceID
	binary.BigEndian.PutUint64(traceID[8:], i+1)
	stamp := pcommon.NewTimestampFromTime(time.Now())
	for j := range uint64(tapSpansPerRequest) {
		seq := i*tapSpansPerRequest + j + 1
		var spanID pcommon.SpanID
		binary.BigEndian.PutUint64(spanID[:], seq)
		sp := spans.AppendEmpty()
		sp.SetTraceID(traceID)
		sp.SetSpanID(spanID)
		sp.SetName(fmt.Sprintf("tap-load-span%d", seq))
		sp.SetKind(ptrace.SpanKindClient)
		sp.Attributes().PutInt("load_generator.span_seq_num", int64(seq))
		sp.Attributes().PutInt("load_generator.trace_seq_num", int64(i+1))
		sp.SetStartTimestamp(stamp)
		sp.SetEndTimestamp(stamp)
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

// ---- the backend ----

// tapBackend is the forwarding target: an OTLP/gRPC server on the loopback
// interface that counts the spans and distinct span ids it receives and
// keeps each span's latency, its arrival minus its start timestamp.
type tapBackend struct {
	ptraceotlp.UnimplementedGRPCServer
	addr string

	mu        sync.Mutex
	spans     uint64
	seen      map[pcommon.SpanID]struct{}
	latencies []time.Duration
	last      time.Time // the last arrival
}

// tapReceived is what the backend received.
type tapReceived struct {
	spans, distinct uint64
	latencies       []time.Duration // sorted
	last            time.Time
}

func startTapBackend(t *testing.T) *tapBackend {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &tapBackend{addr: l.Addr().String(), seen: map[pcommon.SpanID]struct{}{}}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, b)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(l) })
	t.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	return b
}

func (b *tapBackend) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	now := pcommon.NewTimestampFromTime(time.Now())
	b.mu.Lock()
	defer b.mu.Unlock()
	rss := req.Traces().ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				b.spans++
				b.seen[sp.SpanID()] = struct{}{}
				b.latencies = append(b.latencies, time.Duration(now-sp.StartTimestamp()))
			}
		}
	}
	b.last = now.AsTime()
	return ptraceotlp.NewExportResponse(), nil
}

func (b *tapBackend) spanCount() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spans
}

func (b *tapBackend) result() tapReceived {
	b.mu.Lock()
	defer b.mu.Unlock()
	lat := slices.Clone(b.latencies)
	slices.Sort(lat)
	return tapReceived{spans: b.spans, distinct: uint64(len(b.seen)), latencies: lat, last: b.last}
}

// quantile is the q-quantile (nearest rank) of sorted values; 0 if none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// ---- the report ----

// reportTapOverhead reports, for every round in which all three variants
// ran correctly, the tap variants against notap of that round, then the
// medians over those rounds and whether each goal was met.
func reportTapOverhead(t *testing.T, rounds []map[string]tapRun) {
	type versus struct{ cpu, rate, p99Added []float64 } // per round: ratios, ms
	var tap, down versus
	add := func(v *versus, r, base tapRun) {
		v.cpu = append(v.cpu, r.cpuPerSpan()/base.cpuPerSpan())
		v.rate = append(v.rate, r.rate()/base.rate())
		v.p99Added = append(v.p99Added, float64(r.p99-base.p99)/float64(time.Millisecond))
	}
	perVariant := map[string]*struct{ cpu, p50, p99 []float64 }{}
	for i, runs := range rounds {
		base, ok0 := runs["notap"]
		withTap, ok1 := runs["tap"]
		storeDown, ok2 := runs["tap_store_down"]
		if !ok0 || !ok1 || !ok2 {
			t.Logf("round %d is left out of the report: a run in it failed", i+1)
			continue
		}
		add(&tap, withTap, base)
		add(&down, storeDown, base)
		for name, r := range runs {
			if perVariant[name] == nil {
				perVariant[name] = &struct{ cpu, p50, p99 []float64 }{}
			}
			pv := perVariant[name]
			pv.cpu = append(pv.cpu, r.cpuPerSpan())
			pv.p50 = append(pv.p50, float64(r.p50)/float64(time.Millisecond))
			pv.p99 = append(pv.p99, float64(r.p99)/float64(time.Millisecond))
		}
		n := len(tap.cpu) - 1
		report(t, "round %d, against notap: tap CPU/span %.2f×, rate %.3f×, p99 %+.2f ms; tap_store_down CPU/span %.2f×, rate %.3f×, p99 %+.2f ms",
			i+1, tap.cpu[n], tap.rate[n], tap.p99Added[n], down.cpu[n], down.rate[n], down.p99Added[n])
	}
	if len(tap.cpu) == 0 {
		return
	}
	for _, name := range []string{"notap", "tap", "tap_store_down"} {
		pv := perVariant[name]
		report(t, "%s, median of %d rounds: %.1f µs CPU/span, p50 %.2f ms, p99 %.2f ms",
			name, len(pv.cpu), median(pv.cpu), median(pv.p50), median(pv.p99))
	}
	cpu, added, rate := median(tap.cpu), median(tap.p99Added), median(down.rate)
	report(t, "median of %d rounds, against notap: tap CPU/span %.2f× (goal ≤ 1.25×: %s), rate %.3f×, p99 %+.2f ms (goal ≤ +1 ms: %s); tap_store_down rate %.3f× (goal within 5 %%: %s), CPU/span %.2f×, p99 %+.2f ms",
		len(tap.cpu), cpu, met(cpu <= 1.25), median(tap.rate), added, met(added <= 1),
		rate, met(math.Abs(rate-1) <= 0.05), median(down.cpu), median(down.p99Added))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

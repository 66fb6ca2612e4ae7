package e2e

import (
	"os"
	"os/exec"
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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// writeTargetSession writes a small completed session, id, into dir: three
// objects per signal, each in a resource of its own service (payment's
// recorded with deployment.environment.name=production). decorate (may be
// nil) is given each resource with the attributes of its spans or log
// records (none for metrics). It returns what was written.
func writeTargetSession(t *testing.T, dir, id string, decorate func(r pcommon.Resource, items []pcommon.Map)) sent {
	t.Helper()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	c0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	w := sessiontest.NewWriter(t, st, id, c0)
	out := sent{traces: ptrace.NewTraces(), metrics: pmetric.NewMetrics(), logs: plog.NewLogs()}
	for i, svc := range []string{"checkout", "payment", "cart"} {
		td := sessiontest.Traces(svc, i, 20, c0)
		md := testdata.GenerateMetrics(2 + i)
		ld := testdata.GenerateLogs(3 + i)
		resources := []pcommon.Resource{td.ResourceSpans().At(0).Resource(), md.ResourceMetrics().At(0).Resource(), ld.ResourceLogs().At(0).Resource()}
		for _, r := range resources {
			r.Attributes().PutStr("service.name", svc)
			if svc == "payment" {
				r.Attributes().PutStr("deployment.environment.name", "production")
			}
		}
		if decorate != nil {
			var spans, records []pcommon.Map
			for _, sp := range pdatawalk.Spans(td) {
				spans = append(spans, sp.Attributes())
			}
			lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for j := range lr.Len() {
				records = append(records, lr.At(j).Attributes())
			}
			decorate(resources[0], spans)
			decorate(resources[1], nil)
			decorate(resources[2], records)
		}
		at := c0.Add(time.Duration(i) * 10 * time.Millisecond)
		w.Traces(at, td)
		w.Metrics(at.Add(time.Millisecond), md)
		w.Logs(at.Add(2*time.Millisecond), ld)
		td.ResourceSpans().MoveAndAppendTo(out.traces.ResourceSpans())
		md.ResourceMetrics().MoveAndAppendTo(out.metrics.ResourceMetrics())
		ld.ResourceLogs().MoveAndAppendTo(out.logs.ResourceLogs())
	}
	w.Complete()
	return out
}

// resources returns every resource of s.
func (s sent) resources() []pcommon.Resource {
	var out []pcommon.Resource
	for i := range s.traces.ResourceSpans().Len() {
		out = append(out, s.traces.ResourceSpans().At(i).Resource())
	}
	for i := range s.metrics.ResourceMetrics().Len() {
		out = append(out, s.metrics.ResourceMetrics().At(i).Resource())
	}
	for i := range s.logs.ResourceLogs().Len() {
		out = append(out, s.logs.ResourceLogs().At(i).Resource())
	}
	return out
}

func (s sent) items() int {
	return s.traces.SpanCount() + s.metrics.DataPointCount() + s.logs.LogRecordCount()
}

// assertReceived checks that got holds exactly want: every item once.
func assertReceived(t *testing.T, want sent, got sessiontest.Stored) {
	t.Helper()
	assert.NoError(t, ptracetest.CompareTraces(want.traces, got.Traces, ptracetest.IgnoreResourceSpansOrder()))
	assert.NoError(t, pmetrictest.CompareMetrics(want.metrics, got.Metrics, pmetrictest.IgnoreResourceMetricsOrder()))
	assert.NoError(t, plogtest.CompareLogs(want.logs, got.Logs, plogtest.IgnoreResourceLogsOrder()))
}

// TestMakeReplayToAuthenticatedGRPC: `make replay` over OTLP/gRPC, plain
// text, with a bearer token in REPLAY_HEADERS and REPLAY_ENVIRONMENT=staging,
// into a second collector whose OTLP/gRPC receiver requires that token
// (bearertokenauth) and captures what it takes. With a wrong token first:
// the target refuses everything (Unauthenticated, a permanent error, so the
// exporter drops it), and make replay fails, saying how many items were
// dropped and why. Then with the right one: the target holds every item of
// the session exactly once (so nothing of the refused run), every resource
// with deployment.environment.name=staging, payment's production value
// overwritten, and nothing else changed.
func TestMakeReplayToAuthenticatedGRPC(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	requireBin(t, root, "RECORDREPLAY_REQUIRE_OTELCOL", "run `make build`", "otelcol-recordreplay", "sessionctl")
	dir := t.TempDir()
	recorded := writeTargetSession(t, dir, "to-staging", nil)

	target := otelcoltest.Start(t, `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "{{GRPC}}"
        auth: {authenticator: bearertokenauth}
exporters:
  session_capture:
    store: {backend: filesystem, directory: ./data}
    session: {id: target}
extensions:
  bearertokenauth: {token: "replay-token-x"}
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check, bearertokenauth]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:  {receivers: [otlp], exporters: [session_capture]}
    metrics: {receivers: [otlp], exporters: [session_capture]}
    logs:    {receivers: [otlp], exporters: [session_capture]}
`)
	replay := func(token string) (string, error) {
		return runMake(t, root, time.Minute, "replay", "REPLAY_PROTOCOL=grpc",
			"REPLAY_HEADERS=authorization=Bearer "+token, "REPLAY_ENDPOINT="+target.GRPC, "REPLAY_INSECURE=true",
			"REPLAY_ENVIRONMENT=staging", "SESSION=to-staging", "SPEED=0", "TIMESTAMPS=none",
			"REPLAY_DIR="+dir, "TELEMETRY_PORT="+strconv.Itoa(ports.Free(t)))
	}

	out, err := replay("wrong")
	require.Error(t, err, "make replay with a wrong token succeeded:\n%s", out)
	assert.Contains(t, out, "Replay finished")
	assert.Contains(t, out, "Unauthenticated")
	assert.Contains(t, out, "Exporting failed. Dropping data.")
	assert.Contains(t, out, "replay: FAILED: the exporter dropped "+strconv.Itoa(recorded.items())+" items the target did not take",
		"the summary counts every item as dropped")

	out, err = replay("replay-token-x")
	require.NoError(t, err, "make replay:\n%s", out)
	assert.Contains(t, out, `"session": "to-staging"`)
	assert.Contains(t, out, "replay: session to-staging: 1 pass(es), 9 objects")
	assert.NotContains(t, out, "FAILED")
	target.Stop(t)

	st, err := sessionstore.OpenFilesystem(filepath.Join(target.Dir, "data"))
	require.NoError(t, err)
	defer st.Close()
	got := sessiontest.Read(t, st, "target")
	gotAll := sent{traces: got.Traces, metrics: got.Metrics, logs: got.Logs}
	require.Len(t, gotAll.resources(), 9, "resources at the target")
	for _, r := range gotAll.resources() {
		env, _ := r.Attributes().Get("deployment.environment.name")
		assert.Equal(t, "staging", env.AsString(), "deployment.environment.name of %v", r.Attributes().AsRaw())
	}
	for _, r := range recorded.resources() {
		r.Attributes().PutStr("deployment.environment.name", "staging")
	}
	assertReceived(t, recorded, got)
}

// TestReplayConfigTargetSettings: configs/replay.yaml, the image's
// /etc/otelcol-recordreplay/replay.yaml, validated by the built binary with
// the environment the image's entrypoint gives it (cmd/imagestart's
// TestReplayEnv: REPLAY_PROTOCOL picked REPLAY_EXPORTER, REPLAY_HEADERS
// became a YAML map): each target setting is taken, and a bad value is
// refused with an error naming it.
func TestReplayConfigTargetSettings(t *testing.T) {
	t.Parallel()
	bin := otelcoltest.Bin(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("not read by validate"), 0o600))
	validate := func(env ...string) (string, error) {
		cmd := exec.Command(bin, "validate", "--config", "../configs/replay.yaml")
		cmd.Env = append(makeEnv(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, env := range [][]string{
		nil, // debug
		{"REPLAY_EXPORTER=otlp_grpc", "REPLAY_ENDPOINT=staging-collector:4317", "REPLAY_INSECURE=true",
			"REPLAY_HEADERS={'authorization': 'Bearer x', 'x-scope-orgid': 'team-a'}", "REPLAY_COMPRESSION=zstd",
			"REPLAY_CA_FILE=" + ca, "REPLAY_ENVIRONMENT=staging"},
		{"REPLAY_EXPORTER=otlp_http", "REPLAY_ENDPOINT=https://staging-collector:4318", `REPLAY_HEADERS={authorization: "Bearer x"}`,
			"REPLAY_COMPRESSION=none", "REPLAY_ENVIRONMENT="},
		// an incident window over rotated sessions, amplified
		{"REPLAY_SESSIONS=[capture-a-09,capture-a-10]", "REPLAY_FROM=2026-12-07T09:55:00Z", "REPLAY_TO=2026-12-07T10:10:00.5Z", "REPLAY_COPIES=3"},
		{"REPLAY_SELECTION=window", "REPLAY_FROM=2026-12-07T09:55:00+01:00", "REPLAY_TO=2026-12-07T10:10:00+01:00"},
		{"REPLAY_FROM=5m", "REPLAY_TO=10m"},
	} {
		out, err := validate(env...)
		assert.NoError(t, err, "%v:\n%s", env, out)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"REPLAY_EXPORTER=otlp_grcp"}, `references exporter "otlp_grcp" which is not configured`},
		{[]string{"REPLAY_COMPRESSION=gz"}, `unsupported compression type "gz"`},
		{[]string{"REPLAY_HEADERS=authorization=Bearer x"}, `'headers' source data must be an array or slice, got string`},
		{[]string{"REPLAY_EXPORTER=otlp_http", "REPLAY_ENDPOINT=127.0.0.1:4318"}, `"otlp_http" exporter for data type`},
		{[]string{"REPLAY_INSECURE=maybe"}, "'tls.insecure' expected type 'bool'"},
		{[]string{"REPLAY_COPIES=0"}, "copies: 0 must be between 1 and 1000"},
		{[]string{"REPLAY_SELECTION=window", "REPLAY_FROM=5m"}, "selection: window: needs time_range with both ends RFC 3339 times"},
		{[]string{"REPLAY_FROM=yesterday"}, `time_range.start: "yesterday"`},
		{[]string{"REPLAY_SESSION=a", "REPLAY_SESSIONS=[b,c]"}, `sessions: [b c] and session "a": set one of them`},
	} {
		out, err := validate(tc.env...)
		assert.Error(t, err, "%v validated", tc.env)
		assert.True(t, strings.Contains(out, tc.want), "%v: want %q in:\n%s", tc.env, tc.want, out)
	}
}

// TestMakeReplayRewrites: `make replay` with configs/replay-rewrites.yaml
// (the README's rewrite example, shown there as it is) merged over configs/replay.yaml and
// REPLAY_ENVIRONMENT=staging, over OTLP/HTTP into a capturing collector.
// The target holds every item once, rewritten and otherwise as recorded:
// the environment and the staging cluster upserted and host.name dropped
// on every resource, service.namespace renamed, enduser.id dropped from
// spans and log records, production URLs and server.address pointed at
// the staging host, other URLs left alone.
func TestMakeReplayRewrites(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	requireBin(t, root, "RECORDREPLAY_REQUIRE_OTELCOL", "run `make build`", "otelcol-recordreplay", "sessionctl")
	// the README shows the example as it is, without its header comment
	example, err := os.ReadFile(filepath.Join(root, "configs", "replay-rewrites.yaml"))
	require.NoError(t, err)
	body := string(example[strings.Index(string(example), "\nprocessors:")+1:])
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), "```yaml\n"+body+"```\n"), "README.md shows configs/replay-rewrites.yaml from processors: on")
	dir := t.TempDir()
	n := 0
	recorded := writeTargetSession(t, dir, "prod", func(r pcommon.Resource, items []pcommon.Map) {
		r.Attributes().PutStr("service.namespace", "shop")
		r.Attributes().PutStr("k8s.cluster.name", "prod-eu-1")
		r.Attributes().PutStr("host.name", "node-7")
		for _, a := range items {
			n++
			a.PutStr("enduser.id", "u-"+strconv.Itoa(n))
			if n%2 == 0 {
				a.PutStr("url.full", "https://shop.example.com/cart?item="+strconv.Itoa(n))
				a.PutStr("server.address", "shop.example.com")
			} else {
				a.PutStr("url.full", "https://cdn.example.net/shop.example.com/"+strconv.Itoa(n))
				a.PutStr("server.address", "cdn.example.net")
			}
		}
	})
	target := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: target}"))
	out, err := runMake(t, root, time.Minute, "replay", "REPLAY_EXTRA_CONFIG=configs/replay-rewrites.yaml",
		"REPLAY_ENVIRONMENT=staging", "REPLAY_ENDPOINT=http://"+target.HTTP, "SESSION=prod", "SPEED=0", "TIMESTAMPS=none",
		"REPLAY_DIR="+dir, "TELEMETRY_PORT="+strconv.Itoa(ports.Free(t)))
	require.NoError(t, err, "make replay:\n%s", out)
	assert.Contains(t, out, "replay: session prod: 1 pass(es), 9 objects")
	target.Stop(t)

	st, err := sessionstore.OpenFilesystem(filepath.Join(target.Dir, "data"))
	require.NoError(t, err)
	defer st.Close()
	got := sessiontest.Read(t, st, "target")
	// what the rewrites make of the recording
	rewrite := func(r pcommon.Resource, items []pcommon.Map) {
		r.Attributes().PutStr("deployment.environment.name", "staging")
		r.Attributes().PutStr("k8s.cluster.name", "staging-eu-1")
		r.Attributes().Remove("host.name")
		r.Attributes().PutStr("service.namespace", "shop-staging")
		for _, a := range items {
			a.Remove("enduser.id")
			if u, ok := a.Get("url.full"); ok && strings.HasPrefix(u.Str(), "https://shop.example.com/") {
				u.SetStr("https://shop.staging.example.com/" + strings.TrimPrefix(u.Str(), "https://shop.example.com/"))
				a.PutStr("server.address", "shop.staging.example.com")
			}
		}
	}
	for i := range recorded.traces.ResourceSpans().Len() {
		rs := recorded.traces.ResourceSpans().At(i)
		var items []pcommon.Map
		ss := rs.ScopeSpans()
		for j := range ss.Len() {
			for k := range ss.At(j).Spans().Len() {
				items = append(items, ss.At(j).Spans().At(k).Attributes())
			}
		}
		rewrite(rs.Resource(), items)
	}
	for i := range recorded.metrics.ResourceMetrics().Len() {
		rewrite(recorded.metrics.ResourceMetrics().At(i).Resource(), nil)
	}
	for i := range recorded.logs.ResourceLogs().Len() {
		rl := recorded.logs.ResourceLogs().At(i)
		var items []pcommon.Map
		for j := range rl.ScopeLogs().Len() {
			for k := range rl.ScopeLogs().At(j).LogRecords().Len() {
				items = append(items, rl.ScopeLogs().At(j).LogRecords().At(k).Attributes())
			}
		}
		rewrite(rl.Resource(), items)
	}
	assertReceived(t, recorded, got)
}

// TestReplayEnvironmentUnsetIsNoOp: with REPLAY_ENVIRONMENT unset or empty,
// configs/replay.yaml's resource/replay processor changes nothing: the
// debug exporter prints deployment.environment.name only on the resources
// recorded with it (payment's three), with their recorded value.
func TestReplayEnvironmentUnsetIsNoOp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTargetSession(t, dir, "as-recorded", nil)
	for _, env := range [][]string{nil, {"REPLAY_ENVIRONMENT="}} {
		c := otelcoltest.StartFile(t, "../configs/replay.yaml", append(env, "REPLAY_DIR="+dir, "REPLAY_SPEED=0",
			"REPLAY_TIMESTAMPS=none", "REPLAY_SHUTDOWN_WHEN_DONE=true", "REPLAY_VERBOSITY=detailed")...)
		err, exited := c.Wait(30 * time.Second)
		require.True(t, exited, "%v: the replay did not stop:\n%s", env, c.LogTail(20))
		require.NoError(t, err, "%v:\n%s", env, c.LogTail(20))
		log := c.Log()
		require.Contains(t, log, "Replay finished", env)
		assert.Equal(t, 9, strings.Count(log, "-> service.name: Str("), "%v: resources printed", env)
		assert.Equal(t, 3, strings.Count(log, "-> deployment.environment.name: "), "%v: resources with an environment", env)
		assert.Equal(t, 3, strings.Count(log, "-> deployment.environment.name: Str(production)"), env)
	}
}

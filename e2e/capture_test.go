package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// captureConfig is collector-config.yaml's shape with a store block and
// extra exporter settings spliced in.
func captureConfig(store, extra string) string {
	return `
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "{{GRPC}}"}
      http: {endpoint: "{{HTTP}}"}
exporters:
  session_capture:
    store:
` + indent(store, 6) + `
` + indent(extra, 4) + `
extensions:
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:  {receivers: [otlp], exporters: [session_capture]}
    metrics: {receivers: [otlp], exporters: [session_capture]}
    logs:    {receivers: [otlp], exporters: [session_capture]}
`
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

const fsStore = `
backend: filesystem
directory: ./data`

func s3Store(srv *s3server.Server, bucket string) string {
	return `
backend: s3
s3:
  bucket: ` + bucket + `
  prefix: captures/e2e
  region: us-east-1
  endpoint: ` + srv.Endpoint + `
  use_path_style: true
  access_key_id: ${env:TEST_S3_KEY}
  secret_access_key: ${env:TEST_S3_SECRET}`
}

var s3Env = []string{"TEST_S3_KEY=" + s3server.AccessKey, "TEST_S3_SECRET=" + s3server.SecretKey}

var writerPattern = regexp.MustCompile(`^sessions/[A-Za-z0-9][A-Za-z0-9._-]{0,127}/writers/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json$`)

var keyPattern = regexp.MustCompile(`^sessions/([A-Za-z0-9][A-Za-z0-9._-]{0,127})/raw/(\d{4}-\d{2}-\d{2})/(\d{2})/(traces|metrics|logs)-(\d{13})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.otlp\.gz$`)

// sent is what a test sent, per signal.
type sent struct {
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs
}

// sendMixed sends distinct traces, metrics and logs over both OTLP/HTTP and
// OTLP/gRPC and returns everything it sent.
func sendMixed(t *testing.T, c *otelcoltest.Collector) sent {
	t.Helper()
	out := sent{traces: ptrace.NewTraces(), metrics: pmetric.NewMetrics(), logs: plog.NewLogs()}
	grpcc := c.DialGRPC(t)
	base := time.Now()
	for i := range 4 {
		td := sessiontest.Traces("checkout", i, 20+i, base)
		td.ResourceSpans().At(0).CopyTo(out.traces.ResourceSpans().AppendEmpty())
		md := testdata.GenerateMetrics(3 + i)
		md.ResourceMetrics().At(0).Resource().Attributes().PutInt("batch", int64(i))
		md.ResourceMetrics().At(0).CopyTo(out.metrics.ResourceMetrics().AppendEmpty())
		ld := testdata.GenerateLogs(5 + i)
		ld.ResourceLogs().At(0).Resource().Attributes().PutInt("batch", int64(i))
		ld.ResourceLogs().At(0).CopyTo(out.logs.ResourceLogs().AppendEmpty())
		if i%2 == 0 {
			c.SendTracesHTTP(t, td)
			c.SendMetricsHTTP(t, md)
			c.SendLogsHTTP(t, ld)
			continue
		}
		_, err := grpcc.Traces.Export(otelcoltest.Ctx(t), ptraceotlp.NewExportRequestFromTraces(td))
		require.NoError(t, err)
		_, err = grpcc.Metrics.Export(otelcoltest.Ctx(t), pmetricotlp.NewExportRequestFromMetrics(md))
		require.NoError(t, err)
		_, err = grpcc.Logs.Export(otelcoltest.Ctx(t), plogotlp.NewExportRequestFromLogs(ld))
		require.NoError(t, err)
	}
	return out
}

// checkSession asserts the layout of every key, that every object decodes,
// that the session holds exactly what was sent, and that metadata.json
// agrees with the objects.
func checkSession(t *testing.T, st sessionstore.Store, want sent) {
	t.Helper()
	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1)
	var keys []string
	for info, err := range st.List(context.Background(), "") {
		require.NoError(t, err)
		keys = append(keys, info.Key)
	}
	writers := 0
	for _, k := range keys {
		if k == sessionstore.MetadataKey(ids[0]) {
			continue
		}
		if writerPattern.MatchString(k) {
			writers++ // the writer's own view (sessions/{id}/writers/{writer}.json)
			continue
		}
		m := keyPattern.FindStringSubmatch(k)
		require.NotNil(t, m, "key %q does not match layout v1", k)
		assert.Equal(t, ids[0], m[1])
		parsed, err := sessionstore.ParseObjectKey(k)
		require.NoError(t, err)
		assert.Equal(t, parsed.CaptureTime.Format("2006-01-02"), m[2])
		assert.Equal(t, parsed.CaptureTime.Format("15"), m[3])
	}
	assert.Equal(t, 1, writers, "one collector, one writer view")
	s := sessiontest.Read(t, st, ids[0])
	require.NotEmpty(t, s.Objects)
	require.NoError(t, ptracetest.CompareTraces(want.traces, s.Traces, ptracetest.IgnoreResourceSpansOrder()))
	require.NoError(t, pmetrictest.CompareMetrics(want.metrics, s.Metrics, pmetrictest.IgnoreResourceMetricsOrder()))
	require.NoError(t, plogtest.CompareLogs(want.logs, s.Logs, plogtest.IgnoreResourceLogsOrder()))
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	require.NotNil(t, s.Meta.EndTime)
	sessiontest.CheckCounts(t, s)
}

func TestCaptureFilesystem(t *testing.T) {
	c := otelcoltest.Start(t, captureConfig(fsStore, ""))
	want := sendMixed(t, c)
	c.Stop(t)
	st, err := sessionstore.OpenFilesystem(filepath.Join(c.Dir, "data"))
	require.NoError(t, err)
	defer st.Close()
	checkSession(t, st, want)
}

// TestDefaultConfig runs collector-config.yaml, the config behind `make run`.
func TestDefaultConfig(t *testing.T) {
	dir := t.TempDir()
	c := otelcoltest.StartFile(t, "../collector-config.yaml", "CAPTURE_DIR="+dir, "CAPTURE_SESSION_ID=make-run")
	want := sendMixed(t, c)
	c.Stop(t)
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	assert.Equal(t, []string{"make-run"}, sessiontest.IDs(t, st))
	checkSession(t, st, want)
}

func TestCaptureS3(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), ""), s3Env...)
	want := sendMixed(t, c)
	c.Stop(t)
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	checkSession(t, st, want)
}

// TestMinioConfig runs configs/capture-minio.yaml unchanged against the S3
// server, configured only through the environment as a MinIO user would.
func TestMinioConfig(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.StartFile(t, "../configs/capture-minio.yaml",
		"S3_ENDPOINT="+srv.Endpoint, "S3_BUCKET=otel-data", "S3_PREFIX=prod/capture",
		"AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey,
		"CAPTURE_DESCRIPTION=minio e2e")
	want := sendMixed(t, c)
	c.Stop(t)
	cfg := srv.Config("otel-data", "prod/capture")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	checkSession(t, st, want)
	m, err := sessionstore.ReadMetadata(context.Background(), st, sessiontest.IDs(t, st)[0])
	require.NoError(t, err)
	assert.Equal(t, "minio e2e", m.Description)
}

// TestMissingBucketFailsStart: a store that can never work stops the
// collector at start with an error naming the bucket.
func TestMissingBucketFailsStart(t *testing.T) {
	srv := s3server.Start(t)
	c := otelcoltest.Launch(t, captureConfig(s3Store(srv, "no-such-bucket"), ""), s3Env...)
	err, exited := c.Wait(60 * time.Second)
	require.True(t, exited, "the collector must not run without its bucket")
	require.Error(t, err)
	assert.Contains(t, c.Log(), `bucket \"no-such-bucket\" does not exist`)
}

func TestCaptureRotation(t *testing.T) {
	t.Parallel() // seconds of real time in its own collector and store
	if testing.Short() {
		t.Skip("12 s of traffic")
	}
	c := otelcoltest.Start(t, captureConfig(fsStore, `
session:
  id: soak
  max_duration: 5s`))
	// 12 s of steady traffic, starting right after the first session opened.
	total := 0
	start := time.Now()
	for i := 0; time.Since(start) < 12*time.Second; i++ {
		c.SendTracesHTTP(t, sessiontest.Traces("svc", i, 10, time.Now()))
		total += 10
		time.Sleep(100 * time.Millisecond)
	}
	c.Stop(t)
	st, err := sessionstore.OpenFilesystem(filepath.Join(c.Dir, "data"))
	require.NoError(t, err)
	defer st.Close()
	ids := sessiontest.IDs(t, st)
	assert.Equal(t, []string{"soak", "soak-2", "soak-3"}, ids)
	got := 0
	for _, id := range ids {
		s := sessiontest.Read(t, st, id)
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, id)
		sessiontest.CheckCounts(t, s)
		got += s.Traces.SpanCount()
	}
	assert.Equal(t, total, got)
}

func TestCaptureSurvivesS3Outage(t *testing.T) {
	t.Parallel() // seconds of real time in its own collector and store
	if testing.Short() {
		t.Skip("20 s outage")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), `
session: {id: outage}
metadata_interval: 500ms
retry_on_failure:
  enabled: true
  initial_interval: 500ms
  max_interval: 2s
  max_elapsed_time: 0s
sending_queue:
  enabled: true
  queue_size: 10000
  block_on_overflow: true`), s3Env...)

	all := ptrace.NewTraces()
	var mu sync.Mutex
	send := func(batch int) {
		td := sessiontest.Traces("svc", batch, 25, time.Now())
		mu.Lock()
		td.ResourceSpans().At(0).CopyTo(all.ResourceSpans().AppendEmpty())
		mu.Unlock()
		c.SendTracesHTTP(t, td)
	}
	batch := 0
	for ; batch < 20; batch++ { // before the outage
		send(batch)
		time.Sleep(50 * time.Millisecond)
	}
	srv.Stop()
	outage := time.Now()
	for ; time.Since(outage) < 20*time.Second; batch++ { // during: accepted and queued
		send(batch)
		time.Sleep(100 * time.Millisecond)
	}
	srv.Restart(t)
	for end := batch + 20; batch < end; batch++ { // after
		send(batch)
		time.Sleep(50 * time.Millisecond)
	}
	// Batches waiting in retry backoff are abandoned by exporterhelper at
	// shutdown, so wait for the backlog to land before stopping.
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(context.Background(), st, "outage")
		return err == nil && m.CapturedTraces == int64(all.SpanCount())
	}, 90*time.Second, 250*time.Millisecond, "the backlog is stored once the server is back")
	c.Stop(t)

	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1)
	s := sessiontest.Read(t, st, ids[0])
	assert.Equal(t, all.SpanCount(), s.Traces.SpanCount(), "everything sent during the outage is stored")
	for id, n := range sessiontest.SpanIDs(s.Traces) {
		require.Equal(t, 1, n, "span %s stored %d times", id, n)
	}
	require.NoError(t, ptracetest.CompareTraces(all, s.Traces, ptracetest.IgnoreResourceSpansOrder()))
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	sessiontest.CheckCounts(t, s)
}

func TestInvalidSessionIDs(t *testing.T) {
	for _, id := range []string{"../x", "a/b", "", "..", strings.Repeat("z", 200)} {
		t.Run("config "+id[:min(len(id), 10)], func(t *testing.T) {
			c := otelcoltest.Launch(t, captureConfig(fsStore, "session: {id: \""+id+"\"}"))
			err, exited := c.Wait(60 * time.Second)
			require.True(t, exited, "the collector must refuse the config")
			require.Error(t, err)
			shown := id
			if len(shown) > 64 {
				shown = shown[:64]
			}
			assert.Contains(t, c.Log(), `invalid session id "`+shown)
			_, statErr := os.Stat(filepath.Join(c.Dir, "data"))
			assert.True(t, os.IsNotExist(statErr), "nothing written")
		})
	}

	t.Run("attribute", func(t *testing.T) {
		c := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: own, from_attribute: test.session.id}"))
		for _, bad := range []string{"../x", "a/b", "..", "../../etc", strings.Repeat("q", 200)} {
			td := sessiontest.Traces("svc", 1, 2, time.Now())
			td.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", bad)
			c.SendTracesHTTP(t, td) // accepted into the queue; refused when filed
		}
		// One batch holding resources of two sessions lands in two sessions.
		good := sessiontest.Traces("svc", 2, 3, time.Now())
		good.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", "seed-ok")
		other := sessiontest.Traces("svc", 3, 4, time.Now())
		other.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", "seed-other")
		other.ResourceSpans().At(0).CopyTo(good.ResourceSpans().AppendEmpty())
		c.SendTracesHTTP(t, good)
		c.Stop(t)
		assert.Contains(t, c.Log(), `invalid session id \"../x\"`)
		var files []string
		require.NoError(t, filepath.Walk(c.Dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				files = append(files, strings.TrimPrefix(p, c.Dir+"/"))
			}
			return err
		}))
		for _, f := range files {
			if f == "config.yaml" || f == "collector.log" {
				continue
			}
			assert.Regexp(t, `^data/sessions/(seed-ok|seed-other)/`, f)
		}
		st, err := sessionstore.OpenFilesystem(filepath.Join(c.Dir, "data"))
		require.NoError(t, err)
		defer st.Close()
		// No data lacked the attribute, so the exporter's own session never opened.
		assert.Equal(t, []string{"seed-ok", "seed-other"}, sessiontest.IDs(t, st))
		for id, spans := range map[string]int{"seed-ok": 3, "seed-other": 4} {
			s := sessiontest.Read(t, st, id)
			assert.Equal(t, spans, s.Traces.SpanCount())
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			sessiontest.CheckCounts(t, s)
		}
	})
}

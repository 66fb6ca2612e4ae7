package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// gauge builds n data points of one gauge, each with its own value.
func gauge(n int, base time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("load")
	dps := g.SetEmptyGauge().DataPoints()
	for i := range n {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
		dp.SetIntValue(int64(i))
	}
	return md
}

// logRecords builds n log records of one resource.
func logRecords(n int, base time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
		lr.Body().SetStr("request served")
		lr.Attributes().PutInt("i", int64(i))
	}
	return ld
}

// sessionctlVerify runs `sessionctl verify` on a filesystem store and
// returns its output, failing the test if it finds a problem.
func sessionctlVerify(t *testing.T, dir, id string) string {
	t.Helper()
	out, err := exec.Command(sessionctlBin(t), "--dir", dir, "verify", id).CombinedOutput()
	require.NoError(t, err, "sessionctl verify %s:\n%s", id, out)
	return string(out)
}

// TestLargeRequestsAreStoredWhole: one OTLP/HTTP request each of 40,000
// spans, 40,000 data points and 100,000 log records into the built
// collector with its default sending queue (batches of at most 16,384
// items), into a fixed session and into session.id: auto. Every item is
// stored once, metadata.json says exactly that and completed, and
// `sessionctl verify` agrees.
func TestLargeRequestsAreStoredWhole(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"large", "auto"} {
		t.Run("session.id "+id, func(t *testing.T) {
			t.Parallel()
			c := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: "+id+"}"))
			now := time.Now()
			td := sessiontest.Traces("svc", 1, 40000, now)
			c.SendTracesHTTP(t, td)
			c.SendMetricsHTTP(t, gauge(40000, now))
			c.SendLogsHTTP(t, logRecords(100000, now))
			c.Stop(t)

			dir := filepath.Join(c.Dir, "data")
			st, err := sessionstore.OpenFilesystem(dir)
			require.NoError(t, err)
			defer st.Close()
			ids := sessiontest.IDs(t, st)
			require.Len(t, ids, 1)
			if id != "auto" {
				require.Equal(t, id, ids[0])
			}
			s := sessiontest.Read(t, st, ids[0])
			assert.Equal(t, 40000, s.Traces.SpanCount())
			assert.Equal(t, 40000, s.Metrics.DataPointCount())
			assert.Equal(t, 100000, s.Logs.LogRecordCount())
			for sid, n := range sessiontest.SpanIDs(s.Traces) {
				require.Equal(t, 1, n, "span %s stored %d times", sid, n)
			}
			assert.Equal(t, int64(40000), s.Meta.CapturedTraces)
			assert.Equal(t, int64(40000), s.Meta.CapturedMetrics)
			assert.Equal(t, int64(100000), s.Meta.CapturedLogs)
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			sessiontest.CheckCounts(t, s)
			t.Log(sessionctlVerify(t, dir, ids[0]))
		})
	}
}

// TestRetriesExhaustedSayLost: S3 goes away while 200 spans are accepted
// (the senders see success: they are queued) and stays away past
// retry_on_failure.max_elapsed_time (2 s); then it comes back and 50 more
// are stored. The session says failed, with lostItems the 200 its
// objects lack, and counts that agree with its objects.
func TestRetriesExhaustedSayLost(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seconds of real time with the S3 server stopped")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), `
session: {id: exhausted}
metadata_interval: 200ms
retry_on_failure:
  enabled: true
  initial_interval: 100ms
  max_interval: 500ms
  max_elapsed_time: 2s`), s3Env...)
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()

	c.SendTracesHTTP(t, sessiontest.Traces("svc", 0, 100, time.Now()))
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(context.Background(), st, "exhausted")
		return err == nil && m.CapturedTraces == 100
	}, 30*time.Second, 50*time.Millisecond, "the first spans are stored")
	srv.Stop()
	for batch := 1; batch <= 8; batch++ {
		c.SendTracesHTTP(t, sessiontest.Traces("svc", batch, 25, time.Now()))
	}
	c.WaitLog(t, "gave up after", 30*time.Second) // the retries ran out
	srv.Restart(t)
	c.SendTracesHTTP(t, sessiontest.Traces("svc", 9, 50, time.Now()))
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(context.Background(), st, "exhausted")
		return err == nil && m.CapturedTraces == 150
	}, 30*time.Second, 50*time.Millisecond, "the spans sent after the outage are stored")
	c.Stop(t)

	s := sessiontest.Read(t, st, "exhausted")
	assert.Equal(t, 150, s.Traces.SpanCount())
	assert.Equal(t, sessionstore.StatusFailed, s.Meta.Status)
	require.NotNil(t, s.Meta.LostItems)
	assert.Equal(t, int64(200), s.Meta.LostItems.Traces, "lostItems: what the objects lack")
	sessiontest.CheckCounts(t, s)
	cmd := exec.Command(sessionctlBin(t), "--s3-bucket", "otel-data", "--s3-prefix", "captures/e2e", "--s3-endpoint", srv.Endpoint,
		"--s3-path-style", "verify", "exhausted")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sessionctl verify:\n%s", out)
	t.Logf("sessionctl verify exhausted: %s", out)
}

package e2e

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestShutdownWhileS3IsAway is issue 8's report, as a user would try it:
// S3 stopped, 500 spans accepted, SIGTERM, S3 back 3 s later. The
// collector keeps storing what it accepted within shutdown_timeout, exits
// cleanly, and the session holds all 500 spans and says completed.
func TestShutdownWhileS3IsAway(t *testing.T) {
	t.Parallel() // seconds of real time in its own collector and store
	if testing.Short() {
		t.Skip("seconds of real time with the S3 server stopped")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), `
session: {id: drill}
retry_on_failure:
  enabled: true
  initial_interval: 200ms
  max_interval: 1s
  max_elapsed_time: 0s
sending_queue:
  enabled: true
  block_on_overflow: true`), s3Env...)

	srv.Stop()
	all := ptrace.NewTraces()
	for batch := range 20 {
		td := sessiontest.Traces("svc", batch, 25, time.Now())
		td.ResourceSpans().At(0).CopyTo(all.ResourceSpans().AppendEmpty())
		c.SendTracesHTTP(t, td)
	}
	require.Equal(t, 500, all.SpanCount())
	time.Sleep(time.Second)
	sent := time.Now()
	require.NoError(t, syscall.Kill(c.Pid(), syscall.SIGTERM))
	time.Sleep(3 * time.Second)
	srv.Restart(t)
	exitErr, exited := c.Wait(60 * time.Second)
	require.True(t, exited, "collector did not exit:\n%s", c.LogTail(40))
	require.NoError(t, exitErr, "exit status; log:\n%s", c.LogTail(40))
	assert.Less(t, time.Since(sent), 25*time.Second, "within shutdown_timeout (20s) and the rest of shutdown")

	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	s := sessiontest.Read(t, st, "drill")
	assert.Equal(t, 500, s.Traces.SpanCount(), "nothing accepted is lost")
	for id, n := range sessiontest.SpanIDs(s.Traces) {
		require.Equal(t, 1, n, "span %s stored %d times", id, n)
	}
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	assert.Nil(t, s.Meta.LostItems)
	sessiontest.CheckCounts(t, s)
}

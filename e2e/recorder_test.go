package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestRecorderRolls: the built collector with `recorder: {window: 3s}`,
// on the filesystem and on the S3 server, fed spans with sequence numbers
// at a steady 200 spans/s for 12 s: the rolling session never holds an
// object older than the window plus one clean-up period (1 s for this
// window; plus 1 s of housekeeping tick and listing); after the stop its
// metadata.json counts exactly what it holds, the latest spans sent.
func TestRecorderRolls(t *testing.T) {
	t.Parallel()
	const window, period, slack = 3 * time.Second, time.Second, time.Second
	for _, backend := range []string{"filesystem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var store string
			var env []string
			var st sessionstore.Store
			switch backend {
			case "filesystem":
				store = fsStore
			default:
				srv := s3server.Start(t)
				srv.CreateBucket(t, "otel-data")
				store, env = s3Store(srv, "otel-data"), s3Env
				cfg := srv.Config("otel-data", "captures/e2e")
				var err error
				st, err = sessionstore.Open(context.Background(), &cfg)
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
			}
			c := otelcoltest.Start(t, captureConfig(store, `
session: {id: recorder}
recorder: {window: 3s}
metadata_interval: 1s`), env...)
			if st == nil {
				var err error
				st, err = sessionstore.OpenFilesystem(c.Dir + "/data")
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
			}
			start := time.Now()
			for i := 0; time.Since(start) < 12*time.Second; i++ {
				c.SendTracesHTTP(t, sessiontest.Traces("steady", i, 10, time.Now()))
				time.Sleep(50 * time.Millisecond)
				if i%20 != 19 || time.Since(start) < window+2*period {
					continue
				}
				now := time.Now()
				for o, err := range sessionstore.ListObjects(context.Background(), st, "recorder") {
					require.NoError(t, err)
					assert.False(t, o.CaptureTime.Before(now.Add(-window-period-slack)),
						"an object %s old after %s", now.Sub(o.CaptureTime).Round(time.Millisecond), time.Since(start).Round(time.Second))
				}
			}
			c.Stop(t)

			s := sessiontest.Read(t, st, "recorder")
			sessiontest.CheckCounts(t, s)
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			spans := s.Traces.SpanCount()
			assert.Len(t, sessiontest.SpanIDs(s.Traces), spans, "no span twice")
			t.Logf("%s: the rolling session holds %d spans in %d objects at the stop", backend, spans, len(s.Objects))
			assert.InDelta(t, 200*window.Seconds(), spans, 200*(period+slack).Seconds(), "about the window's worth")
		})
	}
}

package sessionreplayreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// capture records the three signals through a real session_capture
// exporter into store and returns what it sent.
func capture(t *testing.T, store sessionstore.Config, id string) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	t.Helper()
	f := sessioncaptureexporter.NewFactory()
	cfg := f.CreateDefaultConfig()
	setStore(t, cfg, store, id)
	set := exportertest.NewNopSettings(f.Type())
	set.ID = component.MustNewIDWithName(f.Type().String(), id)
	ctx := context.Background()
	te, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	me, err := f.CreateMetrics(ctx, set, cfg)
	require.NoError(t, err)
	le, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{te, me, le} {
		require.NoError(t, c.Start(ctx, host))
	}
	wt, wm, wl := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	for i := range 8 {
		td := sessiontest.Traces(fmt.Sprint("svc-", i%2), i, 30+i, time.Now())
		td.ResourceSpans().At(0).CopyTo(wt.ResourceSpans().AppendEmpty())
		require.NoError(t, te.ConsumeTraces(ctx, td))
		md := testdata.GenerateMetrics(4)
		md.ResourceMetrics().At(0).Resource().Attributes().PutInt("batch", int64(i))
		md.ResourceMetrics().At(0).CopyTo(wm.ResourceMetrics().AppendEmpty())
		require.NoError(t, me.ConsumeMetrics(ctx, md))
		ld := testdata.GenerateLogs(6)
		ld.ResourceLogs().At(0).Resource().Attributes().PutInt("batch", int64(i))
		ld.ResourceLogs().At(0).CopyTo(wl.ResourceLogs().AppendEmpty())
		require.NoError(t, le.ConsumeLogs(ctx, ld))
		time.Sleep(30 * time.Millisecond) // several objects, spread in time
	}
	for _, c := range []component.Component{te, me, le} {
		require.NoError(t, c.Shutdown(ctx))
	}
	return wt, wm, wl
}

func TestCaptureReplayRoundTrip(t *testing.T) {
	backends := map[string]func(t *testing.T) sessionstore.Config{
		"filesystem": func(t *testing.T) sessionstore.Config { c, _ := fsStore(t); return c },
	}
	if !testing.Short() {
		backends["s3"] = func(t *testing.T) sessionstore.Config {
			srv := s3server.Start(t)
			srv.CreateBucket(t, "replay")
			return srv.Config("replay", "team/capture")
		}
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			wantT, wantM, wantL := capture(t, store, "roundtrip-"+name)
			cfg := baseConfig(store, "roundtrip-"+name)
			s := newSinks()
			startReplay(t, cfg, s.traces, s.metrics, s.logs).wait(t, 60*time.Second)
			gotT, gotM, gotL := merged(s)
			require.NoError(t, ptracetest.CompareTraces(wantT, gotT, ptracetest.IgnoreResourceSpansOrder()))
			require.NoError(t, pmetrictest.CompareMetrics(wantM, gotM, pmetrictest.IgnoreResourceMetricsOrder()))
			require.NoError(t, plogtest.CompareLogs(wantL, gotL, plogtest.IgnoreResourceLogsOrder()))
		})
	}
}

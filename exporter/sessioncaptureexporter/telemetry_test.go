package sessioncaptureexporter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadatatest"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/metadatacheck"
)

// TestTelemetryMatchesMetadata drives the exporter through everything it
// counts (a session opening, stored objects, a failed write, items lost
// to a permanent refusal, data dropped while paused, data a tap's full
// queue had no room for) and holds its
// own metrics to metadata.yaml, then checks their values (exporterhelper's
// spans put exemplars on them: those are not the point).
func TestTelemetryMatchesMetadata(t *testing.T) {
	cfg, _ := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	tr := newTrioWith(t, metadatatest.NewSettings(tel), cfg, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, faultstore.Data(faultstore.Put, func(c faultstore.Call) faultstore.Fault {
			if strings.Contains(c.Key, "/metrics-") {
				return faultstore.Fault{Err: sessionstore.Permanent(errors.New("AccessDenied"))}
			}
			if c.Attempt == 0 {
				return faultstore.Fault{Err: errors.New("connection reset")}
			}
			return faultstore.Fault{}
		}))
	})
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(3)))
	require.Error(t, tr.metrics.ConsumeMetrics(context.Background(), testdata.GenerateMetrics(2)), "refused for good: lost")
	_, err := tr.shared.Pause(context.Background())
	require.NoError(t, err)
	require.NoError(t, tr.logs.ConsumeLogs(context.Background(), testdata.GenerateLogs(2)))
	tr.shutdown(t)

	// A tap (backpressure: drop) whose queue has room for one span drops a
	// request of two.
	tap, _ := fsConfig(t)
	tap.Backpressure = BackpressureDrop
	tap.QueueConfig.Get().Sizer = exporterhelper.RequestSizerTypeItems
	tap.QueueConfig.Get().QueueSize = 1
	set := metadatatest.NewSettings(tel)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "tap")
	tapTrio := startTrio(t, set, tap, nil)
	require.NoError(t, tapTrio.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(2)), "dropped, never refused")
	tapTrio.shutdown(t)

	metadatacheck.Check(t, "metadata.yaml", tel, metadata.ScopeName)
	metadatatest.AssertEqualExporterSessionCaptureDroppedItems(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 2, Attributes: attribute.NewSet(attribute.String("signal", "traces"))}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	traces := attribute.NewSet(attribute.String("signal", "traces"))
	metadatatest.AssertEqualExporterSessionCaptureObjects(t, tel, []metricdata.DataPoint[int64]{{Value: 1, Attributes: traces}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterSessionCaptureSessions(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "start"))}}, // the capture's and the tap's
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterSessionCapturePausedItems(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 2, Attributes: attribute.NewSet(attribute.String("signal", "logs"))}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metrics := attribute.NewSet(attribute.String("signal", "metrics"))
	metadatatest.AssertEqualExporterSessionCaptureLostItems(t, tel, []metricdata.DataPoint[int64]{{Value: 4, Attributes: metrics}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterSessionCaptureWriteErrors(t, tel,
		[]metricdata.DataPoint[int64]{
			{Value: 1, Attributes: attribute.NewSet(attribute.String("signal", "traces"), attribute.Bool("permanent", false))},
			{Value: 1, Attributes: attribute.NewSet(attribute.String("signal", "metrics"), attribute.Bool("permanent", true))},
		},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterSessionCaptureBytes(t, tel, []metricdata.DataPoint[int64]{{Attributes: traces}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterSessionCaptureCompressedBytes(t, tel, []metricdata.DataPoint[int64]{{Attributes: traces}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue(), metricdatatest.IgnoreExemplars())
}

// Hand-written in the shape mdatagen v0.165.0 generates from metadata.yaml
// (mdatagen is not available to this build): keep the two in step.

package metadatatest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

func TestSetupTelemetry(t *testing.T) {
	testTel := componenttest.NewTelemetry()
	tb, err := metadata.NewTelemetryBuilder(testTel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()
	tb.ReceiverSessionReplayBadObjects.Add(context.Background(), 1)
	tb.ReceiverSessionReplayDroppedItems.Add(context.Background(), 1)
	tb.ReceiverSessionReplayObjectLateness.Record(context.Background(), 1)
	tb.ReceiverSessionReplayObjects.Add(context.Background(), 1)
	tb.ReceiverSessionReplayPasses.Add(context.Background(), 1)
	AssertEqualReceiverSessionReplayBadObjects(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSessionReplayDroppedItems(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSessionReplayObjectLateness(t, testTel,
		[]metricdata.HistogramDataPoint[float64]{{}}, metricdatatest.IgnoreValue(),
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSessionReplayObjects(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSessionReplayPasses(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())

	require.NoError(t, testTel.Shutdown(context.Background()))
}

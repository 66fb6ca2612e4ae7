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

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

func TestSetupTelemetry(t *testing.T) {
	testTel := componenttest.NewTelemetry()
	tb, err := metadata.NewTelemetryBuilder(testTel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()
	tb.ReceiverSeedGenBatches.Add(context.Background(), 1)
	tb.ReceiverSeedGenDroppedItems.Add(context.Background(), 1)
	tb.ReceiverSeedGenLateness.Record(context.Background(), 1)
	AssertEqualReceiverSeedGenBatches(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSeedGenDroppedItems(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualReceiverSeedGenLateness(t, testTel,
		[]metricdata.DataPoint[float64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())

	require.NoError(t, testTel.Shutdown(context.Background()))
}

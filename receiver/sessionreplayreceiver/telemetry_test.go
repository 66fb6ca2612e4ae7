package sessionreplayreceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/metadatacheck"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadatatest"
)

// TestTelemetryMatchesMetadata drives a replay through everything it counts
// (a bad object, permanent refusals, lateness at speed > 0, a pass) and
// holds its own metrics to metadata.yaml, then checks their values. Items
// are obsreport's to count: the accepted spans are what reached the sink.
func TestTelemetryMatchesMetadata(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "telemetry", c0)
	for i := range 4 {
		w.Traces(c0.Add(time.Duration(i)*10*time.Millisecond), sessiontest.Traces("svc", i, 3, c0))
	}
	w.Raw(sessionstore.SignalTraces, c0.Add(5*time.Millisecond), []byte("junk"))
	w.Complete()
	cfg := baseConfig(storeCfg, "telemetry")
	cfg.Speed = 10 // lateness means something only at speed > 0

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	next := &flaky{permanent: true} // refuses every other object
	ctx := context.Background()
	c, err := NewFactory().CreateTraces(ctx, set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	select {
	case <-shared.Unwrap().current().done:
	case <-time.After(30 * time.Second):
		t.Fatal("replay did not finish")
	}
	require.NoError(t, c.Shutdown(ctx))

	metadatacheck.Check(t, "metadata.yaml", tel, metadata.ScopeName)
	traces := attribute.NewSet(attribute.String("signal", "traces"))
	metadatatest.AssertEqualReceiverSessionReplayPasses(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayBadObjects(t, tel, []metricdata.DataPoint[int64]{{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "corrupt"))}},
		metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayProgress(t, tel, []metricdata.DataPoint[float64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayEta(t, tel, []metricdata.DataPoint[float64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayObjects(t, tel, []metricdata.DataPoint[int64]{{Value: 4, Attributes: traces}},
		metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayDroppedItems(t, tel, []metricdata.DataPoint[int64]{{Value: 6, Attributes: traces}},
		metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSessionReplayObjectLateness(t, tel, []metricdata.HistogramDataPoint[float64]{{}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	accepted, err := tel.GetMetric("otelcol_receiver_accepted_spans")
	require.NoError(t, err)
	var n int64
	for _, dp := range accepted.Data.(metricdata.Sum[int64]).DataPoints {
		n += dp.Value
	}
	assert.Equal(t, int64(next.sink.SpanCount()), n)
	assert.Equal(t, int64(6), n)
}

// TestStoreOutageIsReportedToEveryPipeline: a store that fails while the
// replay runs makes the status of every pipeline's host a recoverable
// error until the store answers again.
func TestStoreOutageIsReportedToEveryPipeline(t *testing.T) {
	storeCfg, st := fsStore(t)
	want := writeNumbered(t, st, "status", 20, 200*time.Second)
	cfg := baseConfig(storeCfg, "status")
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "status")
	ctx := context.Background()
	f := NewFactory()
	sink := &arrivals{}
	traces, err := f.CreateTraces(ctx, set, cfg, sink)
	require.NoError(t, err)
	logs, err := f.CreateLogs(ctx, set, cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	var wrapped *faultstore.Store
	shared.Unwrap().openStore = func(ctx context.Context, c *sessionstore.Config) (sessionstore.Store, error) {
		s, err := sessionstore.Open(ctx, c)
		wrapped = faultstore.New(s, faultstore.Once(faultstore.List, faultstore.Fault{Err: errors.New("connection reset"), After: 7}))
		return wrapped, err
	}
	tracesHost, logsHost := statustest.NewHost(), statustest.NewHost()
	require.NoError(t, traces.Start(ctx, tracesHost))
	require.NoError(t, logs.Start(ctx, logsHost))
	select {
	case <-shared.Unwrap().current().done:
	case <-time.After(30 * time.Second):
		t.Fatal("replay did not finish")
	}
	require.NoError(t, traces.Shutdown(ctx))
	require.NoError(t, logs.Shutdown(ctx))

	require.Len(t, wrapped.Calls(faultstore.List), 2, "the listing failed once and was resumed")
	assert.Equal(t, want, spanOrder(sink), "the replay waited for the store")
	outage := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	assert.Equal(t, outage, tracesHost.Statuses())
	assert.Equal(t, outage, logsHost.Statuses())
}

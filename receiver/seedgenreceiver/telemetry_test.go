package seedgenreceiver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/metadatacheck"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadatatest"
)

// refuseFirst refuses its first batch permanently and keeps the rest.
type refuseFirst struct {
	mu      sync.Mutex
	refused int // spans refused
	sink    consumertest.TracesSink
}

func (r *refuseFirst) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (r *refuseFirst) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	r.mu.Lock()
	first := r.refused == 0
	if first {
		r.refused = td.SpanCount()
	}
	r.mu.Unlock()
	if first {
		return consumererror.NewPermanent(errors.New("refused"))
	}
	return r.sink.ConsumeTraces(ctx, td)
}

// seedWith runs cfg into next (traces) and a logs sink, each pipeline
// started with its own host, until the run ends.
func seedWith(t *testing.T, set receiver.Settings, cfg *Config, next consumer.Traces, hosts ...component.Host) *seedReceiver {
	t.Helper()
	ctx := context.Background()
	f := NewFactory()
	traces, err := f.CreateTraces(ctx, set, cfg, next)
	require.NoError(t, err)
	logs, err := f.CreateLogs(ctx, set, cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	require.NoError(t, traces.Start(ctx, hosts[0]))
	require.NoError(t, logs.Start(ctx, hosts[1]))
	select {
	case <-shared.Unwrap().done:
	case <-time.After(time.Minute):
		t.Fatal("seed run did not finish")
	}
	require.NoError(t, traces.Shutdown(ctx))
	require.NoError(t, logs.Shutdown(ctx))
	return shared.Unwrap()
}

// TestTelemetryMatchesMetadata drives a seed run through everything it
// counts (batches, a permanent refusal, lateness on the realtime clock) and
// holds its own metrics to metadata.yaml, then checks their values. Items
// are obsreport's to count: the accepted spans are what reached the sink.
func TestTelemetryMatchesMetadata(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ScenarioFile = "testdata/scenario-ok.yaml"
	cfg.Duration = 400 * time.Millisecond // realtime: lateness is measured
	cfg.BatchInterval = 100 * time.Millisecond
	cfg.MetricsInterval = 100 * time.Millisecond
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	next := &refuseFirst{}
	r := seedWith(t, metadatatest.NewSettings(tel), cfg, next, componenttest.NewNopHost(), componenttest.NewNopHost())

	metadatacheck.Check(t, "metadata.yaml", tel, metadata.ScopeName)
	metadatatest.AssertEqualReceiverSeedGenDroppedItems(t, tel,
		[]metricdata.DataPoint[int64]{{Value: int64(next.refused), Attributes: attribute.NewSet(attribute.String("signal", "traces"))}},
		metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverSeedGenLateness(t, tel, []metricdata.DataPoint[float64]{{}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	batches, err := tel.GetMetric("otelcol_receiver_seed_gen_batches")
	require.NoError(t, err)
	assert.Equal(t, int64(4), batches.Data.(metricdata.Sum[int64]).DataPoints[0].Value, "400 ms in batches of 100 ms")
	accepted, err := tel.GetMetric("otelcol_receiver_accepted_spans")
	require.NoError(t, err)
	assert.Equal(t, int64(next.sink.SpanCount()), accepted.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	assert.Equal(t, int64(next.sink.SpanCount()), r.counts["traces"])
}

// TestDroppedBatchIsReportedToEveryPipeline: a batch the pipeline drops
// makes the status of every pipeline's host a recoverable error, until the
// next batch is accepted.
func TestDroppedBatchIsReportedToEveryPipeline(t *testing.T) {
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "status")
	tracesHost, logsHost := statustest.NewHost(), statustest.NewHost()
	next := &refuseFirst{}
	seedWith(t, set, fastConfig(), next, tracesHost, logsHost)
	require.Positive(t, next.refused)
	want := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	assert.Equal(t, want, tracesHost.Statuses())
	assert.Equal(t, want, logsHost.Statuses())
}

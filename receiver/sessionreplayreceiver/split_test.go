package sessionreplayreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestLargeObjectsAreSplit: an object above max_request_items or
// max_request_bytes goes to the pipeline as several requests, cut at
// resource, scope and item boundaries, every item once and in order: a
// target that refuses messages over 4 MiB (OTLP/gRPC's default) takes a
// stored object of any size.
func TestLargeObjectsAreSplit(t *testing.T) {
	storeCfg, st := fsStore(t)
	w := sessiontest.NewWriter(t, st, "big", time.Now().Add(-time.Hour))
	spans := sessiontest.RealisticTraces(3, 40000, time.Now().Add(-time.Hour)) // about 9 MB of protobuf
	w.Traces(time.Now().Add(-time.Hour), spans)
	points := testdata.GenerateMetrics(2500)
	w.Metrics(time.Now().Add(-time.Hour).Add(time.Second), points)
	w.Complete()
	size := (&ptrace.ProtoMarshaler{}).TracesSize(spans)
	require.Greater(t, size, 8<<20, "the object is above 8 MiB")

	t.Run("bytes", func(t *testing.T) {
		cfg := baseConfig(storeCfg, "big")
		require.NoError(t, confmap.NewFromStringMap(map[string]any{"max_request_bytes": "4MiB"}).Unmarshal(cfg))
		traces, metrics := new(consumertest.TracesSink), new(consumertest.MetricsSink)
		rep := startReplay(t, cfg, traces, metrics, nil)
		rep.wait(t, time.Minute)
		assert.Greater(t, len(traces.AllTraces()), 2, "several requests")
		got := ptrace.NewTraces()
		for _, td := range traces.AllTraces() {
			assert.LessOrEqual(t, (&ptrace.ProtoMarshaler{}).TracesSize(td), 4<<20)
			td.ResourceSpans().MoveAndAppendTo(got.ResourceSpans())
		}
		assert.Equal(t, spans.SpanCount(), got.SpanCount())
		assert.Equal(t, sessiontest.SpanIDs(spans), sessiontest.SpanIDs(got), "every span once")
		assert.Equal(t, points.DataPointCount(), metrics.DataPointCount())
	})
	t.Run("items", func(t *testing.T) {
		cfg := baseConfig(storeCfg, "big")
		require.NoError(t, confmap.NewFromStringMap(map[string]any{"max_request_items": 1000}).Unmarshal(cfg))
		traces, metrics := new(consumertest.TracesSink), new(consumertest.MetricsSink)
		rep := startReplay(t, cfg, traces, metrics, nil)
		rep.wait(t, time.Minute)
		assert.Len(t, traces.AllTraces(), 40)
		for _, td := range traces.AllTraces() {
			assert.LessOrEqual(t, td.SpanCount(), 1000)
		}
		assert.Equal(t, spans.SpanCount(), traces.SpanCount())
		n := 0
		for _, md := range metrics.AllMetrics() {
			assert.LessOrEqual(t, md.DataPointCount(), 1000)
			n += md.DataPointCount()
		}
		assert.Equal(t, points.DataPointCount(), n)
		first := func(md pmetric.Metrics) pmetric.Metric {
			return md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
		}
		assert.Equal(t, first(points).Type(), first(metrics.AllMetrics()[0]).Type(), "a metric keeps its shape in each request")
		assert.Equal(t, first(points).Name(), first(metrics.AllMetrics()[0]).Name())
	})
}

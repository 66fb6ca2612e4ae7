package seedgenreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

// counter accepts and counts everything.
type counter struct{ spans, points, logs atomic.Int64 }

func (c *counter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *counter) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.spans.Add(int64(td.SpanCount()))
	return nil
}
func (c *counter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.points.Add(int64(md.DataPointCount()))
	return nil
}
func (c *counter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.logs.Add(int64(ld.LogRecordCount()))
	return nil
}

// BenchmarkSeedFast measures seed_gen with clock fast (one op = 10 s of
// basic-topology at 1000 traces/s, all three signals into counting
// consumers) and reports generated spans per second of wall time.
func BenchmarkSeedFast(b *testing.B) {
	var spans, items int64
	i := 0
	for b.Loop() {
		cfg := fastConfig()
		cfg.TracesPerSecond = 1000
		cfg.Duration = 10 * time.Second
		c := &counter{}
		i++
		set := receivertest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprint("bench", i))
		f := NewFactory()
		ctx := context.Background()
		tr, err := f.CreateTraces(ctx, set, cfg, c)
		require.NoError(b, err)
		_, err = f.CreateMetrics(ctx, set, cfg, c)
		require.NoError(b, err)
		_, err = f.CreateLogs(ctx, set, cfg, c)
		require.NoError(b, err)
		shared, err := receivers.Get(set, cfg)
		require.NoError(b, err)
		require.NoError(b, tr.Start(ctx, componenttest.NewNopHost()))
		<-shared.Unwrap().done
		require.NoError(b, tr.Shutdown(ctx))
		spans += c.spans.Load()
		items += c.spans.Load() + c.points.Load() + c.logs.Load()
	}
	b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

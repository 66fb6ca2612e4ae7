package seedgenreceiver

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var n int

// runSeed runs one seed_gen instance into sinks until it finishes.
func runSeed(t *testing.T, cfg *Config, nt consumer.Traces, nm consumer.Metrics, nl consumer.Logs) *seedReceiver {
	t.Helper()
	n++
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprint("t", n))
	f := NewFactory()
	ctx := context.Background()
	var comps []component.Component
	if nt != nil {
		c, err := f.CreateTraces(ctx, set, cfg, nt)
		require.NoError(t, err)
		comps = append(comps, c)
	}
	if nm != nil {
		c, err := f.CreateMetrics(ctx, set, cfg, nm)
		require.NoError(t, err)
		comps = append(comps, c)
	}
	if nl != nil {
		c, err := f.CreateLogs(ctx, set, cfg, nl)
		require.NoError(t, err)
		comps = append(comps, c)
	}
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	for _, c := range comps {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	select {
	case <-shared.Unwrap().done:
	case <-time.After(2 * time.Minute):
		t.Fatal("seed run did not finish")
	}
	for _, c := range comps {
		require.NoError(t, c.Shutdown(ctx))
	}
	return shared.Unwrap()
}

func fastConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Clock = ClockFast
	cfg.StartTime = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return cfg
}

func TestFastRunFeedsAllPipelines(t *testing.T) {
	ts, ms, ls := new(consumertest.TracesSink), new(consumertest.MetricsSink), new(consumertest.LogsSink)
	r := runSeed(t, fastConfig(), ts, ms, ls)
	assert.Positive(t, ts.SpanCount())
	assert.Positive(t, ms.DataPointCount())
	assert.Positive(t, ls.LogRecordCount())
	assert.Equal(t, int64(ts.SpanCount()), r.counts["traces"])
	assert.Regexp(t, `^seed-20261128T120000Z-[0-9a-f]{8}$`, r.sessionID)
	res := ts.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes()
	v, _ := res.Get("test.session.id")
	assert.Equal(t, r.sessionID, v.Str())
}

// TestRealtimeRate: clock realtime emits at the scenario's rate, paced by
// the virtual clock of the generator (checked on synctest's virtual clock:
// the subject is the schedule, not the machine's timer precision).
func TestRealtimeRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := createDefaultConfig().(*Config) // realtime, 10 traces/s, 30 s
		sink := &arrivals{}
		start := time.Now()
		runSeed(t, cfg, sink, nil, nil)
		perSecond := map[int]int{}
		total := 0
		for _, a := range sink.got {
			roots := 0
			for _, sp := range pdatawalk.Spans(a.td) {
				if sp.ParentSpanID().IsEmpty() {
					roots++
				}
			}
			perSecond[int(a.at.Sub(start)/time.Second)] += roots
			total += roots
		}
		t.Logf("traces per second: %v", perSecond)
		assert.InDelta(t, 300, total, 1)
		// On the virtual clock nothing is late: every second of the 30 gets
		// exactly its 10 traces (on a real clock a late batch may shift a
		// few into the next second).
		assert.Len(t, perSecond, 30, "spread over the 30 s")
		for sec, n := range perSecond {
			assert.Equal(t, 10, n, "second %d", sec)
		}
		assert.InDelta(t, 30, time.Since(start).Seconds(), 1.5, "paced by the virtual clock")
	})
}

type arrival struct {
	at time.Time
	td ptrace.Traces
}

type arrivals struct{ got []arrival }

func (a *arrivals) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (a *arrivals) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	a.got = append(a.got, arrival{time.Now(), td})
	return nil
}

// TestDeterministicAcrossClocksAndBatching: the same scenario, seed and
// start_time give the same OTLP bytes for every signal in fast and
// realtime mode and with different batch sizes; another seed does not.
func TestDeterministicAcrossClocksAndBatching(t *testing.T) {
	collect := func(t *testing.T, mod func(*Config)) [][]byte {
		t.Helper()
		cfg := fastConfig()
		cfg.Pattern = ""
		cfg.ScenarioFile = "testdata/scenario-ok.yaml" // 4 s
		cfg.Duration = 0
		mod(cfg)
		ts, ms, ls := new(consumertest.TracesSink), new(consumertest.MetricsSink), new(consumertest.LogsSink)
		runSeed(t, cfg, ts, ms, ls)
		td, md, ld := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
		for _, b := range ts.AllTraces() {
			b.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		for _, b := range ms.AllMetrics() {
			b.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		}
		for _, b := range ls.AllLogs() {
			b.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		}
		require.Positive(t, td.SpanCount())
		require.Positive(t, md.DataPointCount())
		require.Positive(t, ld.LogRecordCount())
		return sessiontest.Canonical(t, td, md, ld)
	}
	fast := collect(t, func(*Config) {})
	var realtime [][]byte
	synctest.Test(t, func(t *testing.T) { // 4 s of scenario, on the virtual clock
		realtime = collect(t, func(c *Config) { c.Clock = ClockRealtime; c.BatchInterval = 300 * time.Millisecond })
	})
	bigBatches := collect(t, func(c *Config) { c.BatchInterval = 2 * time.Second })
	assert.Equal(t, fast, realtime)
	assert.Equal(t, fast, bigBatches)
	other := collect(t, func(c *Config) { c.Seed = 7 })
	assert.NotEqual(t, fast, other)
}

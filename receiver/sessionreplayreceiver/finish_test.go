package sessionreplayreceiver

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

// stopper counts the receivers' requests to stop the collector, in place
// of the SIGTERM the collector would get.
type stopper struct {
	holds *completions
	stops atomic.Int64
}

func newStopper() *stopper { return &stopper{holds: &completions{}} }

func (s *stopper) prepare(r *replayReceiver) {
	if r.held { // counted at creation, in the process's count: count it here instead
		s.holds.hold()
	}
	r.completions = s.holds
	r.stopCollector = func() error { s.stops.Add(1); return nil }
	r.watchStop = func() func() { return func() {} } // no signal channel in a synctest bubble
}

func finishSession(t *testing.T) (sessionstore.Config, sessionstore.Store) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "finish", c0)
	for i := range 5 {
		at := c0.Add(time.Duration(i) * time.Second)
		w.Traces(at, sessiontest.Traces("svc", i, 10, at))
	}
	w.Complete()
	return storeCfg, st
}

// TestShutdownWhenDone: a replay with shutdown_when_done stops the
// collector once it is over by itself (its loops done, or max_duration),
// and only after every data item was handed on; with several such
// replays in one collector, when the last of them is over. A replay that
// is stopped by the collector's shutdown does not ask again, and without
// the setting the collector stays up.
func TestShutdownWhenDone(t *testing.T) {
	t.Run("loops done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, _ := finishSession(t)
			cfg := baseConfig(storeCfg, "finish")
			cfg.Speed, cfg.Loops, cfg.ShutdownWhenDone = 1, 2, true
			s := newStopper()
			sink := new(consumertest.TracesSink)
			rep := startReplayOn(t, cfg, statustest.NewHost(), s.prepare, sink, nil, nil)
			rep.wait(t, time.Minute)
			assert.EqualValues(t, 1, s.stops.Load())
			assert.Equal(t, 100, sink.SpanCount(), "both passes delivered before the stop")
			assert.Len(t, rep.logs.FilterMessage("Stopping the collector: the replay is over (shutdown_when_done)").All(), 1)
			assert.Equal(t, "loops", rep.logs.FilterMessage("Replay finished").All()[0].ContextMap()["ended_by"])
		})
	})
	t.Run("max_duration", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, _ := finishSession(t)
			cfg := baseConfig(storeCfg, "finish")
			cfg.Speed, cfg.Loops, cfg.MaxDuration, cfg.ShutdownWhenDone = 1, 0, 12*time.Second, true
			s := newStopper()
			rep := startReplayOn(t, cfg, statustest.NewHost(), s.prepare, new(consumertest.TracesSink), nil, nil)
			rep.wait(t, time.Minute)
			assert.EqualValues(t, 1, s.stops.Load())
			fin := rep.logs.FilterMessage("Replay finished").All()
			require.Len(t, fin, 1)
			assert.Equal(t, "max_duration", fin[0].ContextMap()["ended_by"], "the summary says why it ended")
		})
	})
	t.Run("the last of two", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, _ := finishSession(t)
			s := newStopper()
			short := baseConfig(storeCfg, "finish")
			short.Speed, short.Loops, short.ShutdownWhenDone = 1, 1, true
			long := baseConfig(storeCfg, "finish")
			long.Speed, long.Loops, long.ShutdownWhenDone = 1, 3, true
			first := startReplayOn(t, short, statustest.NewHost(), s.prepare, new(consumertest.TracesSink), nil, nil)
			second := startReplayOn(t, long, statustest.NewHost(), s.prepare, new(consumertest.TracesSink), nil, nil)
			first.wait(t, time.Minute)
			synctest.Wait()
			assert.Zero(t, s.stops.Load(), "another replay is not over")
			assert.Len(t, first.logs.FilterMessage("Replay over; the collector stops when the other replays with shutdown_when_done are over").All(), 1)
			second.wait(t, time.Minute)
			assert.EqualValues(t, 1, s.stops.Load())
		})
	})
	t.Run("stopped by shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, _ := finishSession(t)
			cfg := baseConfig(storeCfg, "finish")
			cfg.Speed, cfg.Loops, cfg.ShutdownWhenDone = 1, 1, true
			s := newStopper()
			rep := startReplayOn(t, cfg, statustest.NewHost(), s.prepare, new(consumertest.TracesSink), nil, nil)
			time.Sleep(2 * time.Second)
			require.NoError(t, rep.comp.Shutdown(context.Background()))
			assert.Zero(t, s.stops.Load())
			assert.Equal(t, "stopped", rep.logs.FilterMessage("Replay finished").All()[0].ContextMap()["ended_by"])
		})
	})
	t.Run("off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, _ := finishSession(t)
			cfg := baseConfig(storeCfg, "finish")
			s := newStopper()
			rep := startReplayOn(t, cfg, statustest.NewHost(), s.prepare, new(consumertest.TracesSink), nil, nil)
			rep.wait(t, time.Minute)
			assert.Zero(t, s.stops.Load())
		})
	})
}

func TestShutdownWhenDoneNeedsAnEnd(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Loops, cfg.ShutdownWhenDone = 0, true
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shutdown_when_done")
	assert.Contains(t, err.Error(), "loops: 0")
	cfg.MaxDuration = time.Minute
	assert.NoError(t, cfg.Validate())
	cfg.MaxDuration, cfg.Loops = 0, 1
	assert.NoError(t, cfg.Validate())
}

// TestShutdownWhenDoneWaitsForLaterStarts: a replay that is over before
// another receiver with shutdown_when_done has even started does not stop
// the collector: every such receiver counts from its creation, not from
// its start.
func TestShutdownWhenDoneWaitsForLaterStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, _ := finishSession(t)
		s := newStopper()
		quick := baseConfig(storeCfg, "finish")
		quick.Loops, quick.ShutdownWhenDone = 1, true
		later := baseConfig(storeCfg, "finish")
		later.Loops, later.ShutdownWhenDone = 1, true
		// both created (as the collector creates every component first)
		first := newStoppedReplay(t, quick, s)
		second := newStoppedReplay(t, later, s)
		require.NoError(t, first.comp.Start(context.Background(), statustest.NewHost()))
		first.wait(t, time.Minute)
		synctest.Wait()
		assert.Zero(t, s.stops.Load(), "the second replay has not even started")
		require.NoError(t, second.comp.Start(context.Background(), statustest.NewHost()))
		second.wait(t, time.Minute)
		assert.EqualValues(t, 1, s.stops.Load())
	})
}

func newStoppedReplay(t *testing.T, cfg *Config, s *stopper) *started {
	t.Helper()
	return createReplay(t, cfg, s.prepare, new(consumertest.TracesSink), nil, nil)
}

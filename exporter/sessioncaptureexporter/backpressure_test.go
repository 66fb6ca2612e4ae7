package sessioncaptureexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
)

// tapConfig is a filesystem config with backpressure: drop, set as a
// user sets it (through the config map), and a sending queue of capacity
// items (one consumer, the default batching).
func tapConfig(t *testing.T, capacity int64) (*Config, sessionstore.Store) {
	t.Helper()
	cfg, st := fsConfig(t)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"backpressure": "drop"}).Unmarshal(cfg))
	q := cfg.QueueConfig.Get()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = capacity
	q.NumConsumers = 1
	return cfg, st
}

// droppedOf returns a session's dropped items of signal, read from its
// metadata.json as any reader would.
func droppedOf(t *testing.T, m *sessionstore.Metadata, signal sessionstore.Signal) int64 {
	t.Helper()
	var doc struct {
		Dropped map[string]int64 `json:"droppedItems"`
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	return doc.Dropped[string(signal)]
}

// counterSum adds up the points of a telemetry counter for one signal.
func counterSum(t *testing.T, tel *componenttest.Telemetry, name string, signal sessionstore.Signal) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	data, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, name)
	var total int64
	for _, dp := range data.DataPoints {
		if v, ok := dp.Attributes.Value("signal"); ok && v.AsString() == string(signal) {
			total += dp.Value
		}
	}
	return total
}

// hangingPuts makes every data object write, while on, hang for 10 s
// and fail (a store whose connections time out): the queue's consumer is
// busy, with retries or without.
func hangingPuts(on *atomic.Bool) faultstore.Rule {
	return faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
		if on.Load() {
			return faultstore.Fault{Delay: 10 * time.Second, Err: errors.New("i/o timeout")}
		}
		return faultstore.Fault{}
	})
}

// TestDropNeverPushesBack: with backpressure: drop, a capture whose store
// is down never blocks and never fails the pipeline: what its queue cannot
// take is dropped and counted (metadata.json droppedItems, a telemetry
// counter, one warning per interval, not one error per request); what the
// queue took is stored once the store is back (retries on) or lost
// (retries off). For every signal, fixed and generated ids, requests
// below and above the batch's max_size: accepted = stored + lost +
// dropped, and the session is never completed.
func TestDropNeverPushesBack(t *testing.T) {
	for _, signal := range allSignals {
		for _, id := range []string{"tap-session", AutoSessionID} {
			for _, retries := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/retries=%v", signal, id, retries), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						cfg, st := tapConfig(t, 30000)
						cfg.Session.ID = id
						cfg.RetryConfig.Enabled = retries
						cfg.RetryConfig.MaxElapsedTime = 0 // forever
						var down atomic.Bool
						down.Store(true)
						tel := componenttest.NewTelemetry()
						defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
						core, logs := observer.New(zap.InfoLevel)
						set := exportertest.NewNopSettings(metadata.Type)
						set.TelemetrySettings = tel.NewTelemetrySettings()
						set.Logger = zap.New(core)
						tr := newTrioWith(t, set, cfg, func(s sessionstore.Store) sessionstore.Store {
							return faultstore.New(s, hangingPuts(&down))
						})

						// Below and above max_size (16384), over the queue's
						// capacity: some are queued, the rest dropped.
						sizes := []int{100, 20000, 100, 20000, 100, 20000, 100, 20000}
						sent := 0
						for _, n := range sizes {
							var err error
							var returned atomic.Bool
							batch := readOnly(itemBatch(signal, sent, n, 3, "")) // shared with the forwarding exporter
							go func() {
								err = tr.consumeItems(context.Background(), signal, batch)
								returned.Store(true)
							}()
							synctest.Wait()
							require.True(t, returned.Load(), "a request of %d items blocked the pipeline", n)
							require.NoError(t, err, "a request of %d items was refused", n)
							sent += n
						}
						time.Sleep(25 * time.Second)
						down.Store(false)
						time.Sleep(time.Minute) // the queued batches are stored (or were lost)
						for range 2 {
							require.NoError(t, tr.consumeItems(context.Background(), signal, itemBatch(signal, sent, 100, 1, "")))
							sent += 100
						}
						time.Sleep(time.Second)
						tr.shutdown(t)

						a := audit(t, st)
						stored := a.checkLedger(t)[signal]
						var lost, dropped int64
						for sid, m := range a.meta {
							lost += lostOf(m, signal)
							d := droppedOf(t, m, signal)
							dropped += d
							if d > 0 {
								assert.Equal(t, sessionstore.StatusFailed, m.Status, "session %s dropped %d", sid, d)
							}
						}
						assert.Equal(t, int64(sent), int64(stored)+lost+dropped, "accepted = stored + lost + dropped (stored %d, lost %d, dropped %d)", stored, lost, dropped)
						assert.Positive(t, dropped, "the queue was over its capacity")
						if retries {
							assert.Zero(t, lost, "the store came back: nothing queued is lost")
						}
						assert.Equal(t, dropped, counterSum(t, tel, "otelcol_exporter_session_capture_dropped_items", signal), "the telemetry counts the drops")
						warnings := logs.FilterMessageSnippet("dropped").FilterLevelExact(zap.WarnLevel).Len()
						assert.Positive(t, warnings, "the drops are reported")
						assert.LessOrEqual(t, warnings, 2, "the warning is rate-limited")
						assert.Zero(t, logs.FilterLevelExact(zap.ErrorLevel).FilterMessageSnippet("Rejecting data").Len(),
							"no error per refused request")
					})
				})
			}
		}
	}
}

// readOnly marks a batch read-only, as the collector's fan-out does when
// it hands one batch to several exporters that do not change data (a
// tap): the capture must never change it.
func readOnly(batch any) any {
	switch b := batch.(type) {
	case ptrace.Traces:
		b.MarkReadOnly()
	case pmetric.Metrics:
		b.MarkReadOnly()
	case plog.Logs:
		b.MarkReadOnly()
	}
	return batch
}

// TestDropOfRoutedData: items dropped for sessions named by the routing
// attribute are counted in those sessions, whether the session was open
// when they were dropped or never opened at all, even when they are dropped
// just before the collector stops.
func TestDropOfRoutedData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := tapConfig(t, 1000)
		cfg.Session.FromAttribute = "test.session.id"
		var down atomic.Bool
		down.Store(true)
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store { return faultstore.New(s, hangingPuts(&down)) })
		ctx := context.Background()
		sig := sessionstore.SignalLogs
		require.NoError(t, tr.consumeItems(ctx, sig, itemBatch(sig, 0, 600, 1, "run-a")))    // queued
		require.NoError(t, tr.consumeItems(ctx, sig, itemBatch(sig, 600, 600, 1, "run-a")))  // dropped
		require.NoError(t, tr.consumeItems(ctx, sig, itemBatch(sig, 1200, 700, 1, "run-b"))) // dropped: never opened
		time.Sleep(5 * time.Second)
		down.Store(false)
		time.Sleep(time.Minute)
		// Larger than the queue: dropped whatever the store does, right
		// before the stop (its session opens with the final metadata).
		require.NoError(t, tr.consumeItems(ctx, sig, itemBatch(sig, 1900, 1500, 1, "run-c")))
		tr.shutdown(t)

		a := audit(t, st)
		a.checkLedger(t)
		require.Contains(t, a.meta, "run-c")
		assert.Equal(t, int64(1500), droppedOf(t, a.meta["run-c"], sig))
		assert.Equal(t, sessionstore.StatusFailed, a.meta["run-c"].Status, "closed with the others")
		require.Contains(t, a.meta, "run-a")
		require.Contains(t, a.meta, "run-b")
		assert.Equal(t, int64(600), a.meta["run-a"].CapturedLogs)
		assert.Equal(t, int64(600), droppedOf(t, a.meta["run-a"], sig))
		assert.Equal(t, sessionstore.StatusFailed, a.meta["run-a"].Status)
		assert.Zero(t, a.meta["run-b"].CapturedLogs)
		assert.Equal(t, int64(700), droppedOf(t, a.meta["run-b"], sig))
		assert.Equal(t, sessionstore.StatusFailed, a.meta["run-b"].Status)
	})
}

// TestBackpressureConfig: the mode is block or drop; drop needs a sending
// queue that does not wait for the result (else the pipeline would wait
// for the store), and the errors name the setting.
func TestBackpressureConfig(t *testing.T) {
	unmarshal := func(t *testing.T, m map[string]any) (*Config, error) {
		cfg := createDefaultConfig().(*Config)
		cfg.Store.Directory = t.TempDir()
		if err := confmap.NewFromStringMap(m).Unmarshal(cfg); err != nil {
			return nil, err
		}
		return cfg, nil
	}
	cfg, err := unmarshal(t, map[string]any{})
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(), "block, the default")

	cfg, err = unmarshal(t, map[string]any{"backpressure": "drop"})
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())

	_, err = unmarshal(t, map[string]any{"backpressure": "shed"})
	require.ErrorContains(t, err, `"shed"`)

	cfg, err = unmarshal(t, map[string]any{"backpressure": "drop"})
	require.NoError(t, err)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	err = cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backpressure")
	assert.Contains(t, err.Error(), "sending_queue")

	cfg, err = unmarshal(t, map[string]any{"backpressure": "drop", "sending_queue": map[string]any{"wait_for_result": true}})
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "wait_for_result"), err.Error())
}

// TestSamplingShareInMetadata: spans a consistent probability sampler kept
// (ot=th:… in their tracestate) are counted by threshold in the session's
// metadata.json, with the probability it stands for, so a reader knows
// what share of the traces the session holds.
func TestSamplingShareInMetadata(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "sampled"
	tr := newTrio(t, cfg, nil)
	td := itemBatch(sessionstore.SignalTraces, 0, 40, 2, "").(ptrace.Traces)
	i := 0
	for _, sp := range pdatawalk.Spans(td) {
		if i%4 != 3 {
			sp.TraceState().FromRaw("ot=th:c")
		}
		i++
	}
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), td))
	tr.shutdown(t)
	m, err := sessionstore.ReadMetadata(context.Background(), st, "sampled")
	require.NoError(t, err)
	assert.Equal(t, []sessionstore.SamplingShare{{Threshold: "c", Probability: 0.25, Spans: 30}}, m.Sampling)
}

// TestDropsInControlState: the control API's state of a tap says how many
// items of each signal its full queue dropped since the collector started,
// and its session says them too.
func TestDropsInControlState(t *testing.T) {
	cfg, _ := tapConfig(t, 1)
	cfg.Session.ID = "tap-state"
	tr := newTrio(t, cfg, nil)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), ptrace.Traces(itemBatch(sessionstore.SignalTraces, 0, 3, 1, "").(ptrace.Traces))))
	require.NoError(t, tr.logs.ConsumeLogs(context.Background(), itemBatch(sessionstore.SignalLogs, 0, 2, 1, "").(plog.Logs)))
	st := tr.shared.State(context.Background())
	assert.Equal(t, map[string]int64{"traces": 3, "metrics": 0, "logs": 2}, st.DroppedOnOverflow)
	require.NotNil(t, st.Session)
	assert.Equal(t, &sessionstore.ItemCounts{Traces: 3, Logs: 2}, st.Session.DroppedItems)
	tr.shutdown(t)
}

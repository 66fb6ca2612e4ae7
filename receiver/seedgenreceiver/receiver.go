package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

// receivers holds one seedReceiver per component ID: one run feeds the
// traces, metrics and logs pipelines from the same generated events.
var receivers = sharedcomponent.NewMap[component.ID, *seedReceiver]()

type sharedReceiver = sharedcomponent.Component[*seedReceiver]

type seedReceiver struct {
	cfg       *Config
	set       receiver.Settings
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder

	mu          sync.Mutex
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs

	gen       *generator.Generator
	sessionID string
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	done      chan struct{}
	counts    map[string]int64 // items emitted per signal
}

func newSeedReceiver(set receiver.Settings, cfg *Config) (*seedReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "seed", LongLivedCtx: true, ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	return &seedReceiver{cfg: cfg, set: set, obs: obs, telemetry: tb, done: make(chan struct{}), counts: map[string]int64{}}, nil
}

func (r *seedReceiver) setTraces(c consumer.Traces) { r.mu.Lock(); r.nextTraces = c; r.mu.Unlock() }

func (r *seedReceiver) setMetrics(c consumer.Metrics) { r.mu.Lock(); r.nextMetrics = c; r.mu.Unlock() }

func (r *seedReceiver) setLogs(c consumer.Logs) { r.mu.Lock(); r.nextLogs = c; r.mu.Unlock() }

// Start loads the scenario, anchors the virtual clock and starts emitting.
func (r *seedReceiver) Start(context.Context, component.Host) error {
	sc, err := r.cfg.loadScenario()
	if err != nil {
		return fmt.Errorf("seed_gen: %w", err)
	}
	start := time.Now().UTC().Truncate(time.Millisecond)
	if r.cfg.StartTime != "" {
		if start, err = time.Parse(time.RFC3339, r.cfg.StartTime); err != nil {
			return fmt.Errorf("seed_gen: start_time: %w", err)
		}
	}
	r.sessionID = r.cfg.sessionID(sc.Name, start)
	version := r.set.BuildInfo.Version
	r.gen, err = generator.New(generator.Options{
		Scenario: sc, Seed: r.cfg.Seed, TracesPerSecond: r.cfg.TracesPerSecond, ErrorRate: r.cfg.ErrorRate,
		Duration: r.cfg.Duration, Start: start, SessionID: r.sessionID, Description: r.cfg.Description,
		BatchInterval: r.cfg.BatchInterval, MetricsInterval: r.cfg.MetricsInterval, Version: version,
	})
	if err != nil {
		return fmt.Errorf("seed_gen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		defer close(r.done)
		r.run(ctx, start)
	})
	r.set.Logger.Info("Seeding", zap.String("session", r.sessionID), zap.String("pattern", sc.Name),
		zap.Int64("seed", r.cfg.Seed), zap.Float64("traces_per_second", r.cfg.TracesPerSecond),
		zap.Duration("duration", r.gen.Length()), zap.String("clock", string(r.cfg.Clock)))
	return nil
}

// Shutdown stops emitting and waits; it works without Start.
func (r *seedReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return nil
}

func (r *seedReceiver) run(ctx context.Context, start time.Time) {
	wallStart := time.Now()
	phase := -1
	for b := range r.gen.Batches() {
		if b.Phase != phase {
			phase = b.Phase
			ph := r.gen.Phases()[phase]
			r.set.Logger.Info("Seed phase", zap.String("session", r.sessionID), zap.String("phase", ph.Name),
				zap.Int("index", ph.Index), zap.Int("traces", ph.Traces), zap.Any("flags", ph.Flags))
		}
		if r.cfg.Clock == ClockRealtime {
			due := wallStart.Add(b.Due.Sub(start))
			if !waitutil.SleepUntil(ctx, due) {
				r.set.Logger.Info("Seed stopped before the end", zap.String("session", r.sessionID))
				return
			}
			r.telemetry.ReceiverSeedGenLateness.Record(context.Background(), time.Since(due).Seconds())
		}
		if err := r.emit(ctx, b); err != nil {
			r.set.Logger.Info("Seed stopped before the end", zap.String("session", r.sessionID))
			return
		}
		r.telemetry.ReceiverSeedGenBatches.Add(context.Background(), 1)
	}
	r.set.Logger.Info("Seed finished", zap.String("session", r.sessionID),
		zap.Int64("spans", r.counts["traces"]), zap.Int64("data_points", r.counts["metrics"]),
		zap.Int64("log_records", r.counts["logs"]), zap.Duration("elapsed", time.Since(wallStart)))
}

// emit hands one batch to each wired pipeline.
func (r *seedReceiver) emit(ctx context.Context, b generator.Batch) error {
	r.mu.Lock()
	nt, nm, nl := r.nextTraces, r.nextMetrics, r.nextLogs
	r.mu.Unlock()
	if nt != nil && b.Traces.SpanCount() > 0 {
		if err := deliver(ctx, r, "traces", b.Traces.SpanCount(), nt.Capabilities().MutatesData,
			func() ptrace.Traces { c := ptrace.NewTraces(); b.Traces.CopyTo(c); return c }, b.Traces,
			func(ctx context.Context, td ptrace.Traces) error {
				octx := r.obs.StartTracesOp(ctx)
				err := nt.ConsumeTraces(octx, td)
				r.obs.EndTracesOp(octx, "seed", td.SpanCount(), err)
				return err
			}); err != nil {
			return err
		}
	}
	if nm != nil && b.Metrics.DataPointCount() > 0 {
		if err := deliver(ctx, r, "metrics", b.Metrics.DataPointCount(), nm.Capabilities().MutatesData,
			func() pmetric.Metrics { c := pmetric.NewMetrics(); b.Metrics.CopyTo(c); return c }, b.Metrics,
			func(ctx context.Context, md pmetric.Metrics) error {
				octx := r.obs.StartMetricsOp(ctx)
				err := nm.ConsumeMetrics(octx, md)
				r.obs.EndMetricsOp(octx, "seed", md.DataPointCount(), err)
				return err
			}); err != nil {
			return err
		}
	}
	if nl != nil && b.Logs.LogRecordCount() > 0 {
		if err := deliver(ctx, r, "logs", b.Logs.LogRecordCount(), nl.Capabilities().MutatesData,
			func() plog.Logs { c := plog.NewLogs(); b.Logs.CopyTo(c); return c }, b.Logs,
			func(ctx context.Context, ld plog.Logs) error {
				octx := r.obs.StartLogsOp(ctx)
				err := nl.ConsumeLogs(octx, ld)
				r.obs.EndLogsOp(octx, "seed", ld.LogRecordCount(), err)
				return err
			}); err != nil {
			return err
		}
	}
	return nil
}

// deliver consumes one batch. A non-permanent error retries the same data
// with backoff (5 ms doubling to 1 s) until it is accepted or the receiver
// stops; when the pipeline may mutate data, each attempt gets a fresh copy
// so a retry sends what was generated. A permanent error is counted and the
// batch dropped.
func deliver[T any](ctx context.Context, r *seedReceiver, signal string, n int, mutates bool, clone func() T, data T, consume func(context.Context, T) error) error {
	bo := waitutil.Backoff{Initial: 5 * time.Millisecond, Limit: time.Second}
	for {
		d := data
		if mutates {
			d = clone()
		}
		err := consume(ctx, d)
		if err == nil {
			r.counts[signal] += int64(n)
			r.telemetry.ReceiverSeedGenItems.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("signal", signal)))
			return nil
		}
		if consumererror.IsPermanent(err) {
			r.telemetry.ReceiverSeedGenDropped.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("signal", signal)))
			r.set.Logger.Debug("Pipeline refused a seed batch permanently", zap.String("signal", signal), zap.Error(err))
			return nil
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

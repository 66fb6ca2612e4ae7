package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

// receivers holds one seedReceiver per component ID: one run feeds the
// traces, metrics and logs pipelines from the same generated events.
var receivers = delivery.NewInstances(newSeedReceiver)

type seedReceiver struct {
	cfg       *Config
	set       receiver.Settings
	telemetry *metadata.TelemetryBuilder
	delivery  *delivery.Deliverer

	gen       *generator.Generator
	sessionID string
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	done      chan struct{}
	counts    map[string]int64 // items emitted per signal
}

func newSeedReceiver(set receiver.Settings, cfg *Config) (*seedReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	d, err := delivery.New(set, delivery.Settings{
		Transport: "seed", Format: "seed", Retry: cfg.RetryOnFailure, Dropped: tb.ReceiverSeedGenDroppedItems,
	})
	if err != nil {
		return nil, err
	}
	return &seedReceiver{cfg: cfg, set: set, telemetry: tb, delivery: d, done: make(chan struct{}), counts: map[string]int64{}}, nil
}

// Deliverer implements delivery.Receiver.
func (r *seedReceiver) Deliverer() *delivery.Deliverer { return r.delivery }

// Start loads the scenario, anchors the virtual clock and starts emitting.
// A batch the pipelines drop is reported to host (every pipeline's).
func (r *seedReceiver) Start(_ context.Context, host component.Host) error {
	r.delivery.ReportTo(host)
	sc, err := r.cfg.loadScenario()
	if err != nil {
		return fmt.Errorf("seed_gen: %w", err)
	}
	start := r.cfg.StartTime
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Millisecond)
	}
	r.sessionID = r.cfg.sessionID(sc.Name, start)
	version := r.set.BuildInfo.Version
	r.gen, err = generator.New(generator.Options{
		Scenario: sc, Seed: r.cfg.Seed, TracesPerSecond: r.cfg.TracesPerSecond, ErrorRate: r.cfg.ErrorRate,
		Duration: r.cfg.Duration, Start: start, SessionID: r.sessionID, Description: r.cfg.Description,
		Labels: r.cfg.Labels, DiagnosticSessionID: r.cfg.DiagnosticSessionID,
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

// emit hands one batch to each wired pipeline. A non-permanent error
// retries the same data with retry_on_failure's backoff (by default until it
// is accepted or the receiver stops; the virtual clock waits); when the
// pipeline may mutate data, each attempt gets a fresh copy so a retry sends
// what was generated. A permanent error drops the batch, counted.
func (r *seedReceiver) emit(ctx context.Context, b generator.Batch) error {
	t, err := r.delivery.Traces(ctx, delivery.Fixed(b.Traces, ptrace.NewTraces))
	r.counts["traces"] += int64(t.Accepted)
	if err != nil {
		return err
	}
	m, err := r.delivery.Metrics(ctx, delivery.Fixed(b.Metrics, pmetric.NewMetrics))
	r.counts["metrics"] += int64(m.Accepted)
	if err != nil {
		return err
	}
	l, err := r.delivery.Logs(ctx, delivery.Fixed(b.Logs, plog.NewLogs))
	r.counts["logs"] += int64(l.Accepted)
	return err
}

// Package delivery hands a receiver's batches to its pipelines the way the
// receiver contract asks: every Consume wrapped in obsreport, a
// non-permanent error retried with the same data after a backoff
// (configretry.BackOffConfig, as exporterhelper reads it), a permanent error
// dropping the batch, counted and logged. Both receivers of this
// distribution deliver through it.
package delivery // import "github.com/recordreplay/otelcol-recordreplay/internal/delivery"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v7"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/health"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// NewDefaultBackOffConfig returns the receivers' retry_on_failure default:
// 5 ms doubling to 1 s, no jitter, never giving up. A refusal from, say,
// the memory limiter clears quickly, and a receiver that replays or seeds a
// session waits rather than drops.
func NewDefaultBackOffConfig() configretry.BackOffConfig {
	return configretry.BackOffConfig{
		Enabled:             true,
		InitialInterval:     5 * time.Millisecond,
		MaxInterval:         time.Second,
		Multiplier:          2,
		RandomizationFactor: 0,
		MaxElapsedTime:      0,
	}
}

// ValidateBackOff checks what configretry.BackOffConfig.Validate (which
// confmap runs on its own) leaves open and a receiver's retry loop needs:
// a positive first interval no longer than the cap, and intervals that do
// not shrink. It says nothing when retries are disabled. Errors name the
// fields within the block (confutil.In puts its name in front).
func ValidateBackOff(cfg configretry.BackOffConfig) error {
	if !cfg.Enabled {
		return nil
	}
	var errs []error
	if cfg.InitialInterval <= 0 || cfg.MaxInterval < cfg.InitialInterval {
		errs = append(errs, confutil.Errorf("initial_interval", "%s with max_interval %s: want 0 < initial_interval <= max_interval",
			cfg.InitialInterval, cfg.MaxInterval))
	}
	if cfg.Multiplier < 1 {
		errs = append(errs, confutil.Errorf("multiplier", "%v must be at least 1", cfg.Multiplier))
	}
	return errors.Join(errs...)
}

// Settings says how a Deliverer reports and retries.
type Settings struct {
	// Transport and Format name the receiver's data in its obsreport
	// metrics and spans.
	Transport, Format string
	// Retry paces retries of non-permanent errors. MaxElapsedTime 0 retries
	// until the context ends; Enabled false drops at the first error.
	Retry configretry.BackOffConfig
	// Dropped, if set, counts the items of dropped batches, with a
	// `signal` attribute.
	Dropped metric.Int64Counter
}

// Attempt describes one attempt to deliver a batch.
type Attempt struct {
	// N counts the attempts of one batch from 0.
	N int
	// MutatesData tells whether the consumer may change what it is given.
	MutatesData bool
}

// Producer returns the data for one attempt. Data handed to a consumer that
// mutates data must not be handed again: a retry would send what the
// pipeline left of it.
type Producer[T any] func(Attempt) (T, error)

// Fixed hands data to every attempt: as it is to a consumer that does not
// mutate data, a fresh copy to one that does, so that a retry sends what
// was first produced.
func Fixed[T interface{ CopyTo(T) }](data T, empty func() T) Producer[T] {
	return func(a Attempt) (T, error) {
		if !a.MutatesData {
			return data, nil
		}
		c := empty()
		data.CopyTo(c)
		return c, nil
	}
}

// Outcome is what became of one batch.
type Outcome struct {
	// Accepted is the number of items the pipeline accepted.
	Accepted int
	// Dropped is the number of items dropped: refused with a permanent
	// error, or retries disabled or run out.
	Dropped int
}

// Deliverer delivers the batches of one receiver to the next consumer of
// each signal it is wired to.
type Deliverer struct {
	cfg    Settings
	logger *zap.Logger
	obs    *receiverhelper.ObsReport

	mu      sync.Mutex
	traces  consumer.Traces
	metrics consumer.Metrics
	logs    consumer.Logs
	// health is the component's status: this Deliverer's problems (a
	// signal whose latest batch was dropped) and the receiver's own.
	health health.Reporter
}

// New returns a Deliverer; wire it with SetTraces, SetMetrics and SetLogs.
func New(set receiver.Settings, cfg Settings) (*Deliverer, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: cfg.Transport, LongLivedCtx: true, ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &Deliverer{cfg: cfg, logger: set.Logger, obs: obs}, nil
}

// SetTraces wires the traces pipeline.
func (d *Deliverer) SetTraces(next consumer.Traces) { d.mu.Lock(); d.traces = next; d.mu.Unlock() }

// SetMetrics wires the metrics pipeline.
func (d *Deliverer) SetMetrics(next consumer.Metrics) { d.mu.Lock(); d.metrics = next; d.mu.Unlock() }

// SetLogs wires the logs pipeline.
func (d *Deliverer) SetLogs(next consumer.Logs) { d.mu.Lock(); d.logs = next; d.mu.Unlock() }

// Wants reports whether a pipeline of signal is wired.
func (d *Deliverer) Wants(signal pipeline.Signal) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch signal {
	case pipeline.SignalTraces:
		return d.traces != nil
	case pipeline.SignalMetrics:
		return d.metrics != nil
	case pipeline.SignalLogs:
		return d.logs != nil
	}
	return false
}

// ReportTo sends the component's status events to host, the one the
// receiver was started with: a recoverable error when a batch is dropped
// while nothing else is wrong, OK once every signal that dropped a batch
// has had one accepted again (and the receiver's own problems, reported
// through Health, are over). A pipeline that keeps refusing is one event,
// not one per batch.
func (d *Deliverer) ReportTo(host component.Host) { d.health.SetHost(host) }

// Health is the receiver's status reporter, which the Deliverer shares:
// the receiver reports its own problems (a store outage) there, so that
// one account of the component's status reaches the host.
func (d *Deliverer) Health() *health.Reporter { return &d.health }

// Traces delivers one batch of traces, produced afresh for every attempt;
// fields are added to its log lines. The error is ctx's when ctx ended
// before the pipeline accepted the batch (or the stop's of WithStop), or
// the producer's.
func (d *Deliverer) Traces(ctx context.Context, produce Producer[ptrace.Traces], fields ...zap.Field) (Outcome, error) {
	next := wired(d, &d.traces)
	if next == nil {
		return Outcome{}, nil
	}
	return deliver(ctx, d, pipeline.SignalTraces, next.Capabilities(), produce, ptrace.Traces.SpanCount,
		observed(d.obs.StartTracesOp, next.ConsumeTraces, d.obs.EndTracesOp, d.cfg.Format), fields)
}

// Metrics delivers one batch of metrics, as Traces does.
func (d *Deliverer) Metrics(ctx context.Context, produce Producer[pmetric.Metrics], fields ...zap.Field) (Outcome, error) {
	next := wired(d, &d.metrics)
	if next == nil {
		return Outcome{}, nil
	}
	return deliver(ctx, d, pipeline.SignalMetrics, next.Capabilities(), produce, pmetric.Metrics.DataPointCount,
		observed(d.obs.StartMetricsOp, next.ConsumeMetrics, d.obs.EndMetricsOp, d.cfg.Format), fields)
}

// Logs delivers one batch of logs, as Traces does.
func (d *Deliverer) Logs(ctx context.Context, produce Producer[plog.Logs], fields ...zap.Field) (Outcome, error) {
	next := wired(d, &d.logs)
	if next == nil {
		return Outcome{}, nil
	}
	return deliver(ctx, d, pipeline.SignalLogs, next.Capabilities(), produce, plog.Logs.LogRecordCount,
		observed(d.obs.StartLogsOp, next.ConsumeLogs, d.obs.EndLogsOp, d.cfg.Format), fields)
}

// wired reads the next consumer of a signal under the lock.
func wired[C any](d *Deliverer, next *C) C {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *next
}

// observed wraps a Consume call in obsreport's operation for its signal.
func observed[T any](start func(context.Context) context.Context, consume func(context.Context, T) error,
	end func(context.Context, string, int, error), format string,
) func(context.Context, T, int) error {
	return func(ctx context.Context, data T, n int) error {
		ctx = start(ctx)
		err := consume(ctx, data)
		end(ctx, format, n, err)
		return err
	}
}

// stopKey is the context key of WithStop.
type stopKey struct{}

// WithStop returns a context for Traces, Metrics and Logs under which the
// end of stop ends a delivery between attempts, not in one: no attempt
// begins after it, and a wait for a retry ends at once (with stop's
// error), while an attempt already in progress runs to its outcome, its
// Consume call bounded by ctx alone. A receiver that promises that nothing
// is delivered after it has stopped waits for that outcome instead of
// cancelling a request whose data may already be on its way.
func WithStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// deliver is the one delivery loop: produce, consume, and on a
// non-permanent error wait and go again with freshly produced data.
func deliver[T any](ctx context.Context, d *Deliverer, signal pipeline.Signal, caps consumer.Capabilities,
	produce Producer[T], count func(T) int, consume func(context.Context, T, int) error, fields []zap.Field,
) (Outcome, error) {
	waitCtx := ctx // what ends the waits between attempts
	stop, _ := ctx.Value(stopKey{}).(context.Context)
	if stop != nil {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(stop, cancel)()
	}
	bo := backoff.ExponentialBackOff{
		InitialInterval:     d.cfg.Retry.InitialInterval,
		RandomizationFactor: d.cfg.Retry.RandomizationFactor,
		Multiplier:          d.cfg.Retry.Multiplier,
		MaxInterval:         d.cfg.Retry.MaxInterval,
	}
	var giveUp time.Time
	if d.cfg.Retry.MaxElapsedTime > 0 {
		giveUp = time.Now().Add(d.cfg.Retry.MaxElapsedTime)
	}
	for attempt := 0; ; attempt++ {
		if stop != nil && stop.Err() != nil {
			return Outcome{}, stop.Err()
		}
		data, err := produce(Attempt{N: attempt, MutatesData: caps.MutatesData})
		if err != nil {
			return Outcome{}, err
		}
		n := count(data)
		if n == 0 {
			return Outcome{}, nil
		}
		err = consume(ctx, data, n)
		if err == nil {
			d.recovered(signal)
			return Outcome{Accepted: n}, nil
		}
		log := append([]zap.Field{zap.String("signal", signal.String()), zap.Int("items", n), zap.Error(err)}, fields...)
		switch {
		case consumererror.IsPermanent(err):
			d.drop(signal, n, err, "Pipeline refused a batch permanently; dropped", log)
			return Outcome{Dropped: n}, nil
		case !d.cfg.Retry.Enabled:
			d.drop(signal, n, err, "Pipeline refused a batch; dropped (retry_on_failure disabled)", log)
			return Outcome{Dropped: n}, nil
		}
		wait := bo.NextBackOff()
		if !giveUp.IsZero() && time.Now().Add(wait).After(giveUp) {
			d.drop(signal, n, err, "Pipeline refused a batch; dropped (retry_on_failure.max_elapsed_time reached)", log)
			return Outcome{Dropped: n}, nil
		}
		d.logger.Debug("Pipeline refused a batch; retrying", append(log, zap.Duration("interval", wait))...)
		if !waitutil.SleepUntil(waitCtx, time.Now().Add(wait)) {
			if stop != nil && stop.Err() != nil && ctx.Err() == nil {
				return Outcome{}, stop.Err()
			}
			return Outcome{}, ctx.Err()
		}
	}
}

func (d *Deliverer) drop(signal pipeline.Signal, n int, err error, msg string, log []zap.Field) {
	if d.cfg.Dropped != nil {
		d.cfg.Dropped.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("signal", signal.String())))
	}
	d.logger.Debug(msg, log...)
	d.health.Fail(pipelineProblem(signal), fmt.Errorf("dropped a %s batch of %d items: %w", signal, n, err))
}

func (d *Deliverer) recovered(signal pipeline.Signal) { d.health.Recover(pipelineProblem(signal)) }

// pipelineProblem names a signal's pipeline among the component's problems.
func pipelineProblem(signal pipeline.Signal) string { return "pipeline " + signal.String() }

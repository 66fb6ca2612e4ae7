// Hand-written in the shape mdatagen v0.165.0 generates from metadata.yaml
// (mdatagen is not available to this build): keep the two in step.

package metadata

import (
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter("github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver")
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer("github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver")
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                               metric.Meter
	mu                                  sync.Mutex
	registrations                       []metric.Registration
	ReceiverSessionReplayBadObjects     metric.Int64Counter
	ReceiverSessionReplayDroppedItems   metric.Int64Counter
	ReceiverSessionReplayEta            metric.Float64Gauge
	ReceiverSessionReplayObjectLateness metric.Float64Histogram
	ReceiverSessionReplayObjects        metric.Int64Counter
	ReceiverSessionReplayPasses         metric.Int64Counter
	ReceiverSessionReplayProgress       metric.Float64Gauge
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ReceiverSessionReplayBadObjects, err = builder.meter.Int64Counter(
		"otelcol_receiver_session_replay_bad_objects",
		metric.WithDescription("Objects skipped because they are corrupt, truncated, oversized or not a valid export request. [Alpha]"),
		metric.WithUnit("{object}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayDroppedItems, err = builder.meter.Int64Counter(
		"otelcol_receiver_session_replay_dropped_items",
		metric.WithDescription("Items dropped after the pipeline refused them with a permanent error, or with retry_on_failure disabled or run out. [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayEta, err = builder.meter.Float64Gauge(
		"otelcol_receiver_session_replay_eta",
		metric.WithDescription("Time until the current pass ends, at the current speed (updated every progress_interval). [Development]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayObjectLateness, err = builder.meter.Float64Histogram(
		"otelcol_receiver_session_replay_object_lateness",
		metric.WithDescription("How far behind its schedule each object was emitted (speed > 0 only). [Development]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries([]float64{0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}...),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayObjects, err = builder.meter.Int64Counter(
		"otelcol_receiver_session_replay_objects",
		metric.WithDescription("Stored objects replayed into the pipeline. [Alpha]"),
		metric.WithUnit("{object}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayPasses, err = builder.meter.Int64Counter(
		"otelcol_receiver_session_replay_passes",
		metric.WithDescription("Completed passes over the session. [Alpha]"),
		metric.WithUnit("{pass}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverSessionReplayProgress, err = builder.meter.Float64Gauge(
		"otelcol_receiver_session_replay_progress",
		metric.WithDescription("Share of the session's items the current pass has delivered (updated every progress_interval). [Development]"),
		metric.WithUnit("1"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}

package metadata // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the component's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the component's own instruments, as listed under
// telemetry in metadata.yaml.
type TelemetryBuilder struct {
	ReceiverSessionReplayObjects    metric.Int64Counter
	ReceiverSessionReplayItems      metric.Int64Counter
	ReceiverSessionReplayBadObjects metric.Int64Counter
	ReceiverSessionReplayDropped    metric.Int64Counter
	ReceiverSessionReplayPasses     metric.Int64Counter
	ReceiverSessionReplayLateness   metric.Float64Gauge
	ReceiverSessionReplayLatenessH  metric.Float64Histogram
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	m := Meter(settings)
	b := &TelemetryBuilder{}
	var err, errs error
	b.ReceiverSessionReplayObjects, err = m.Int64Counter("otelcol_receiver_session_replay_objects",
		metric.WithDescription("Stored objects replayed into the pipeline."), metric.WithUnit("{object}"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayItems, err = m.Int64Counter("otelcol_receiver_session_replay_items",
		metric.WithDescription("Spans, data points or log records replayed into the pipeline."), metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayBadObjects, err = m.Int64Counter("otelcol_receiver_session_replay_bad_objects",
		metric.WithDescription("Objects skipped because they are corrupt, truncated, oversized or not a valid export request."), metric.WithUnit("{object}"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayDropped, err = m.Int64Counter("otelcol_receiver_session_replay_dropped_items",
		metric.WithDescription("Items the pipeline refused with a permanent error."), metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayPasses, err = m.Int64Counter("otelcol_receiver_session_replay_passes",
		metric.WithDescription("Completed passes over the session."), metric.WithUnit("{pass}"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayLateness, err = m.Float64Gauge("otelcol_receiver_session_replay_lateness",
		metric.WithDescription("How far behind its schedule the latest object was emitted."), metric.WithUnit("s"))
	errs = errors.Join(errs, err)
	b.ReceiverSessionReplayLatenessH, err = m.Float64Histogram("otelcol_receiver_session_replay_object_lateness",
		metric.WithDescription("Per-object lateness behind schedule."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = errors.Join(errs, err)
	return b, errs
}

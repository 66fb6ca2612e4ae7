// Package metadata holds the component's identity and its own telemetry, in
// the shape mdatagen would generate from ../../metadata.yaml (mdatagen is not
// available to this build, so this file is maintained by hand: keep the two
// in step).
package metadata // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

var (
	// Type is the component type used in configuration.
	Type = component.MustNewType("seed_gen")
	// ScopeName is the instrumentation scope of the component's own telemetry.
	ScopeName = "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"
)

// Stability per signal.
const (
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
)

// TelemetryBuilder holds the component's own instruments (see metadata.yaml).
type TelemetryBuilder struct {
	ReceiverSeedGenItems    metric.Int64Counter
	ReceiverSeedGenBatches  metric.Int64Counter
	ReceiverSeedGenDropped  metric.Int64Counter
	ReceiverSeedGenLateness metric.Float64Gauge
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	m := settings.MeterProvider.Meter(ScopeName)
	b := &TelemetryBuilder{}
	var err, errs error
	b.ReceiverSeedGenItems, err = m.Int64Counter("otelcol_receiver_seed_gen_items",
		metric.WithDescription("Spans, data points or log records generated and accepted by the pipeline."), metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.ReceiverSeedGenBatches, err = m.Int64Counter("otelcol_receiver_seed_gen_batches",
		metric.WithDescription("Batches emitted."), metric.WithUnit("{batch}"))
	errs = errors.Join(errs, err)
	b.ReceiverSeedGenDropped, err = m.Int64Counter("otelcol_receiver_seed_gen_dropped_items",
		metric.WithDescription("Items the pipeline refused with a permanent error."), metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.ReceiverSeedGenLateness, err = m.Float64Gauge("otelcol_receiver_seed_gen_lateness",
		metric.WithDescription("How far behind the virtual clock (clock: realtime) the latest batch was emitted."), metric.WithUnit("s"))
	errs = errors.Join(errs, err)
	return b, errs
}

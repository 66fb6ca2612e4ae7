package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

// NewFactory returns the factory of the seed_gen receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(receivers.CreateTraces, metadata.TracesStability),
		receiver.WithMetrics(receivers.CreateMetrics, metadata.MetricsStability),
		receiver.WithLogs(receivers.CreateLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Pattern:         "basic-topology",
		Duration:        30 * time.Second,
		TracesPerSecond: 10,
		ErrorRate:       0.05,
		Seed:            1,
		SessionID:       AutoSessionID,
		Clock:           ClockRealtime,
		BatchInterval:   time.Second,
		MetricsInterval: 5 * time.Second,
		RetryOnFailure:  delivery.NewDefaultBackOffConfig(),
	}
}

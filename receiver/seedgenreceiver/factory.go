package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/metadata"
)

// NewFactory returns the factory of the seed_gen receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(createTraces, metadata.TracesStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
		receiver.WithLogs(createLogs, metadata.LogsStability),
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
	}
}

func getOrCreate(set receiver.Settings, cfg *Config) (*sharedReceiver, error) {
	return receivers.LoadOrStore(set.ID, func() (*seedReceiver, error) { return newSeedReceiver(set, cfg) })
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().setTraces(next)
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().setMetrics(next)
	return r, nil
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().setLogs(next)
	return r, nil
}

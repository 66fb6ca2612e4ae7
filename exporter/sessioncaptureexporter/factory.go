package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// NewFactory returns the factory of the session_capture exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Store: sessionstore.NewDefaultConfig(),
		Session: SessionConfig{
			ID:           AutoSessionID,
			Labels:       map[string]string{},
			EnabledFlags: []string{},
			IdleTimeout:  time.Minute,
			MaxOpen:      1000,
		},
		MetadataInterval: 10 * time.Second,
		ShutdownTimeout:  20 * time.Second,
		CompressionLevel: sessionstore.CompressionDefault,
		TimeoutConfig:    exporterhelper.TimeoutConfig{Timeout: 30 * time.Second},
		// Batching is on by default (see metadata.yaml): one stored object
		// per batch, so tiny OTLP requests are gathered into objects of
		// 8192 to 16384 items, flushed at least every 200 ms so that replay
		// keeps a fine time resolution; a full queue blocks.
		QueueConfig: metadata.NewDefaultSendingQueueConfig(),
		RetryConfig: configretry.NewDefaultBackOffConfig(),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	exp, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	helper, err := exporterhelper.NewTraces(ctx, set, cfg, exp.Unwrap().pushTraces, helperOptions(exp, cfg.(*Config))...)
	if err != nil {
		return nil, err
	}
	return arrivingTraces{Traces: helper, a: exp.Unwrap().arrivals, g: exp.Unwrap().gate}, nil
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	exp, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	helper, err := exporterhelper.NewMetrics(ctx, set, cfg, exp.Unwrap().pushMetrics, helperOptions(exp, cfg.(*Config))...)
	if err != nil {
		return nil, err
	}
	return arrivingMetrics{Metrics: helper, a: exp.Unwrap().arrivals, g: exp.Unwrap().gate}, nil
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	exp, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	helper, err := exporterhelper.NewLogs(ctx, set, cfg, exp.Unwrap().pushLogs, helperOptions(exp, cfg.(*Config))...)
	if err != nil {
		return nil, err
	}
	return arrivingLogs{Logs: helper, a: exp.Unwrap().arrivals, g: exp.Unwrap().gate}, nil
}

func helperOptions(exp *sharedExporter, cfg *Config) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(exp.Start),
		exporterhelper.WithShutdown(exp.Shutdown),
		// It stamps each request's arrival on its resources (see arrival.go).
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		exporterhelper.WithTimeout(cfg.TimeoutConfig),
		exporterhelper.WithRetry(cfg.RetryConfig),
		exporterhelper.WithQueue(cfg.QueueConfig),
	}
}

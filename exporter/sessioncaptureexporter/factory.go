package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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
			Start:        StartRecording,
		},
		Backpressure:     BackpressureBlock,
		MetadataInterval: 10 * time.Second,
		ShutdownTimeout:  20 * time.Second,
		CompressionLevel: sessionstore.CompressionBestSpeed,
		TimeoutConfig:    exporterhelper.TimeoutConfig{Timeout: 30 * time.Second},
		// Batching is on by default (see metadata.yaml): one stored object
		// per batch, so tiny OTLP requests are gathered into objects of
		// 8192 to 16384 items, flushed at least every second (objects still
		// split by second of arrival, so replay keeps its time resolution);
		// a full queue blocks.
		QueueConfig: metadata.NewDefaultSendingQueueConfig(),
		RetryConfig: configretry.NewDefaultBackOffConfig(),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	shared, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	e := shared.Unwrap()
	helper, err := xexporterhelper.NewTracesRequest(ctx, helperSettings(set, cfg.(*Config)), convertRequest(e, &tracesSignal), pushRequest(e, &tracesSignal),
		helperOptions(shared, cfg.(*Config), queueSettings(e, &tracesSignal))...)
	if err != nil {
		return nil, err
	}
	return tracesDoor{Traces: helper, e: e}, nil
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	shared, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	e := shared.Unwrap()
	helper, err := xexporterhelper.NewMetricsRequest(ctx, helperSettings(set, cfg.(*Config)), convertRequest(e, &metricsSignal), pushRequest(e, &metricsSignal),
		helperOptions(shared, cfg.(*Config), queueSettings(e, &metricsSignal))...)
	if err != nil {
		return nil, err
	}
	return metricsDoor{Metrics: helper, e: e}, nil
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	shared, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	e := shared.Unwrap()
	helper, err := xexporterhelper.NewLogsRequest(ctx, helperSettings(set, cfg.(*Config)), convertRequest(e, &logsSignal), pushRequest(e, &logsSignal),
		helperOptions(shared, cfg.(*Config), queueSettings(e, &logsSignal))...)
	if err != nil {
		return nil, err
	}
	return logsDoor{Logs: helper, e: e}, nil
}

// queueSettings says how exporterhelper queues, batches and persists the
// exporter's requests of one signal (request.go).
func queueSettings[D, R any](e *captureExporter, sig *signalOps[D, R]) xexporterhelper.QueueBatchSettings {
	return xexporterhelper.QueueBatchSettings{
		Encoding:         queueEncoding[D, R]{sig: sig, now: e.now, attr: e.cfg.Session.FromAttribute},
		ReferenceCounter: refCounter[D, R]{sig: sig},
	}
}

// shutdownRetry is exporterhelper's retry sender, which never retries:
// the push retries itself (retry_on_failure) and never answers a retryable
// error. It is on only so that exporterhelper does not tell users to turn
// retries on.
var shutdownRetry = configretry.BackOffConfig{
	Enabled:         true,
	InitialInterval: time.Hour,
	MaxInterval:     time.Hour,
	Multiplier:      1,
}

// helperSettings are the settings exporterhelper gets: with backpressure:
// drop, its logger leaves out the error it logs for every request a full
// queue refuses (the front door drops those, counts them and warns at most
// once per interval: see dropReport).
func helperSettings(set exporter.Settings, cfg *Config) exporter.Settings {
	if cfg.Backpressure == BackpressureDrop {
		set.Logger = set.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return withoutRejections{c} }))
	}
	return set
}

// rejectionMessage starts the error exporterhelper logs when its first
// sender refuses a request; with backpressure: drop and no
// wait_for_result, only a full (or stopped) queue refuses.
const rejectionMessage = "Exporting failed. Rejecting data."

// withoutRejections is a logger core without exporterhelper's rejection
// errors.
type withoutRejections struct{ zapcore.Core }

func (c withoutRejections) With(fields []zapcore.Field) zapcore.Core {
	return withoutRejections{c.Core.With(fields)}
}

func (c withoutRejections) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if strings.HasPrefix(ent.Message, rejectionMessage) {
		return ce
	}
	return c.Core.Check(ent, ce)
}

func helperOptions(exp *sharedExporter, cfg *Config, qs xexporterhelper.QueueBatchSettings) []exporterhelper.Option {
	queue := cfg.QueueConfig
	if cfg.Backpressure == BackpressureDrop && queue.HasValue() {
		// A full queue refuses at once; accept drops and counts.
		q := *queue.Get()
		q.BlockOnOverflow = false
		queue = configoptional.Some(q)
	}
	return []exporterhelper.Option{
		exporterhelper.WithStart(exp.Start),
		exporterhelper.WithShutdown(exp.Shutdown),
		// The data is never changed: pieces are stamped beside it.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The push bounds each attempt by timeout and retries itself.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(shutdownRetry),
		xexporterhelper.WithQueueBatch(queue, qs),
	}
}

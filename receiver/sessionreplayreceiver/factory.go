package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// NewFactory returns the factory of the session_replay receiver.
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
		Store:          sessionstore.NewDefaultConfig(),
		Session:        AutoSession,
		Selection:      SelectionLatest,
		Filter:         FilterConfig{Labels: map[string]string{}},
		Services:       []string{},
		Speed:          1,
		Loops:          1,
		Timestamps:     TimestampsCurrent,
		Shard:          ShardConfig{Index: 0, Count: 1},
		MaxObjectBytes: 64 << 20,
		ReadAhead:      4,
		Backoff:        BackoffConfig{InitialInterval: 5 * time.Millisecond, MaxInterval: time.Second},
	}
}

func getOrCreate(set receiver.Settings, cfg *Config) (*sharedReceiver, error) {
	return receivers.LoadOrStore(set.ID, func() (*replayReceiver, error) { return newReplayReceiver(set, cfg) })
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().mu.Lock()
	r.Unwrap().nextTraces = next
	r.Unwrap().mu.Unlock()
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().mu.Lock()
	r.Unwrap().nextMetrics = next
	r.Unwrap().mu.Unlock()
	return r, nil
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := getOrCreate(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.Unwrap().mu.Lock()
	r.Unwrap().nextLogs = next
	r.Unwrap().mu.Unlock()
	return r, nil
}

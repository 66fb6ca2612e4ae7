package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// NewFactory returns the factory of the session_replay receiver.
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
		Store:            sessionstore.NewDefaultConfig(),
		Session:          AutoSession,
		Selection:        SelectionLatest,
		Filter:           FilterConfig{Labels: map[string]string{}},
		Services:         []string{},
		Speed:            1,
		Loops:            1,
		Timestamps:       TimestampsCurrent,
		PaceBy:           PaceByAuto,
		Copies:           1,
		Shard:            ShardConfig{Index: 0, Count: 1},
		MaxObjectBytes:   64 << 20,
		ReadAhead:        4,
		MaxRequestBytes:  DefaultMaxRequestBytes,
		ProgressInterval: 10 * time.Second,
		RetryOnFailure:   delivery.NewDefaultBackOffConfig(),
		Signals:          []sessionstore.Signal{},
		Start:            StartAuto,
	}
}

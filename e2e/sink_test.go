package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
)

// startOTLPHTTP starts the core otlp receiver in the test, OTLP/HTTP on a
// free loopback port, handing traces (and metrics, when not nil) to the
// consumers; it stops when the test ends. It returns the endpoint.
func startOTLPHTTP(t *testing.T, traces consumer.Traces, metrics consumer.Metrics) string {
	t.Helper()
	endpoint, _ := serveOTLPHTTP(t, traces, metrics)
	return endpoint
}

// serveOTLPHTTP is startOTLPHTTP that also returns its stop: once it has
// returned, every request that reached the server has been handed on (or
// refused), so a count taken then is final. It stops when the test ends if
// not before.
func serveOTLPHTTP(t *testing.T, traces consumer.Traces, metrics consumer.Metrics) (string, func()) {
	t.Helper()
	return serveOTLP(t, "http", traces, metrics)
}

// serveOTLP is serveOTLPHTTP over protocol, grpc or http.
func serveOTLP(t *testing.T, protocol string, traces consumer.Traces, metrics consumer.Metrics) (string, func()) {
	t.Helper()
	endpoint := fmt.Sprintf("127.0.0.1:%d", otelcoltest.FreePort(t))
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{protocol: map[string]any{"endpoint": endpoint}},
	}).Unmarshal(cfg))
	// One cfg: the otlpreceiver factory shares one server between signals,
	// so every signal is created before the server starts.
	set := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	started := []component.Component{tr}
	if metrics != nil {
		mr, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
		require.NoError(t, err)
		started = append(started, mr)
	}
	var running []component.Component
	stop := sync.OnceFunc(func() {
		for _, c := range slices.Backward(running) {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
	t.Cleanup(stop)
	for _, c := range started {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		running = append(running, c)
	}
	return endpoint, stop
}

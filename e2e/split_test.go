package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestReplayLargeObjectIntoOTLP: a session whose one object is a 9 MB
// protobuf, replayed by the built collector into an OTLP/gRPC receiver
// with its default 4 MiB message limit: every span once, nothing refused;
// and over OTLP/HTTP with max_request_items: 1000.
func TestReplayLargeObjectIntoOTLP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	at := time.Now().Add(-time.Hour)
	spans := sessiontest.RealisticTraces(5, 40000, at)
	require.Greater(t, (&ptrace.ProtoMarshaler{}).TracesSize(spans), 8<<20)
	w := sessiontest.NewWriter(t, st, "big", at)
	w.Traces(at, spans)
	w.Complete()

	for _, tc := range []struct{ protocol, exporter, extra string }{
		{"grpc", `otlp_grpc: {endpoint: "%s", tls: {insecure: true}}`, ""},
		{"http", `otlp_http: {endpoint: "http://%s"}`, "max_request_items: 1000"},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			sink := new(consumertest.TracesSink)
			target, stop := serveOTLP(t, tc.protocol, sink, nil)
			exporter := fmt.Sprintf(tc.exporter, target)
			name := "otlp_" + tc.protocol
			c := otelcoltest.Launch(t, `
receivers:
  session_replay:
    store: {backend: filesystem, directory: `+dir+`}
    session: big
    speed: 0
    `+tc.extra+`
exporters:
  `+exporter+`
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [`+name+`]}
`)
			c.WaitLog(t, "Replay finished", time.Minute)
			c.Stop(t)
			stop()
			assert.Equal(t, spans.SpanCount(), sink.SpanCount(), "every span")
			assert.Equal(t, sessiontest.SpanIDs(spans), sessiontest.SpanIDs(mergedTraces(sink)), "each once")
			assert.NotContains(t, c.Log(), "Dropping data", "nothing refused")
			assert.Greater(t, len(sink.AllTraces()), 2, "sent as several requests")
		})
	}
}

// mergedTraces is every batch a sink got, in one.
func mergedTraces(sink *consumertest.TracesSink) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range sink.AllTraces() {
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

package sessionstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// spansWithTraceState builds one span per tracestate.
func spansWithTraceState(states ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for _, s := range states {
		ss.Spans().AppendEmpty().TraceState().FromRaw(s)
	}
	return td
}

// TestSamplingShares: the spans a consistent probability sampler kept
// carry its threshold in the tracestate (ot=th:…); a session counts its
// spans by threshold and says the probability each stands for, adds the
// counts of its writers, and takes them from a recount like any count.
func TestSamplingShares(t *testing.T) {
	td := spansWithTraceState("ot=th:c", "vendor=x,ot=th:c;rv:abcdef01234567", "ot=th:8", "", "vendor=x", "ot=th:zz")
	got := sessionstore.TracesSampling(td)
	assert.Equal(t, map[string]int64{"c": 2, "8": 1}, got, "spans by threshold; no threshold or a bad one is not counted")

	m := sessionstore.NewMetadata("s", sessionstore.SessionTypeCapture, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "test")
	for th, n := range got {
		m.AddSampling(th, n)
	}
	m.AddSampling("c", 3)
	require.Len(t, m.Sampling, 2)
	assert.Equal(t, sessionstore.SamplingShare{Threshold: "8", Probability: 0.5, Spans: 1}, m.Sampling[0])
	assert.Equal(t, sessionstore.SamplingShare{Threshold: "c", Probability: 0.25, Spans: 5}, m.Sampling[1])

	other := m.Clone()
	other.Sampling = []sessionstore.SamplingShare{{Threshold: "c", Probability: 0.25, Spans: 7}}
	merged := sessionstore.Merge(map[string]*sessionstore.Metadata{"a": m, "b": other})
	assert.Equal(t, []sessionstore.SamplingShare{{Threshold: "8", Probability: 0.5, Spans: 1}, {Threshold: "c", Probability: 0.25, Spans: 12}}, merged.Sampling)

	// A stored count that makes no sense is refused when read.
	st, err := sessionstore.OpenFilesystem(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	bad := m.Clone()
	bad.Sampling[0].Spans = -1
	data, err := json.Marshal(bad)
	require.NoError(t, err)
	require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("s"), data))
	_, err = sessionstore.ReadMetadata(context.Background(), st, "s")
	require.ErrorContains(t, err, "sampling[0].spans")
}

package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// SeedPhases writes a seed session of two phases, baseline then failure,
// 30 s each from c0, of three objects 10 s apart holding two spans, with
// the phase on every resource and in the phase table (as seed_gen writes).
func SeedPhases(t testing.TB, st sessionstore.Store, id string, c0 time.Time) {
	t.Helper()
	w := NewWriter(t, st, id, c0)
	w.Meta.SessionType = sessionstore.SessionTypeSeed
	w.Meta.Seed = &sessionstore.SeedInfo{Pattern: "payment-failure"}
	for p, name := range []string{"baseline", "failure"} {
		ps := c0.Add(time.Duration(p) * 30 * time.Second)
		w.Meta.Seed.Phases = append(w.Meta.Seed.Phases, sessionstore.Phase{Name: name, Index: p, Start: ps, End: ps.Add(30 * time.Second), Items: 6})
		for i := range 3 {
			at := ps.Add(time.Duration(i) * 10 * time.Second)
			td := Traces("svc", 10*p+i, 2, at)
			res := td.ResourceSpans().At(0).Resource().Attributes()
			res.PutStr(sessionstore.AttrPhaseName, name)
			res.PutInt(sessionstore.AttrPhaseIndex, int64(p))
			w.Traces(at, td)
		}
	}
	w.Complete()
}

// OriginalToolingSession writes a session as the original tooling did:
// three objects of four spans and one of a gauge data point (value 7),
// gzipped OTLP/JSON, and a metadata.json without sessionType or
// schemaVersion. It returns the spans written.
func OriginalToolingSession(t testing.TB, st sessionstore.Store, id string, c0 time.Time) ptrace.Traces {
	t.Helper()
	ctx := context.Background()
	want := ptrace.NewTraces()
	for i := range 3 {
		at := c0.Add(time.Duration(i) * time.Second)
		td := Traces("svc", i, 4, at)
		td.ResourceSpans().At(0).CopyTo(want.ResourceSpans().AppendEmpty())
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		require.NoError(t, st.Put(ctx, sessionstore.NewObjectKey(id, sessionstore.SignalTraces, at).String(), gzipped(t, js)))
	}
	md := pmetric.NewMetrics()
	dp := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(7)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(c0))
	mjs, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, sessionstore.NewObjectKey(id, sessionstore.SignalMetrics, c0.Add(500*time.Millisecond)).String(), gzipped(t, mjs)))
	meta := `{"sessionId": "` + id + `", "startTime": "` + c0.UTC().Format(time.RFC3339) + `", "endTime": "` + c0.Add(3*time.Second).UTC().Format(time.RFC3339) + `",
		"status": "completed", "capturedTraces": 12, "capturedMetrics": 1, "capturedLogs": 0, "totalSizeBytes": 1000}`
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey(id), []byte(meta)))
	return want
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

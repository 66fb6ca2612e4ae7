// Package sessiontest reads sessions back for tests and checks that their
// metadata agrees with the objects they hold.
package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Stored is everything a session holds, read back through the store.
type Stored struct {
	Meta    *sessionstore.Metadata
	Objects []sessionstore.Object
	Traces  ptrace.Traces
	Metrics pmetric.Metrics
	Logs    plog.Logs
	Raw     map[sessionstore.Signal]int64 // uncompressed bytes per signal
}

// Read loads a session's metadata and decodes all of its objects.
func Read(t testing.TB, st sessionstore.Store, id string) Stored {
	t.Helper()
	ctx := context.Background()
	out := Stored{Traces: ptrace.NewTraces(), Metrics: pmetric.NewMetrics(), Logs: plog.NewLogs(), Raw: map[sessionstore.Signal]int64{}}
	var err error
	out.Meta, err = sessionstore.ReadMetadata(ctx, st, id)
	require.NoError(t, err)
	for o, err := range sessionstore.ListObjects(ctx, st, id) {
		require.NoError(t, err)
		out.Objects = append(out.Objects, o)
		b, n, err := sessionstore.ReadObject(ctx, st, o, 256<<20)
		require.NoError(t, err)
		out.Raw[o.Signal] += int64(n)
		switch o.Signal {
		case sessionstore.SignalTraces:
			b.Traces.ResourceSpans().MoveAndAppendTo(out.Traces.ResourceSpans())
		case sessionstore.SignalMetrics:
			b.Metrics.ResourceMetrics().MoveAndAppendTo(out.Metrics.ResourceMetrics())
		case sessionstore.SignalLogs:
			b.Logs.ResourceLogs().MoveAndAppendTo(out.Logs.ResourceLogs())
		}
	}
	return out
}

// IDs lists the session ids in the store, failing on unreadable metadata.
func IDs(t testing.TB, st sessionstore.Store) []string {
	t.Helper()
	list, err := sessionstore.ListSessions(context.Background(), st)
	require.NoError(t, err)
	var ids []string
	for _, s := range list {
		require.NoError(t, s.Err)
		ids = append(ids, s.ID)
	}
	return ids
}

// CheckCounts asserts that the metadata says exactly what the objects hold:
// items, stored and raw bytes, objects and capture times per signal.
func CheckCounts(t testing.TB, s Stored) {
	t.Helper()
	m := s.Meta
	assert.Equal(t, int64(s.Traces.SpanCount()), m.CapturedTraces, "capturedTraces")
	assert.Equal(t, int64(s.Metrics.DataPointCount()), m.CapturedMetrics, "capturedMetrics")
	assert.Equal(t, int64(s.Logs.LogRecordCount()), m.CapturedLogs, "capturedLogs")
	var total int64
	perSignal := map[sessionstore.Signal]*sessionstore.SignalStats{}
	for _, o := range s.Objects {
		total += o.Size
		st := perSignal[o.Signal]
		if st == nil {
			st = &sessionstore.SignalStats{}
			perSignal[o.Signal] = st
		}
		st.Objects++
		st.CompressedBytes += o.Size
		ct := o.CaptureTime
		if st.FirstCaptureTime == nil || ct.Before(*st.FirstCaptureTime) {
			st.FirstCaptureTime = &ct
		}
		if st.LastCaptureTime == nil || ct.After(*st.LastCaptureTime) {
			st.LastCaptureTime = &ct
		}
	}
	assert.Equal(t, total, m.TotalSizeBytes, "totalSizeBytes")
	items := map[sessionstore.Signal]int64{
		sessionstore.SignalTraces:  int64(s.Traces.SpanCount()),
		sessionstore.SignalMetrics: int64(s.Metrics.DataPointCount()),
		sessionstore.SignalLogs:    int64(s.Logs.LogRecordCount()),
	}
	for sig, st := range perSignal {
		st.Items = items[sig]
		st.Bytes = s.Raw[sig]
	}
	assert.Equal(t, perSignal, m.Signals, "signals")
}

// Traces builds a batch of n spans with ids unique to (batch, i), in one
// resource whose service.name is service, timed at base + i ms.
func Traces(service string, batch, n int, base time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("sessiontest")
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[:8], uint64(batch)+1)
		binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
		sp.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint32(sid[:4], uint32(batch)+1)
		binary.BigEndian.PutUint32(sid[4:], uint32(i)+1)
		sp.SetSpanID(pcommon.SpanID(sid))
		sp.SetName(fmt.Sprintf("op-%d", i%7))
		sp.SetKind(ptrace.SpanKindServer)
		start := base.Add(time.Duration(i) * time.Millisecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(3 * time.Millisecond)))
		sp.Attributes().PutInt("batch", int64(batch))
		sp.Attributes().PutInt("index", int64(i))
	}
	return td
}

// SpanIDs returns every span id in td, with how often each occurs.
func SpanIDs(td ptrace.Traces) map[pcommon.SpanID]int {
	out := map[pcommon.SpanID]int{}
	for _, sp := range pdatawalk.Spans(td) {
		out[sp.SpanID()]++
	}
	return out
}

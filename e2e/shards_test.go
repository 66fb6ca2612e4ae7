package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestThreeShardProcessesReplayAsOne is the README's shard recipe run as a
// user would: three collector processes, each with session_replay on one
// filesystem store (shard {index: i, count: 3}, one start_at, speed 1,
// relative timestamps, regenerate_ids), exporting over OTLP/HTTP into a
// receiver in the test. Together they must deliver what one unsharded
// process with the same settings delivers, started at the same start_at
// into a receiver of its own: the same spans with the same new ids (so
// every parent resolves across shards), the same timestamps, at the same
// moments.
func TestThreeShardProcessesReplayAsOne(t *testing.T) {
	t.Parallel() // ~15 s of real time in its own processes and store
	if testing.Short() {
		t.Skip("a 9 s session replayed at 1x by four collectors")
	}
	const (
		traces = 30
		gap    = 100 * time.Millisecond
	)
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	offsets := writeSplitTraces(t, st, "split", c0, traces, gap)
	require.NoError(t, st.Close())

	// Every collector gets a receiver of its own, so each span is known by
	// the process that delivered it.
	whole := startSpanSink(t)
	shards := []*spanSink{startSpanSink(t), startSpanSink(t), startSpanSink(t)}

	// One start_at for all four, far enough ahead for four processes to
	// start on a busy machine; whole seconds so the RFC 3339 text is exact.
	startAt := time.Now().Add(6 * time.Second).Truncate(time.Second)
	config := func(sink *spanSink, index, count int) string {
		return fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %s}
    session: split
    speed: 1
    loops: 1
    timestamps: relative
    regenerate_ids: true
    id_seed: e2e
    start_at: %s
    shard: {index: %d, count: %d}
exporters:
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`, dir, startAt.Format(time.RFC3339Nano), index, count, sink.endpoint)
	}
	procs := []*otelcoltest.Collector{otelcoltest.Launch(t, config(whole, 0, 1))}
	for i, s := range shards {
		procs = append(procs, otelcoltest.Launch(t, config(s, i, 3)))
	}
	for _, p := range procs {
		p.WaitLog(t, "Replay finished", time.Until(startAt)+time.Minute)
	}
	for _, p := range procs {
		p.Stop(t)
		assert.Contains(t, p.Log(), `"dropped_items": 0`)
		assert.Contains(t, p.Log(), `"bad_objects": 0`)
	}

	want := whole.delivered(startAt)
	require.Len(t, want, 3*traces, "the unsharded replay delivers every span")
	var got []deliveredSpan
	for i, s := range shards {
		spans := s.delivered(startAt)
		t.Logf("shard %d delivered %d spans", i, len(spans))
		assert.NotEmpty(t, spans, "shard %d delivered nothing: the session was not split", i)
		got = append(got, spans...)
	}
	slices.SortFunc(got, compareSpanID)
	require.Len(t, got, len(want), "the shards together deliver as many spans as the unsharded replay")

	// The same spans, ids, timestamps and moments. The replay puts the
	// first object's capture time at start_at and keeps every gap, so a
	// span recorded at c0+d starts at start_at+d.
	var maxSkew, maxLate time.Duration
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, w.span, g.span, "span %d: the shards and the unsharded replay map ids alike", i)
		assert.Equal(t, w.trace, g.trace, "span %s: trace", w.span)
		assert.Equal(t, w.parent, g.parent, "span %s: parent", w.span)
		assert.Equal(t, w.start, g.start, "span %s: start", w.span)
		assert.Equal(t, w.end, g.end, "span %s: end", w.span)
		skew := (g.arrived - w.arrived).Abs()
		assert.Less(t, skew, 150*time.Millisecond, "span %s: a shard delivered it %s from the unsharded replay", w.span, skew)
		maxSkew = max(maxSkew, skew)
		maxLate = max(maxLate, w.arrived-w.start, g.arrived-g.start)
	}
	t.Logf("arrival, shards vs unsharded: max skew %s; latest arrival after the span's scheduled time: %s", maxSkew, maxLate)

	// Against the session itself: each recorded start offset turns up once,
	// on a new span id, and nothing arrives before it is due.
	var starts []time.Duration
	for _, s := range got {
		starts = append(starts, s.start)
		assert.Equal(t, gap/2, s.end-s.start, "span %s: duration kept", s.span)
		assert.GreaterOrEqual(t, s.arrived, s.start, "span %s arrived before its time", s.span)
		_, original := offsets[s.span]
		assert.False(t, original, "span %s kept its recorded id", s.span)
	}
	slices.Sort(starts)
	recorded := make([]time.Duration, 0, len(offsets))
	for _, d := range offsets {
		recorded = append(recorded, d)
	}
	slices.Sort(recorded)
	assert.Equal(t, recorded, starts, "span start offsets from start_at")

	// Every parent is a delivered span of the same trace, whichever shard
	// delivered either of them; and the trace was really split.
	byID := map[pcommon.SpanID]deliveredSpan{}
	for _, s := range got {
		byID[s.span] = s
	}
	split := 0
	for _, s := range got {
		if s.parent.IsEmpty() {
			continue
		}
		p, ok := byID[s.parent]
		if assert.True(t, ok, "span %s: parent %s not delivered", s.span, s.parent) {
			assert.Equal(t, p.trace, s.trace, "span %s is in its parent's trace", s.span)
			if p.shard != s.shard {
				split++
			}
		}
	}
	t.Logf("%d of %d child spans came from another shard than their parent", split, 2*traces)
	assert.Positive(t, split, "no parent and child were delivered by different shards")
}

// writeSplitTraces writes a session of traces whose spans lie in three
// objects each, gap apart: the root in the first, a child in each of the
// next two. It returns each recorded span id with its start's offset from
// the first object's capture time.
func writeSplitTraces(t *testing.T, st sessionstore.Store, id string, c0 time.Time, traces int, gap time.Duration) map[pcommon.SpanID]time.Duration {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	offsets := map[pcommon.SpanID]time.Duration{}
	obj := 0
	for tr := range traces {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(tr)+1)
		root := pcommon.SpanID{1, byte(tr)}
		for part := range 3 {
			off := time.Duration(obj) * gap
			at := c0.Add(off)
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "svc")
			sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetName("op")
			if part == 0 {
				sp.SetSpanID(root)
			} else {
				sp.SetSpanID(pcommon.SpanID{2, byte(tr), byte(part)})
				sp.SetParentSpanID(root)
			}
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(gap / 2)))
			w.Traces(at, td)
			offsets[sp.SpanID()] = off
			obj++
		}
	}
	w.Complete()
	return offsets
}

// deliveredSpan is one span as a collector delivered it; times are
// relative to the replay's start_at (all four runs share it, so these are
// offsets on one clock).
type deliveredSpan struct {
	shard        *spanSink
	trace        pcommon.TraceID
	span, parent pcommon.SpanID
	start, end   time.Duration // span timestamps − start_at
	arrived      time.Duration // arrival at the sink − start_at
}

func compareSpanID(a, b deliveredSpan) int { return slices.Compare(a.span[:], b.span[:]) }

// spanSink is an OTLP/HTTP receiver (the core otlpreceiver, in the test
// process) recording every span and when it arrived.
type spanSink struct {
	endpoint string
	mu       sync.Mutex
	spans    []sinkSpan
}

type sinkSpan struct {
	arrived      time.Time
	trace        pcommon.TraceID
	span, parent pcommon.SpanID
	start, end   pcommon.Timestamp
}

// delivered returns the spans received so far, by span id, with times
// relative to startAt.
func (s *spanSink) delivered(startAt time.Time) []deliveredSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]deliveredSpan, 0, len(s.spans))
	for _, sp := range s.spans {
		out = append(out, deliveredSpan{
			shard: s, trace: sp.trace, span: sp.span, parent: sp.parent,
			start: sp.start.AsTime().Sub(startAt), end: sp.end.AsTime().Sub(startAt), arrived: sp.arrived.Sub(startAt),
		})
	}
	slices.SortFunc(out, compareSpanID)
	return out
}

func startSpanSink(t *testing.T) *spanSink {
	t.Helper()
	s := &spanSink{}
	next, err := consumer.NewTraces(s.consume)
	require.NoError(t, err)
	s.endpoint = startOTLPHTTP(t, next, nil)
	return s
}

func (s *spanSink) consume(_ context.Context, td ptrace.Traces) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				s.spans = append(s.spans, sinkSpan{now, sp.TraceID(), sp.SpanID(), sp.ParentSpanID(), sp.StartTimestamp(), sp.EndTimestamp()})
			}
		}
	}
	return nil
}

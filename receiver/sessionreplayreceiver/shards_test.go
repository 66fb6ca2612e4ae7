package sessionreplayreceiver

import (
	"encoding/binary"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// splitTraceSession writes traces whose spans lie in three objects each:
// the root in one, its children in the next two (100 ms apart), so that
// shards by object split every trace.
func splitTraceSession(t *testing.T, st sessionstore.Store, id string, c0 time.Time, traces int) {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	obj := 0
	var pause time.Duration
	for tr := range traces {
		if tr == traces/2 {
			pause = 10 * time.Second // a quiet stretch in the middle (max_gap cuts it)
		}
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(tr)+1)
		root := pcommon.SpanID{1, byte(tr)}
		for part := range 3 {
			at := c0.Add(time.Duration(obj)*100*time.Millisecond + pause)
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
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(50 * time.Millisecond)))
			w.Traces(at, td)
			obj++
		}
	}
	w.Complete()
}

// replayedSpan is one span as a replay delivered it.
type replayedSpan struct {
	arrived      time.Time
	trace        pcommon.TraceID
	span, parent pcommon.SpanID
	start, end   pcommon.Timestamp
}

func replayedSpans(a *arrivals) []replayedSpan {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []replayedSpan
	for _, g := range a.got {
		rss := g.td.ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					sp := spans.At(k)
					out = append(out, replayedSpan{g.at, sp.TraceID(), sp.SpanID(), sp.ParentSpanID(), sp.StartTimestamp(), sp.EndTimestamp()})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b replayedSpan) int { return slices.Compare(a.span[:], b.span[:]) })
	return out
}

// TestShardsReplayAsOne: three shards of one replay (regenerate_ids,
// relative timestamps, 1x, one start_at) deliver together exactly what one
// unsharded replay with the same settings delivers: the same spans, the
// same new ids (so every parent resolves), the same timestamps, at the
// same moments.
func TestShardsReplayAsOne(t *testing.T) {
	for _, tc := range []struct {
		name   string
		loops  int
		maxGap time.Duration
	}{{"one pass", 1, 0}, {"two passes, max_gap", 2, time.Second}} {
		t.Run(tc.name, func(t *testing.T) { testShardsReplayAsOne(t, tc.loops, tc.maxGap) })
	}
}

func testShardsReplayAsOne(t *testing.T, loops int, maxGap time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		splitTraceSession(t, st, "split", c0, 8)
		startAt := time.Now().Add(5 * time.Second)
		config := func(index, count int) *Config {
			cfg := baseConfig(storeCfg, "split")
			cfg.Speed = 1
			cfg.Timestamps = TimestampsRelative
			cfg.RegenerateIDs = true
			cfg.StartAt = startAt
			cfg.Shard = ShardConfig{Index: index, Count: count}
			cfg.Loops = loops
			cfg.MaxGap = maxGap
			return cfg
		}
		whole := &arrivals{}
		shards := &arrivals{}
		reps := []*started{startReplay(t, config(0, 1), whole, nil, nil)}
		for i := range 3 {
			reps = append(reps, startReplay(t, config(i, 3), shards, nil, nil))
		}
		for _, r := range reps {
			r.wait(t, time.Minute)
		}
		want, got := replayedSpans(whole), replayedSpans(shards)
		require.Len(t, want, 24*loops)
		require.Len(t, got, len(want))
		for i := range want {
			w, g := want[i], got[i]
			require.Equal(t, w.span, g.span, "span %d: the same new ids", i)
			assert.Equal(t, w.trace, g.trace, "span %s: trace", w.span)
			assert.Equal(t, w.parent, g.parent, "span %s: parent", w.span)
			assert.Equal(t, w.start.AsTime(), g.start.AsTime(), "span %s: start", w.span)
			assert.Equal(t, w.end.AsTime(), g.end.AsTime(), "span %s: end", w.span)
			assert.Equal(t, w.arrived, g.arrived, "span %s: delivered at the same moment", w.span)
		}

		ids := map[pcommon.SpanID]pcommon.TraceID{}
		for _, s := range got {
			ids[s.span] = s.trace
		}
		for _, s := range got {
			if s.parent.IsEmpty() {
				continue
			}
			parentTrace, ok := ids[s.parent]
			if assert.True(t, ok, "span %s: parent %s not delivered", s.span, s.parent) {
				assert.Equal(t, parentTrace, s.trace, "span %s is in its parent's trace", s.span)
			}
		}
	})
}

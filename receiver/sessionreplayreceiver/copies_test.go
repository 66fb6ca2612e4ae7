package sessionreplayreceiver

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestCopies: copies: 3 delivers every object three times at its recorded
// time (3x the rate, time not compressed), each copy with ids of its own
// (no trace id in two copies; every parent resolves within its copy) and
// its own service.instance.id; the same copy gets the same ids in another
// run; copies: 1 is the plain replay.
func TestCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "s", c0)
		var sent []ptrace.Traces
		for i := range 10 {
			at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
			td := sessiontest.Traces("checkout", i, 4, at)
			spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for j := 1; j < spans.Len(); j++ { // one trace: a root and its children
				spans.At(j).SetTraceID(spans.At(0).TraceID())
				spans.At(j).SetParentSpanID(spans.At(0).SpanID())
			}
			if i%2 == 0 {
				td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.instance.id", "pod-a")
			}
			w.Traces(at, td)
			sent = append(sent, td)
		}
		w.Complete()

		run := func(copies int) *arrivals {
			cfg := baseConfig(storeCfg, "s")
			cfg.Speed = 1
			cfg.Copies = copies
			sink := &arrivals{}
			rep := startReplay(t, cfg, sink, nil, nil)
			rep.wait(t, time.Minute)
			st := rep.r.Status()
			assert.Equal(t, int64(40*copies), st.ItemsTotal, "the progress counts every copy")
			assert.Equal(t, st.ItemsTotal, st.ItemsDone)
			assert.Equal(t, int64(10), st.ObjectsDone)
			assert.InDelta(t, 100, st.Percent, 0.01)
			return sink
		}
		one, three := run(1), run(3)
		require.Len(t, one.got, 10)
		require.Len(t, three.got, 30, "every object three times")
		for i := range 10 {
			for c := range 3 {
				assert.Equal(t, one.got[i].at.Sub(one.got[0].at), three.got[3*i+c].at.Sub(three.got[0].at),
					"object %d copy %d at its recorded time", i, c)
			}
			assert.Equal(t, sessiontest.SpanIDs(sent[i]), sessiontest.SpanIDs(one.got[i].td), "copies: 1 keeps the recorded ids")
		}

		traceCopy := map[pcommon.TraceID]string{}
		for i, a := range three.got {
			rs := a.td.ResourceSpans().At(0)
			inst, ok := rs.Resource().Attributes().Get("service.instance.id")
			require.True(t, ok)
			c := i % 3
			want := map[bool]string{true: "pod-a-copy-", false: "copy-"}[(i/3)%2 == 0] + string(rune('0'+c))
			assert.Equal(t, want, inst.Str())
			ids := map[pcommon.SpanID]bool{}
			for _, sp := range pdatawalk.Spans(a.td) {
				ids[sp.SpanID()] = true
				if other, seen := traceCopy[sp.TraceID()]; seen {
					assert.Equal(t, inst.Str(), other, "a trace id in one copy only")
				}
				traceCopy[sp.TraceID()] = inst.Str()
			}
			for _, sp := range pdatawalk.Spans(a.td) {
				if !sp.ParentSpanID().IsEmpty() {
					assert.True(t, ids[sp.ParentSpanID()], "the parent resolves within its copy")
				}
			}
		}
		assert.Len(t, traceCopy, 30, "10 traces, 3 copies, no id shared")

		again := run(3)
		for i := range again.got {
			assert.Equal(t, sessiontest.SpanIDs(three.got[i].td), sessiontest.SpanIDs(again.got[i].td), "a copy's ids are fixed")
		}
	})
}

// TestCopiesConfig: copies outside 1..1000 is refused, naming the value.
func TestCopiesConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, 1, cfg.Copies)
	cfg.Copies = 0
	assert.ErrorContains(t, cfg.Validate(), "copies: 0 must be between 1 and 1000")
	cfg.Copies = 1001
	assert.ErrorContains(t, cfg.Validate(), "copies: 1001")
}

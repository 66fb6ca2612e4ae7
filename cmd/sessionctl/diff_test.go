package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func TestDiffEqual(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	copySession(t, st, "base", "copy", nil)
	for _, args := range [][]string{{"base", "base"}, {"base", "copy"}} {
		code, out, errw := sessionctl(t, append([]string{"--dir", dir, "diff"}, args...)...)
		require.Equal(t, 0, code, out+errw)
		assert.Equal(t, "A="+args[0]+" and B="+args[1]+" are equal: 76 spans, 4 data points, 12 log records compared\n", out)
	}
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "base", "copy", "--shifted")
	require.Equal(t, 0, code, out)
	assert.Equal(t, "A=base and B=copy are equal: 76 spans, 4 data points, 12 log records compared; time shift 0s (one constant shift)\n", out)

	// A seed session with its phases, against itself.
	sessiontest.SeedPhases(t, st, "seed", c0)
	code, out, _ = sessionctl(t, "--dir", dir, "diff", "--shifted", "seed", "seed")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "are equal: 12 spans")
}

func TestDiffDroppedSpan(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	// Leave out span 5 of the second object: op-5, a child of op-4, the
	// parent of op-6.
	copySession(t, st, "base", "dropped", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		if k == 1 {
			b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(sp ptrace.Span) bool {
				v, _ := sp.Attributes().Get("index")
				return v.Int() == 5
			})
		}
		return o.CaptureTime, true
	})
	for _, shifted := range []bool{false, true} {
		args := []string{"--dir", dir, "diff", "base", "dropped"}
		if shifted {
			args = append(args, "--shifted")
		}
		code, out, _ := sessionctl(t, args...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "A=base and B=dropped differ: 3 count, 1 item and 1 trace shape differences")
		assert.Contains(t, out, "  traces: 76 spans in A, 75 in B\n")
		assert.Contains(t, out, "  traces: span 'op-5' (service checkout): 1 in A, 0 in B\n")
		assert.Contains(t, out, "  missing in B: span 'op-5' (service checkout): kind=Server")
		assert.Contains(t, out, "attributes={batch=1, index=5}")
		assert.Contains(t, out, "  trace of root 'op-4' (service checkout): span 'op-6' (service checkout) has no parent in B (its parent was 'op-5' (service checkout))\n")
	}
}

func TestDiffChangedAttribute(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	copySession(t, st, "base", "changed", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		if k == 3 {
			b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(3).Attributes().PutInt("index", 33)
		}
		return o.CaptureTime, true
	})
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "base", "changed")
	assert.Equal(t, 1, code, out)
	assert.Equal(t, "A=base and B=changed differ: 1 item difference; A has 76 spans, 4 data points, 12 log records; B has 76 spans, 4 data points, 12 log records\n"+
		"items:\n"+
		"  changed: span 'op-3' (service frontend): attributes[\"index\"]: 3 → 33\n", out)
}

func TestDiffBrokenParent(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	// op-2 of the first trace of object 0 now hangs under op-3, its
	// uncle, instead of op-1.
	copySession(t, st, "base", "broken", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		if k == 0 {
			s := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			s.At(2).SetParentSpanID(s.At(3).SpanID())
		}
		return o.CaptureTime, true
	})
	const shape = "  trace of root 'op-0' (service frontend): span 'op-2' (service frontend) has parent 'op-3' (service frontend) in B (its parent was 'op-1' (service frontend))\n"
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "base", "broken", "--shifted")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "differ: 1 trace shape difference;")
	assert.Contains(t, out, "trace shapes:\n"+shape)
	assert.NotContains(t, out, "items:", "the spans themselves are the same")

	code, out, _ = sessionctl(t, "--dir", dir, "diff", "base", "broken")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "  ids differ: span 'op-2' (service frontend): parent_span_id: 0000000100000002 → 0000000100000004\n")
	assert.Contains(t, out, shape)
}

// TestDiffRemappedAndShifted: all ids remapped consistently and every
// object shifted by its own amount (a replay with id remapping and
// timestamps current at a speed other than 1) is equal with --shifted and
// different without.
func TestDiffRemappedAndShifted(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	copySession(t, st, "base", "replayed", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		d := time.Hour + time.Duration(k)*1700*time.Millisecond
		xorIDs(b)
		shiftTimes(b, d)
		return o.CaptureTime.Add(d), true
	})
	code, out, errw := sessionctl(t, "--dir", dir, "diff", "--shifted", "base", "replayed")
	require.Equal(t, 0, code, out+errw)
	assert.Equal(t, "A=base and B=replayed are equal: 76 spans, 4 data points, 12 log records compared; time shift +1h0m0s..+1h0m8.5s (varies by 8.5s: shifted per object)\n", out)

	code, out, _ = sessionctl(t, "--dir", dir, "diff", "base", "replayed")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "differ: 92 item differences")
	assert.Contains(t, out, "  changed: span 'op-0' (service frontend): start: 2026-11-28T22:59:50Z → 2026-11-28T23:59:50Z; end: 2026-11-28T22:59:50.003Z → 2026-11-28T23:59:50.003Z; trace_id: ")
	assert.Contains(t, out, "  … and 72 more (--max-differences)\n")
	assert.Contains(t, out, "note: 92 changed items differ only in absolute times and ids: if B is a replay, compare with --shifted\n")
	assert.NotContains(t, out, "trace shapes:")

	// One log record pointing at another span than the remapping says is
	// a difference even with --shifted.
	copySession(t, st, "replayed", "misref", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		if b.Signal == sessionstore.SignalLogs {
			lrs := b.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			lrs.At(0).SetSpanID(lrs.At(1).SpanID())
		}
		return o.CaptureTime, true
	})
	code, out, _ = sessionctl(t, "--dir", dir, "diff", "--shifted", "base", "misref")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "  changed: log 'INFO' (service frontend): span: span 'op-0' (service frontend) → span 'op-1' (service frontend)\n")
}

// TestDiffMergedTraces: an inconsistent remapping that gives two traces
// one trace id is a trace shape difference with --shifted.
func TestDiffMergedTraces(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	var first, second pcommon.TraceID
	copySession(t, st, "base", "merged", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		if k == 0 {
			s := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			first, second = s.At(0).TraceID(), s.At(4).TraceID()
		}
		b.Walk(pdatawalk.Visitor{TraceID: func(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
			if id == second {
				return first
			}
			return id
		}})
		xorIDs(b)
		shiftTimes(b, time.Duration(k)*time.Second)
		return o.CaptureTime, true
	})
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "--shifted", "base", "merged")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "differ: 1 trace shape difference;")
	assert.Contains(t, out, "  traces of roots 'op-0' (service frontend), 'op-4' (service frontend) are one trace in B\n")
}

func TestDiffUsageAndErrors(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "base"}, "diff needs two session ids: A B"},
		{[]string{"diff", "base", "nope"}, `no such session "nope"`},
		{[]string{"diff", "base", "../x"}, `invalid session id "../x"`},
		{[]string{"diff", "base", "base", "--signal", "spans"}, `unknown signal "spans"`},
		{[]string{"diff", "base", "base", "--max-differences", "0"}, "--max-differences must be at least 1"},
		{[]string{"diff", "--frobnicate", "base", "base"}, "flag provided but not defined: -frobnicate"},
	} {
		code, _, errw := sessionctl(t, append([]string{"--dir", dir}, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, errw, tc.want)
	}

	code, _, errw := sessionctl(t, "--help")
	assert.Equal(t, 2, code)
	for _, want := range []string{"cat ID [--signal traces|metrics|logs] [--json]", "du ID... [--decode] [--json]",
		"diff A B [--shifted] [--max-differences N] [--signal S]", "items and raw\n      (uncompressed) bytes per signal from metadata.json"} {
		assert.Contains(t, errw, want)
	}

	// A corrupt object is a read error: exit 2, naming it.
	copySession(t, st, "base", "corrupt", nil)
	w := sessiontest.NewWriter(t, st, "corrupt", c0)
	key := w.Raw(sessionstore.SignalLogs, c0.Add(time.Minute), []byte("not gzip"))
	var out string
	code, out, errw = sessionctl(t, "--dir", dir, "diff", "base", "corrupt")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, errw, "B: session corrupt: "+key+": corrupt object: not gzip")
}

func TestDiffSignalAndMax(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	copySession(t, st, "base", "changed", func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool) {
		spans(b, func(sp ptrace.Span) { sp.Attributes().PutStr("new", "x") })
		return o.CaptureTime, true
	})
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "base", "changed", "--signal", "metrics")
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "A=base and B=changed are equal: 4 data points compared\n", out)
	code, out, _ = sessionctl(t, "--dir", dir, "diff", "base", "changed", "--signal", "logs")
	assert.Equal(t, 0, code, "a changed span is one difference, of traces, not one more per log pointing at it: %s", out)

	code, out, _ = sessionctl(t, "--dir", dir, "diff", "--max-differences", "2", "base", "changed", "--signal", "traces")
	assert.Equal(t, 1, code, out)
	assert.Equal(t, 2, strings.Count(out, "  changed: span"), out)
	assert.Contains(t, out, "  … and 74 more (--max-differences)\n")
}

// TestDiffDuplicateObject: a redelivered copy of an object (same uuid, a
// later millisecond) is read once, as replay reads it.
func TestDiffDuplicateObject(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	copySession(t, st, "base", "dup", nil)
	ctx := context.Background()
	var first sessionstore.Object
	for o, err := range sessionstore.ListObjects(ctx, st, "dup") {
		require.NoError(t, err)
		first = o
		break
	}
	data, err := sessionstore.ReadStored(ctx, st, first, 1<<20)
	require.NoError(t, err)
	later := first.ObjectKey
	later.CaptureTime = later.CaptureTime.Add(time.Minute)
	require.NoError(t, st.Put(ctx, later.String(), data))
	code, out, _ := sessionctl(t, "--dir", dir, "diff", "base", "dup")
	assert.Equal(t, 0, code, out)
}

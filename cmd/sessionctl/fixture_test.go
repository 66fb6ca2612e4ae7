package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// c0 is the first capture time of the fixtures: ten seconds before an
// hour ends, so that their objects fall in two hour directories.
var c0 = time.Date(2026, 11, 28, 22, 59, 50, 0, time.UTC)

// treeTraces is sessiontest.Traces with its spans grouped four by four into
// traces shaped
//
//	op-0 (root) ─┬─ op-1 ── op-2
//	             └─ op-3
//
// (names op-i%7 as sessiontest gives them).
func treeTraces(service string, batch, n int, base time.Time) ptrace.Traces {
	td := sessiontest.Traces(service, batch, n, base)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		sp := spans.At(i)
		root := spans.At(i - i%4)
		sp.SetTraceID(root.TraceID())
		switch i % 4 {
		case 1, 3:
			sp.SetParentSpanID(root.SpanID())
		case 2:
			sp.SetParentSpanID(spans.At(i - 1).SpanID())
		}
	}
	return td
}

// logsFor holds one log record per span of td, pointing at it.
func logsFor(td ptrace.Traces, at time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "frontend")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, sp := range pdatawalk.Spans(td) {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(sp.EndTimestamp())
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(at))
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("done " + sp.Name())
		lr.SetTraceID(sp.TraceID())
		lr.SetSpanID(sp.SpanID())
	}
	return ld
}

// newStore opens a filesystem store in a temporary directory.
func newStore(t *testing.T) (string, sessionstore.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return dir, st
}

// writeBase writes session id: three objects of trees (12 spans each, in
// services frontend and checkout), one of realistic traffic (40 flat
// spans), one of log records pointing at the first object's spans, and
// one of metrics; 10 s apart from c0, across an hour boundary.
func writeBase(t *testing.T, st sessionstore.Store, id string) *sessionstore.Metadata {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	at := func(k int) time.Time { return c0.Add(time.Duration(k) * 10 * time.Second) }
	first := treeTraces("frontend", 0, 12, at(0))
	w.Traces(at(0), first)
	w.Traces(at(1), treeTraces("checkout", 1, 12, at(1)))
	w.Logs(at(2), logsFor(first, at(2)))
	w.Traces(at(3), treeTraces("frontend", 2, 12, at(3)))
	w.Traces(at(4), sessiontest.RealisticTraces(7, 40, at(4)))
	w.Metrics(at(5), testdata.GenerateMetrics(2))
	return w.Complete()
}

// copySession copies session from into session to, object by object in
// capture order: change may alter the batch of object k and return its
// new capture time, or false to leave the object out.
func copySession(t *testing.T, st sessionstore.Store, from, to string,
	change func(k int, o sessionstore.Object, b sessionstore.Batch) (time.Time, bool),
) {
	t.Helper()
	ctx := context.Background()
	m, err := sessionstore.ReadMetadata(ctx, st, from)
	require.NoError(t, err)
	w := sessiontest.NewWriter(t, st, to, m.StartTime)
	k := 0
	for o, err := range sessionstore.ListObjectsByTime(ctx, st, from) {
		require.NoError(t, err)
		b, _, err := sessionstore.ReadObject(ctx, st, o, 64<<20)
		require.NoError(t, err)
		at, keep := o.CaptureTime, true
		if change != nil {
			at, keep = change(k, o, b)
		}
		k++
		if !keep {
			continue
		}
		switch b.Signal {
		case sessionstore.SignalTraces:
			w.Traces(at, b.Traces)
		case sessionstore.SignalMetrics:
			w.Metrics(at, b.Metrics)
		case sessionstore.SignalLogs:
			w.Logs(at, b.Logs)
		}
	}
	w.Complete()
}

// spans calls fn for the spans of a traces batch (nothing for others).
func spans(b sessionstore.Batch, fn func(sp ptrace.Span)) {
	if b.Signal != sessionstore.SignalTraces {
		return
	}
	for _, sp := range pdatawalk.Spans(b.Traces) {
		fn(sp)
	}
}

// xorIDs remaps every id of the batch by XOR with a key: a bijection, as
// the replay's id remapping.
func xorIDs(b sessionstore.Batch) {
	b.Walk(pdatawalk.Visitor{
		TraceID: func(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
			for i := range id {
				id[i] ^= 0xa5
			}
			return id
		},
		SpanID: func(_ pdatawalk.Field, id pcommon.SpanID) pcommon.SpanID {
			for i := range id {
				id[i] ^= 0x5a
			}
			return id
		},
	})
}

// shiftTimes shifts every timestamp of the batch by d.
func shiftTimes(b sessionstore.Batch, d time.Duration) {
	b.Walk(pdatawalk.Visitor{Time: func(_ pdatawalk.Field, ts pcommon.Timestamp) pcommon.Timestamp {
		return pcommon.Timestamp(int64(ts) + int64(d))
	}})
}

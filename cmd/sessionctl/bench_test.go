package main

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// realisticTrees is sessiontest.RealisticTraces with the spans of each
// service grouped four by four into trees, as treeTraces does.
func realisticTrees(seed uint64, n int, base time.Time) ptrace.Traces {
	td := sessiontest.RealisticTraces(seed, n, base)
	for _, rs := range td.ResourceSpans().All() {
		spans := rs.ScopeSpans().At(0).Spans()
		for i := range spans.Len() {
			sp, root := spans.At(i), spans.At(i-i%4)
			sp.SetTraceID(root.TraceID())
			switch i % 4 {
			case 1, 3:
				sp.SetParentSpanID(root.SpanID())
			case 2:
				sp.SetParentSpanID(spans.At(i - 1).SpanID())
			}
		}
	}
	return td
}

// writeBig writes session id of objects × perObject realistic spans in
// trees, with a log record pointing at every tenth span, and its replay
// (ids remapped, every object shifted by its own amount) as id+"-replay".
func writeBig(t testing.TB, st sessionstore.Store, id string, objects, perObject int) {
	w := sessiontest.NewWriter(t, st, id, c0)
	r := sessiontest.NewWriter(t, st, id+"-replay", c0.Add(time.Hour))
	for k := range objects {
		at := c0.Add(time.Duration(k) * time.Second)
		td := realisticTrees(uint64(k), perObject, at)
		ld := logsFor(td, at)
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		i := 0
		lrs.RemoveIf(func(plog.LogRecord) bool { i++; return i%10 != 1 })
		w.Traces(at, td)
		w.Logs(at, ld)
		for _, b := range []sessionstore.Batch{{Signal: sessionstore.SignalTraces, Traces: td}, {Signal: sessionstore.SignalLogs, Logs: ld}} {
			d := time.Hour + time.Duration(k)*1300*time.Millisecond
			xorIDs(b)
			shiftTimes(b, d)
		}
		r.Traces(at.Add(time.Hour), td)
		r.Logs(at.Add(time.Hour), ld)
	}
	w.Complete()
	r.Complete()
}

// BenchmarkDiff100kSpans: diff --shifted of a session of 100k spans (100
// objects of 1000, in trees, and 10k log records pointing at them) with its
// replay. peak-heap-MB is the largest heap in use, sampled every 10 ms.
func BenchmarkDiff100kSpans(b *testing.B) {
	dir := b.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(b, err)
	defer st.Close()
	writeBig(b, st, "big", 100, 1000)
	runtime.GC()
	var peak uint64
	for b.Loop() {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var ms runtime.MemStats
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
		})
		var out bytes.Buffer
		code := run(context.Background(), []string{"--dir", dir, "diff", "--shifted", "big", "big-replay"}, &out, &out)
		close(done)
		wg.Wait()
		require.Equal(b, 0, code, out.String())
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

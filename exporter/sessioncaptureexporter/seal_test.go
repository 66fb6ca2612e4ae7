package sessioncaptureexporter

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// mixedTraces is one batch of three resources: two of sessions named by
// test.session.id (one of them a seed phase) and one without it.
func mixedTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	a := tracesForSession("seed-a", 3)
	a.ResourceSpans().At(0).Resource().Attributes().PutInt(sessionstore.AttrPhaseIndex, 1)
	a.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	tracesForSession("seed-b", 5).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	tracesForSession("", 2).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	return td
}

// TestSealedPiecesAreStoredAsBefore: a batch the batcher sealed (split by
// route and marshalled as it came in, its pdata let go) is stored exactly
// as the same batch pushed without a batcher: the same sessions, items,
// phases and event times, the same spans.
func TestSealedPiecesAreStoredAsBefore(t *testing.T) {
	stored := map[bool]map[string]sessiontest.Stored{}
	for _, batched := range []bool{false, true} {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "own-session"
		cfg.Session.FromAttribute = "test.session.id"
		if !batched {
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		}
		tr := newTrio(t, cfg, nil)
		td := mixedTraces()
		before := ptrace.NewTraces()
		td.CopyTo(before)
		require.NoError(t, tr.traces.ConsumeTraces(context.Background(), td))
		require.NoError(t, ptracetest.CompareTraces(before, td), "the batch is not changed")
		tr.shutdown(t)
		stored[batched] = map[string]sessiontest.Stored{}
		for _, id := range []string{"own-session", "seed-a", "seed-b"} {
			s := sessiontest.Read(t, st, id)
			sessiontest.CheckCounts(t, s)
			stored[batched][id] = s
		}
	}
	for id, want := range stored[false] {
		got := stored[true][id]
		assert.Equal(t, want.Meta.CapturedTraces, got.Meta.CapturedTraces, id)
		assert.Equal(t, want.Meta.Signals[sessionstore.SignalTraces].Items, got.Meta.Signals[sessionstore.SignalTraces].Items, id)
		assert.Equal(t, want.Meta.Signals[sessionstore.SignalTraces].Bytes, got.Meta.Signals[sessionstore.SignalTraces].Bytes, id)
		assert.Equal(t, want.Meta.EventTimeRange, got.Meta.EventTimeRange, id)
		assert.Equal(t, want.Meta.Status, got.Meta.Status, id)
		if want.Meta.Seed != nil || got.Meta.Seed != nil {
			require.NotNil(t, got.Meta.Seed, id)
			require.NotNil(t, want.Meta.Seed, id)
			assert.Equal(t, want.Meta.Seed.Phases, got.Meta.Seed.Phases, id)
		}
		assert.NoError(t, ptracetest.CompareTraces(want.Traces, got.Traces), id)
	}
	assert.Equal(t, int64(3), stored[true]["seed-a"].Meta.CapturedTraces)
}

// TestSealLetsTheDataGo: sealing gives the queue's reference on the pdata
// back and drops the piece's hold on it; the queue's later Unref does not
// give it back twice; a sealed request still persists and reads back.
func TestSealLetsTheDataGo(t *testing.T) {
	st := stamp{accepted: time.Now().UTC().Truncate(time.Millisecond), instance: 7, request: 9}
	req := acceptRequest(&tracesSignal, mixedTraces(), st, 0, false, "test.session.id")
	refs := refCounter[ptrace.Traces, ptrace.ResourceSpans]{sig: &tracesSignal}
	refs.Ref(req)
	p := req.pieces[0]
	require.True(t, p.refd)
	wantBytes := tracesSignal.size(p.data)

	out, err := req.MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, nil)
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.True(t, p.sealed)
	assert.False(t, p.refd, "the seal gave the queue's reference back")
	assert.Equal(t, ptrace.Traces{}, p.data, "the piece holds no pdata")
	require.Len(t, p.parts, 3, "one part per route")
	total := 0
	for _, pt := range p.parts {
		require.NotNil(t, pt.raw)
		total += len(pt.raw)
	}
	assert.Equal(t, total, out[0].BytesSize())
	assert.InDelta(t, wantBytes, total, 16, "the parts are the piece's protobuf, split by resource")
	refs.Unref(req) // nothing left to give back: no double release

	enc := queueEncoding[ptrace.Traces, ptrace.ResourceSpans]{sig: &tracesSignal, now: time.Now, attr: "test.session.id"}
	b, err := enc.Marshal(context.Background(), out[0])
	require.NoError(t, err)
	_, back, err := enc.Unmarshal(b)
	require.NoError(t, err)
	bp := back.(*captureRequest[ptrace.Traces, ptrace.ResourceSpans]).pieces[0]
	assert.Equal(t, 10, bp.items)
	require.NoError(t, ptracetest.CompareTraces(mixedTraces(), bp.data, ptracetest.IgnoreResourceSpansOrder()))
}

// BenchmarkBatchRetained is the heap a full batch (16384 spans, the batch
// max_size, as 32 pieces of 512) keeps while it waits for its flush, as
// pdata and sealed: retained-B/span.
func BenchmarkBatchRetained(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name := "pdata"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			var retained float64
			for b.Loop() {
				base := heapInUse()
				var batch *captureRequest[ptrace.Traces, ptrace.ResourceSpans]
				for i := range 32 {
					td := sessiontest.RealisticTraces(uint64(i), 512, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
					r := acceptRequest(&tracesSignal, td, stamp{request: uint64(i + 1)}, 0, false, "")
					if sealed {
						var into xexporterhelper.Request // nil for the first, as exporterhelper does
						if batch != nil {
							into = batch
						}
						out, err := r.MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, into)
						require.NoError(b, err)
						batch = out[0].(*captureRequest[ptrace.Traces, ptrace.ResourceSpans])
						continue
					}
					if batch == nil {
						batch = r
					} else {
						batch.pieces = append(batch.pieces, r.pieces...)
						batch.items += r.items
					}
				}
				retained = float64(heapInUse()-base) / float64(batch.items)
				runtime.KeepAlive(batch)
			}
			b.ReportMetric(retained, "retained-B/span")
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

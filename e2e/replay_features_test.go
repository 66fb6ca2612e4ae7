package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestCheckpointSurvivesSIGKILL: a paced replay with checkpoint.storage on
// file_storage is killed with SIGKILL twice and started again each time
// with the same config and storage directory:
//   - a third of the way through, while the export of an object is in
//     flight and not yet accepted: the next process must deliver it;
//   - two thirds of the way through, after the receiving end accepted an
//     object but before the collector got the answer: that object may
//     come twice, nothing else.
//
// Together the three processes deliver every span of the session, with the
// ids, timestamps and schedule of an uninterrupted replay started at the
// same start_at (a reference process running alongside): nothing skipped,
// no span three times, at most the object in flight twice.
func TestCheckpointSurvivesSIGKILL(t *testing.T) {
	t.Parallel() // ~15 s of real time in its own processes and store
	if testing.Short() {
		t.Skip("an 8 s session replayed at 1x, killed twice and resumed")
	}
	const (
		objects = 80
		perObj  = 3
		gap     = 100 * time.Millisecond
	)
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "killed", c0)
	recorded := map[pcommon.SpanID]bool{}
	for i := range objects {
		at := c0.Add(time.Duration(i) * gap)
		td := sessiontest.Traces("svc", i, perObj, at)
		for id := range sessiontest.SpanIDs(td) {
			recorded[id] = true
		}
		w.Traces(at, td)
	}
	w.Complete()
	require.NoError(t, st.Close())
	require.Len(t, recorded, objects*perObj, "distinct span ids in the session")

	storage := t.TempDir() // exists, so file_storage needs no create_directory
	startAt := time.Now().Add(5 * time.Second).Truncate(time.Second)
	config := func(sink *featureSink, checkpoint bool) string {
		ext, svcExt, cp := "", "", ""
		if checkpoint {
			ext = fmt.Sprintf("extensions:\n  file_storage: {directory: %s, compaction: {directory: %s}}\n", storage, storage)
			svcExt = "  extensions: [file_storage]\n"
			cp = "    checkpoint: {storage: file_storage}\n"
		}
		return fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %s}
    session: killed
    speed: 1
    timestamps: relative
    regenerate_ids: true
    id_seed: sigkill-e2e
    start_at: %s
    progress_interval: 1s
%sexporters:
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
%sservice:
%s  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`, dir, startAt.Format(time.RFC3339Nano), cp, sink.endpoint, ext, svcExt)
	}

	// The reference: the same replay without a checkpoint, uninterrupted.
	refSink, sink := startFeatureSink(t), startFeatureSink(t)
	ref := otelcoltest.Launch(t, config(refSink, false))
	procs := []*otelcoltest.Collector{otelcoltest.Launch(t, config(sink, true))}

	// killWhileHeld waits until spans spans arrived, holds the request of
	// the next object at the sink (recorded or not), SIGKILLs the process
	// meanwhile, and returns that object's batch and the kill time.
	killWhileHeld := func(p *otelcoltest.Collector, spans int, record bool) (int64, time.Time) {
		t.Helper()
		held, release := sink.holdAt(spans, record)
		t.Cleanup(release)
		var batch int64
		select {
		case batch = <-held:
		case <-time.After(time.Until(startAt) + 30*time.Second):
			t.Fatalf("%d spans did not arrive (%d did):\n%s", spans, sink.spanCount(), p.LogTail(40))
		}
		require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGKILL))
		killedAt := time.Now()
		_, exited := p.Wait(10 * time.Second)
		require.True(t, exited, "SIGKILL did not end the process")
		release()
		t.Logf("killed %s after start_at with %d spans received, object %d in flight (recorded: %t)",
			killedAt.Sub(startAt), sink.spanCount(), batch, record)
		assert.NotContains(t, p.Log(), "Replay finished", "killed part-way")
		return batch, killedAt
	}

	// A third through, the export not accepted: the object was not delivered.
	lost, killed1 := killWhileHeld(procs[0], objects/3*perObj, false)
	assert.NotContains(t, procs[0].Log(), "Resuming the replay from its checkpoint", "the first run starts afresh")
	// Objects whose time passes during this pause are delivered at once by
	// the next process; the rest keep the first process's schedule.
	time.Sleep(1500 * time.Millisecond)
	procs = append(procs, otelcoltest.Launch(t, config(sink, true)))

	// Two thirds through, the export accepted but not answered.
	dup, killed2 := killWhileHeld(procs[1], 2*objects/3*perObj, true)
	time.Sleep(300 * time.Millisecond)
	procs = append(procs, otelcoltest.Launch(t, config(sink, true)))
	last := procs[2]
	last.WaitLog(t, "Replay finished", time.Until(startAt)+time.Minute)
	ref.WaitLog(t, "Replay finished", time.Until(startAt)+time.Minute)
	last.Stop(t)
	ref.Stop(t)
	for _, p := range procs[1:] {
		assert.Contains(t, p.Log(), "Resuming the replay from its checkpoint", "a restarted process goes on from the checkpoint")
	}

	want := map[pcommon.SpanID]featureSpan{}
	for _, s := range refSink.spans() {
		_, seen := want[s.span]
		require.False(t, seen, "span %s: the reference delivered it twice", s.span)
		want[s.span] = s
		assert.False(t, recorded[s.span], "span %s kept its recorded id", s.span)
	}
	require.Len(t, want, objects*perObj, "the reference delivers every span")

	got := map[pcommon.SpanID][]featureSpan{}
	for _, s := range sink.spans() {
		got[s.span] = append(got[s.span], s)
	}
	var missing, extra []pcommon.SpanID
	for id := range want {
		if _, ok := got[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id)
		}
	}
	assert.Empty(t, missing, "spans of the session the killed and resumed replay never delivered")
	assert.Empty(t, extra, "spans the reference did not deliver (another id mapping?)")

	twice := map[int64]int{} // batch (object) -> spans delivered twice
	var moved []string       // spans whose timestamps or trace differ from the reference
	lostSpans, dupAfter := 0, 0
	for id, arrivals := range got {
		assert.LessOrEqual(t, len(arrivals), 2, "span %s arrived %d times", id, len(arrivals))
		if len(arrivals) > 1 {
			twice[arrivals[0].batch]++
		}
		for _, a := range arrivals {
			if w, ok := want[id]; ok && (w.start != a.start || w.trace != a.trace) {
				moved = append(moved, fmt.Sprintf("%s (object %d): start %s, reference %s", id, a.batch, a.start, w.start))
			}
			switch a.batch {
			case lost:
				lostSpans++
				assert.True(t, a.arrived.After(killed1), "span %s of the object in flight at the first kill arrived before it", id)
			case dup:
				if a.arrived.After(killed2) {
					dupAfter++
				}
			}
		}
	}
	assert.Empty(t, moved, "spans not on the uninterrupted replay's anchor and ids")
	assert.Equal(t, perObj, lostSpans, "the object not accepted at the first kill arrives once, after it")
	assert.Equal(t, perObj, dupAfter, "the object not answered at the second kill arrives again after it")
	t.Logf("spans delivered twice, by object: %v", twice)
	for batch, n := range twice {
		assert.Equal(t, dup, batch, "object %d arrived twice (%d spans): only the one in flight at a kill may", batch, n)
		assert.LessOrEqual(t, n, perObj)
	}

	// The schedule goes on after the resume: the last object is not early,
	// and arrives when the uninterrupted replay delivered it.
	lastObject := func(spans []featureSpan) featureSpan {
		var l featureSpan
		for _, s := range spans {
			if s.batch == objects-1 && s.index == 0 && (l.arrived.IsZero() || s.arrived.After(l.arrived)) {
				l = s
			}
		}
		return l
	}
	gotLast, refLast := lastObject(sink.spans()), lastObject(refSink.spans())
	require.False(t, gotLast.arrived.IsZero())
	due := startAt.Add((objects - 1) * gap)
	assert.Equal(t, due.UTC(), gotLast.start.AsTime(), "relative timestamps: the last object's time on the original anchor")
	assert.False(t, gotLast.arrived.Before(due), "the last object arrived %s before it was due", due.Sub(gotLast.arrived))
	skew := gotLast.arrived.Sub(refLast.arrived)
	t.Logf("last object: due at start_at+%s, reference +%s, resumed +%s", due.Sub(startAt),
		refLast.arrived.Sub(startAt), gotLast.arrived.Sub(startAt))
	assert.Less(t, skew.Abs(), 500*time.Millisecond, "the resumed replay is %s off the uninterrupted schedule", skew)

	// Progress lines (progress_interval 1s) with the session's totals, in
	// the reference and in the processes of the killed replay.
	for name, ps := range map[string][]*otelcoltest.Collector{"reference": {ref}, "killed and resumed": procs} {
		var lines []map[string]any
		for _, p := range ps {
			lines = append(lines, logFields(t, p, "Replay progress")...)
		}
		assert.NotEmpty(t, lines, "%s: no Replay progress line with progress_interval 1s", name)
		for _, l := range lines {
			assert.EqualValues(t, objects, l["objects_total"], "%s: %v", name, l)
			assert.EqualValues(t, objects*perObj, l["items_total"], "%s: %v", name, l)
		}
	}
	fin := logFields(t, last, "Replay finished")
	require.Len(t, fin, 1)
	assert.EqualValues(t, 0, fin[0]["bad_objects"])
	assert.EqualValues(t, 0, fin[0]["dropped_items"])
}

// TestReplayPartOnS3: a seed session on a real S3 server replayed in part
// by the binary: phases [failure] delivers the failure phase only, and a
// time_range of offsets only the items whose event time lies in it, each
// paced from the part's own start with its first item at start_at; a phase
// the session lacks stops the collector at start, naming the phases it has.
func TestReplayPartOnS3(t *testing.T) {
	t.Parallel() // ~6 s of real time in its own processes and S3 server (< 10 s: not skipped by -short)
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	sessiontest.SeedPhases(t, st, "seed-pf", c0)

	// Speed 10: the session's objects are 1 s apart, the whole one 5 s.
	startAt := time.Now().Add(4 * time.Second).Truncate(time.Second)
	config := func(sink *featureSink, part string) string {
		return fmt.Sprintf(`
receivers:
  session_replay:
    store:
%s
    session: seed-pf
    speed: 10
    timestamps: relative
    start_at: %s
%s
exporters:
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`, indent(s3Store(srv, "otel-data"), 6), startAt.Format(time.RFC3339Nano), indent(part, 4), sink.endpoint)
	}
	phaseSink, rangeSink := startFeatureSink(t), startFeatureSink(t)
	phase := otelcoltest.Launch(t, config(phaseSink, "phases: [failure]"), s3Env...)
	ranged := otelcoltest.Launch(t, config(rangeSink, `time_range: {start: 15s, end: 35s}`), s3Env...)
	unknown := otelcoltest.Launch(t, config(startFeatureSink(t), "phases: [failure, outage]"), s3Env...)

	// The phase the session lacks: no start, an error naming what it has.
	err, exited := unknown.Wait(60 * time.Second)
	require.True(t, exited, "the collector must not run with a phase the session lacks:\n%s", unknown.LogTail(20))
	require.Error(t, err, "exit status")
	assert.Contains(t, unknown.Log(), `session seed-pf has no phase "outage"; it has "baseline", "failure"`)

	for _, p := range []*otelcoltest.Collector{phase, ranged} {
		p.WaitLog(t, "Replay finished", time.Until(startAt)+time.Minute)
		p.Stop(t)
	}

	type item struct {
		phase string
		batch int64
	}
	check := func(name string, sink *featureSink, want map[item]int, paced time.Duration) {
		t.Helper()
		spans := sink.spans()
		require.NotEmpty(t, spans, "%s: nothing arrived", name)
		got := map[item]int{}
		first, lastArrival := spans[0], spans[0].arrived
		for _, s := range spans {
			got[item{s.phase, s.batch}]++
			if s.start < first.start {
				first = s
			}
			if s.arrived.After(lastArrival) {
				lastArrival = s.arrived
			}
		}
		assert.Equal(t, want, got, "%s: the spans delivered, by phase and object", name)
		assert.Equal(t, startAt.UTC(), first.start.AsTime(), "%s: relative timestamps put the part's first item at start_at", name)
		firstArrival := slices.MinFunc(spans, func(a, b featureSpan) int { return a.arrived.Compare(b.arrived) }).arrived
		assert.Less(t, firstArrival.Sub(startAt), time.Second, "%s: the part's first object is due at start_at, not at its place in the session", name)
		assert.False(t, lastArrival.Before(startAt.Add(paced)), "%s: paced, not sent at once: the last object is due at start_at+%s, arrived at +%s", name, paced, lastArrival.Sub(startAt))
		assert.Less(t, lastArrival.Sub(startAt), paced+time.Second, "%s: the last object is due at start_at+%s", name, paced)
		t.Logf("%s: first arrival start_at+%s, last %s later", name, firstArrival.Sub(startAt), lastArrival.Sub(firstArrival))
	}
	// failure: objects 30 s, 40 s, 50 s into the session (batches 10-12).
	check("phases [failure]", phaseSink, map[item]int{{"failure", 10}: 2, {"failure", 11}: 2, {"failure", 12}: 2}, 2*time.Second)
	// [15 s, 35 s): the objects at 20 s (baseline) and 30 s (failure).
	check("time_range 15s-35s", rangeSink, map[item]int{{"baseline", 2}: 2, {"failure", 10}: 2}, time.Second)
	for name, p := range map[string]*otelcoltest.Collector{"phases": phase, "time_range": ranged} {
		fin := logFields(t, p, "Replay finished")
		if assert.Len(t, fin, 1, name) {
			assert.EqualValues(t, 0, fin[0]["bad_objects"], name)
			assert.EqualValues(t, 0, fin[0]["dropped_items"], name)
		}
	}
}

// TestOriginalToolingSessionOnS3: a session the original tooling wrote to
// S3 (objects of gzipped OTLP/JSON, a metadata.json without sessionType or
// schemaVersion, id training-…) is found by session auto with filter
// session_type training among newer sessions of ours, and the binary
// replays every span and data point of it, with no bad object.
func TestOriginalToolingSessionOnS3(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	id := "training-20261128T120000Z-1a2b3c4d"
	want := sessiontest.OriginalToolingSession(t, st, id, c0)

	// Newer, larger sessions of ours: without the filter, auto picks one.
	for i, sid := range []string{"capture-newer", "seed-newer"} {
		at := c0.Add(time.Duration(i+1) * time.Hour)
		w := sessiontest.NewWriter(t, st, sid, at)
		if strings.HasPrefix(sid, "seed-") {
			w.Meta.SessionType = sessionstore.SessionTypeSeed
		}
		w.Traces(at, sessiontest.Traces("decoy", 100+i, 20, at))
		w.Complete()
	}

	sink := startFeatureSink(t)
	c := otelcoltest.Launch(t, fmt.Sprintf(`
receivers:
  session_replay:
    store:
%s
    session: auto
    filter: {session_type: training}
    speed: 0
    timestamps: none
exporters:
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
    metrics: {receivers: [session_replay], exporters: [otlp_http]}
`, indent(s3Store(srv, "otel-data"), 6), sink.endpoint), s3Env...)
	c.WaitLog(t, "Replay finished", time.Minute)
	c.Stop(t)

	started := logFields(t, c, "Replaying session")
	require.Len(t, started, 1)
	assert.Equal(t, id, started[0]["session"], "filter session_type training picks the original tooling's session")
	fin := logFields(t, c, "Replay finished")
	require.Len(t, fin, 1)
	assert.Equal(t, id, fin[0]["session"])
	assert.EqualValues(t, 0, fin[0]["bad_objects"], "%v", fin[0])
	assert.EqualValues(t, 4, fin[0]["objects"], "%v", fin[0])
	assert.EqualValues(t, 12, fin[0]["spans"], "%v", fin[0])
	assert.EqualValues(t, 1, fin[0]["data_points"], "%v", fin[0])
	assert.EqualValues(t, 0, fin[0]["dropped_items"], "%v", fin[0])

	require.NoError(t, ptracetest.CompareTraces(want, sink.traces(), ptracetest.IgnoreResourceSpansOrder()),
		"every span of the OTLP/JSON objects, as recorded")
	gotMetrics := sink.metricsReceived()
	require.Equal(t, 1, gotMetrics.DataPointCount())
	got := gotMetrics.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0)
	assert.Equal(t, int64(7), got.IntValue())
	assert.Equal(t, pcommon.NewTimestampFromTime(c0), got.Timestamp())
}

// logFields returns the fields of every log line of c whose message is msg
// (the console encoder's JSON tail).
func logFields(t *testing.T, c *otelcoltest.Collector, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(c.Log(), "\n") {
		i := strings.Index(line, "\t"+msg+"\t{")
		if i < 0 {
			continue
		}
		var fields map[string]any
		require.NoError(t, json.Unmarshal([]byte(line[i+len(msg)+2:]), &fields), "log line %q", line)
		out = append(out, fields)
	}
	return out
}

// featureSink is an OTLP/HTTP receiver (the core otlpreceiver, in the test
// process) for traces and metrics, recording everything that arrives and
// when.
type featureSink struct {
	endpoint string
	mu       sync.Mutex
	batches  []arrivedTraces
	metrics  pmetric.Metrics
	hold     *sinkHold
}

// sinkHold makes the sink hold one request unanswered.
type sinkHold struct {
	at      int  // once this many spans were recorded
	record  bool // record the held request (accepted, the answer lost)
	done    bool
	held    chan int64 // the held object's batch attribute
	release chan struct{}
}

type arrivedTraces struct {
	at time.Time
	td ptrace.Traces
}

// featureSpan is one span as it arrived.
type featureSpan struct {
	arrived      time.Time
	trace        pcommon.TraceID
	span         pcommon.SpanID
	start        pcommon.Timestamp
	phase        string // resource test.phase.name
	batch, index int64  // sessiontest.Traces' span attributes
}

func startFeatureSink(t *testing.T) *featureSink {
	t.Helper()
	s := &featureSink{metrics: pmetric.NewMetrics()}
	traces, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		now := time.Now()
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		s.mu.Lock()
		if h := s.hold; h != nil && !h.done && s.countLocked() >= h.at {
			h.done = true
			if h.record {
				s.batches = append(s.batches, arrivedTraces{now, cp})
			}
			s.mu.Unlock()
			batch := int64(-1)
			if td.SpanCount() > 0 {
				v, _ := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("batch")
				batch = v.Int()
			}
			h.held <- batch
			<-h.release
			return errors.New("sink: held until the sender was killed")
		}
		defer s.mu.Unlock()
		s.batches = append(s.batches, arrivedTraces{now, cp})
		return nil
	})
	require.NoError(t, err)
	metrics, err := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		md.ResourceMetrics().MoveAndAppendTo(s.metrics.ResourceMetrics())
		return nil
	})
	require.NoError(t, err)
	s.endpoint = startOTLPHTTP(t, traces, metrics)
	return s
}

// holdAt makes the sink hold the first request that comes once spans
// spans were recorded: unanswered until release (then answered with an
// error), recorded only if record. held yields that request's "batch"
// attribute.
func (s *featureSink) holdAt(spans int, record bool) (held <-chan int64, release func()) {
	h := &sinkHold{at: spans, record: record, held: make(chan int64, 1), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(h.release) }) }
	return h.held, release
}

func (s *featureSink) spanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countLocked()
}

func (s *featureSink) countLocked() int {
	n := 0
	for _, b := range s.batches {
		n += b.td.SpanCount()
	}
	return n
}

// spans returns every span received so far, in arrival order.
func (s *featureSink) spans() []featureSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []featureSpan
	for _, b := range s.batches {
		rss := b.td.ResourceSpans()
		for i := range rss.Len() {
			phase, _ := rss.At(i).Resource().Attributes().Get(sessionstore.AttrPhaseName)
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					sp := spans.At(k)
					batch, _ := sp.Attributes().Get("batch")
					index, _ := sp.Attributes().Get("index")
					out = append(out, featureSpan{
						arrived: b.at, trace: sp.TraceID(), span: sp.SpanID(), start: sp.StartTimestamp(),
						phase: phase.Str(), batch: batch.Int(), index: index.Int(),
					})
				}
			}
		}
	}
	return out
}

// traces returns everything received so far as one ptrace.Traces.
func (s *featureSink) traces() ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := ptrace.NewTraces()
	for _, b := range s.batches {
		rss := b.td.ResourceSpans()
		for i := range rss.Len() {
			rss.At(i).CopyTo(out.ResourceSpans().AppendEmpty())
		}
	}
	return out
}

// metricsReceived returns a copy of every metric received so far.
func (s *featureSink) metricsReceived() pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := pmetric.NewMetrics()
	s.metrics.CopyTo(out)
	return out
}

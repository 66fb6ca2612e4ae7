package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// arrived is what an OTLP target in a test got: every request's arrival
// time and items, and the traces merged.
type arrived struct {
	mu     sync.Mutex
	times  []time.Time
	items  []int
	traces ptrace.Traces
	points int
}

func newArrived() *arrived { return &arrived{traces: ptrace.NewTraces()} }

func (a *arrived) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (a *arrived) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	a.items = append(a.items, td.SpanCount())
	td.ResourceSpans().MoveAndAppendTo(a.traces.ResourceSpans())
	return nil
}

func (a *arrived) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	a.items = append(a.items, md.DataPointCount())
	a.points += md.DataPointCount()
	return nil
}

// span is the first and last arrival.
func (a *arrived) span() time.Duration {
	first, last := a.times[0], a.times[0]
	for _, t := range a.times {
		first, last = minTime(first, t), maxTime(last, t)
	}
	return last.Sub(first)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// replayInto runs a replay collector with the receiver settings given into
// an OTLP/HTTP target in the test, traces and metrics, until the replay is
// over; it returns its log.
func replayInto(t *testing.T, dir, settings string, target *arrived) string {
	t.Helper()
	endpoint, stop := serveOTLPHTTP(t, target, target)
	c := otelcoltest.Launch(t, `
receivers:
  session_replay:
    store: {backend: filesystem, directory: `+dir+`}
`+settings+`
exporters:
  otlp_http: {endpoint: "http://`+endpoint+`", sending_queue: {enabled: false}}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
    metrics: {receivers: [session_replay], exporters: [otlp_http]}
`)
	c.WaitLog(t, "Replay finished", 2*time.Minute)
	c.Stop(t)
	stop()
	return c.Log()
}

// TestFastSeedReplaysOverItsOwnTime: make validate's seed (payment-failure,
// 30 s, clock: fast: captured in a moment) replayed at speed 1 lasts its
// 30 s, ±3 %, with traffic in every one of its seconds; time_range
// {10s, 20s} on it delivers exactly the items whose event time is in that
// range.
func TestFastSeedReplaysOverItsOwnTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runSeed(t, "CAPTURE_DIR="+dir)
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	id := checkSeedSession(t, st)
	stored := sessiontest.Read(t, st, id)
	require.NotNil(t, stored.Meta.EventTimeRange)
	events := stored.Meta.EventTimeRange.Start

	paced := newArrived()
	log := replayInto(t, dir, "    session: "+id+"\n    speed: 1\n    timestamps: none", paced)
	assert.Contains(t, log, `"pace_by": "event_time"`, "auto: the seed's events outrun its capture")
	lasted := paced.span()
	t.Logf("replayed in %s over %d requests", lasted, len(paced.times))
	assert.InDelta(t, 30*time.Second, lasted, float64(900*time.Millisecond), "30 s ± 3 %%")
	seconds := map[int]bool{}
	for _, at := range paced.times {
		seconds[int(at.Sub(paced.times[0])/time.Second)] = true
	}
	for s := range 30 {
		assert.True(t, seconds[s], "traffic in second %d", s)
	}
	assert.Equal(t, stored.Traces.SpanCount(), paced.traces.SpanCount())
	assert.Equal(t, stored.Metrics.DataPointCount(), paced.points)

	// time_range 10s..20s: exactly the items of that event time.
	from, to := events.Add(10*time.Second), events.Add(20*time.Second)
	in := func(ts pcommon.Timestamp) bool { return !ts.AsTime().Before(from) && ts.AsTime().Before(to) }
	wantSpans := map[pcommon.SpanID]int{}
	for _, sp := range pdatawalk.Spans(stored.Traces) {
		if in(sp.StartTimestamp()) {
			wantSpans[sp.SpanID()]++
		}
	}
	wantPoints := 0
	for _, m := range pdatawalk.Metrics(stored.Metrics) {
		for i := range pdatawalk.DataPointCount(m) {
			if in(pdatawalk.DataPointTime(m, i)) {
				wantPoints++
			}
		}
	}
	require.NotEmpty(t, wantSpans)
	part := newArrived()
	replayInto(t, dir, "    session: "+id+"\n    speed: 0\n    timestamps: none\n    time_range: {start: 10s, end: 20s}", part)
	assert.Equal(t, wantSpans, sessiontest.SpanIDs(part.traces), "the spans of 10s..20s, each once")
	assert.Equal(t, wantPoints, part.points, "the data points of 10s..20s")
}

// TestCopiesMultiplyTheRate: copies: 3 at speed 1 delivers 3x the items at
// 3x the recorded rate (within 5 %), no trace id in two copies, every
// parent within its copy.
func TestCopiesMultiplyTheRate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	c0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	w := sessiontest.NewWriter(t, st, "recorded", c0)
	recorded := 0
	for i := range 31 {
		at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
		td := sessiontest.RealisticTraces(uint64(i), 40, at)
		recorded += td.SpanCount()
		w.Traces(at, td)
	}
	w.Complete()
	recordedRate := float64(recorded) / 3.0 // spans per second over its 3 s

	got := newArrived()
	replayInto(t, dir, "    session: recorded\n    speed: 1\n    copies: 3", got)
	require.Equal(t, 3*recorded, got.traces.SpanCount(), "three copies of every span")
	rate := float64(got.traces.SpanCount()-got.items[len(got.items)-1]) / got.span().Seconds()
	t.Logf("recorded %.0f spans/s, arrived %.0f spans/s (%.3fx)", recordedRate, rate, rate/recordedRate)
	assert.InDelta(t, 3, rate/recordedRate, 0.15, "3x the recorded rate, within 5 %%")

	copyOf := map[pcommon.TraceID]string{}
	spansOf := map[string]map[pcommon.SpanID]bool{}
	for _, rs := range got.traces.ResourceSpans().All() {
		inst, ok := rs.Resource().Attributes().Get("service.instance.id")
		require.True(t, ok, "every resource says its copy")
		c := inst.Str()
		if spansOf[c] == nil {
			spansOf[c] = map[pcommon.SpanID]bool{}
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if other, seen := copyOf[sp.TraceID()]; seen && other != c {
					t.Fatalf("trace %s in copies %s and %s", sp.TraceID(), other, c)
				}
				copyOf[sp.TraceID()] = c
				spansOf[c][sp.SpanID()] = true
			}
		}
	}
	for _, rs := range got.traces.ResourceSpans().All() {
		inst, _ := rs.Resource().Attributes().Get("service.instance.id")
		for _, sp := range pdatawalk.Spans(ptraceOf(rs)) {
			if !sp.ParentSpanID().IsEmpty() {
				require.True(t, spansOf[inst.Str()][sp.ParentSpanID()], "parent of a span of %s within its copy", inst.Str())
			}
		}
	}
}

func ptraceOf(rs ptrace.ResourceSpans) ptrace.Traces {
	td := ptrace.NewTraces()
	rs.CopyTo(td.ResourceSpans().AppendEmpty())
	return td
}

// TestIncidentWindowAcrossRotatedSessions: a capture rotated every second
// into several sessions; a window spanning three of them, replayed with
// sessions: [...] and an absolute time_range, is one timeline: every span
// of the window once, one time shift for all, paced (lateness p99 from the
// replay's summary; held to 10 ms with RECORDREPLAY_STRICT_PACING=1, where
// the machine is otherwise idle).
func TestIncidentWindowAcrossRotatedSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	capture := otelcoltest.Start(t, `
extensions:
  health_check: {endpoint: "{{HEALTH}}"}
receivers:
  otlp:
    protocols:
      http: {endpoint: "{{HTTP}}"}
exporters:
  session_capture:
    store: {backend: filesystem, directory: `+dir+`}
    session: {id: incident, max_duration: 1s}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [session_capture]}
`)
	for i := range 45 {
		capture.SendTracesHTTP(t, sessiontest.Traces("checkout", i, 10, time.Now()))
		time.Sleep(100 * time.Millisecond)
	}
	capture.Stop(t)
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	ids := sessiontest.IDs(t, st)
	require.GreaterOrEqual(t, len(ids), 4, "rotated every second: %v", ids)
	window := []string{"incident-2", "incident-3", "incident-4"}
	var stored []sessiontest.Stored
	for _, id := range window {
		stored = append(stored, sessiontest.Read(t, st, id))
	}
	// From the middle of the first to the middle of the third.
	mid := func(s sessiontest.Stored) time.Time {
		r := s.Meta.EventTimeRange
		return r.Start.Add(r.End.Sub(r.Start) / 2)
	}
	from, to := mid(stored[0]), mid(stored[2])
	want := map[pcommon.SpanID]int{}
	for _, s := range stored {
		for _, sp := range pdatawalk.Spans(s.Traces) {
			if at := sp.StartTimestamp().AsTime(); !at.Before(from) && at.Before(to) {
				want[sp.SpanID()]++
			}
		}
	}
	require.Greater(t, len(want), 100)

	got := newArrived()
	log := replayInto(t, dir, fmt.Sprintf("    sessions: [%s, %s, %s]\n    speed: 1\n    timestamps: relative\n    time_range: {start: %q, end: %q}",
		window[2], window[0], window[1], from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano)), got)
	assert.Equal(t, want, sessiontest.SpanIDs(got.traces), "every span of the window, once")
	// One shift: each span moved by the same delta (relative).
	original := map[pcommon.SpanID]pcommon.Timestamp{}
	for _, s := range stored {
		for _, sp := range pdatawalk.Spans(s.Traces) {
			original[sp.SpanID()] = sp.StartTimestamp()
		}
	}
	deltas := map[int64]bool{}
	for _, sp := range pdatawalk.Spans(got.traces) {
		deltas[int64(sp.StartTimestamp())-int64(original[sp.SpanID()])] = true
	}
	assert.Len(t, deltas, 1, "one time shift for the whole window")
	p99 := lateness(t, log)
	t.Logf("lateness p99 %s", p99)
	if os.Getenv("RECORDREPLAY_STRICT_PACING") == "1" {
		assert.LessOrEqual(t, p99, 10*time.Millisecond)
	}

	// sessionctl extract cuts the window (whole objects by capture time)
	// into a session of its own, whose counts match what it holds, and
	// which replays like any other.
	objects, spans := 0, 0
	for _, s := range stored {
		for o, err := range sessionstore.ListObjectsByTime(context.Background(), st, s.Meta.SessionID) {
			require.NoError(t, err)
			if !o.CaptureTime.Before(from) && o.CaptureTime.Before(to) {
				b, _, err := sessionstore.ReadObject(context.Background(), st, o, 64<<20)
				require.NoError(t, err)
				objects++
				spans += b.ItemCount()
			}
		}
	}
	out, err := exec.Command(sessionctlBin(t), "--dir", dir, "extract", "--from", from.Format(time.RFC3339Nano),
		"--to", to.Format(time.RFC3339Nano), "--session", window[0], "--session", window[1], "--session", window[2],
		"--id", "incident-window").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("sessionctl extract:\n%s", out)
	extracted := sessiontest.Read(t, st, "incident-window")
	assert.Equal(t, sessionstore.StatusCompleted, extracted.Meta.Status)
	assert.Equal(t, int64(spans), extracted.Meta.CapturedTraces, "metadata counts what it holds")
	assert.Equal(t, spans, extracted.Traces.SpanCount())
	assert.Equal(t, int64(objects), extracted.Meta.Signals[sessionstore.SignalTraces].Objects)
	again := newArrived()
	replayInto(t, dir, "    session: incident-window\n    speed: 0", again)
	assert.Equal(t, spans, again.traces.SpanCount(), "the extract replays whole")
}

// latenessP99 finds it in a summary line (durations are logged in seconds).
var latenessP99 = regexp.MustCompile(`"lateness_p99": ([0-9.e+-]+)`)

// lateness reads the replay summary's lateness p99.
func lateness(t *testing.T, log string) time.Duration {
	t.Helper()
	m := latenessP99.FindAllStringSubmatch(log, -1)
	require.NotEmpty(t, m, "a replay summary with lateness_p99")
	v, err := strconv.ParseFloat(m[len(m)-1][1], 64)
	require.NoError(t, err)
	return time.Duration(math.Round(v * 1e9))
}

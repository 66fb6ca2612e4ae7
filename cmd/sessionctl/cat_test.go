package main

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestCatText(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	code, out, errw := sessionctl(t, "--dir", dir, "cat", "base")
	require.Equal(t, 0, code, errw)
	ls := lines(out)
	require.Len(t, ls, 76+4+12, "one line per span, data point and log record")
	// Capture order: the first object's spans, ..., the logs (third
	// object) after the second object's spans.
	assert.Equal(t, "2026-11-28T22:59:50.000Z traces frontend span \"op-0\" kind=Server trace=00000000000000010000000000000001 span=0000000100000001 parent=- duration=3ms status=Unset {batch=0, index=0}", ls[0])
	assert.Equal(t, "2026-11-28T22:59:50.000Z traces frontend span \"op-2\" kind=Server trace=00000000000000010000000000000001 span=0000000100000003 parent=0000000100000002 duration=3ms status=Unset {batch=0, index=2}", ls[2])
	assert.Regexp(t, `^2026-11-28T23:00:00\.000Z traces checkout span "op-0" `, ls[12])
	assert.Equal(t, "2026-11-28T23:00:10.000Z logs frontend log INFO \"done op-0\" trace=00000000000000010000000000000001 span=0000000100000001 {}", ls[24])
	assert.Regexp(t, `^2026-11-28T23:00:30\.000Z traces frontend span "GET /api/\S+" kind=Server .* status=Unset \{http\.request\.method="GET", `, ls[48])
	assert.Regexp(t, `^2026-11-28T23:00:40\.000Z metrics \S+ point "\S+" (gauge|sum|histogram|exponentialhistogram|summary) `, ls[88])
	var points int
	for _, l := range ls {
		if strings.Contains(l, " metrics ") {
			points++
		}
	}
	assert.Equal(t, 4, points)

	// --signal, and flags after the id.
	code, out, _ = sessionctl(t, "--dir", dir, "cat", "base", "--signal", "logs")
	require.Equal(t, 0, code)
	require.Len(t, lines(out), 12)
	for _, l := range lines(out) {
		assert.Regexp(t, `^\S+ logs frontend log INFO "done op-\d" trace=\w{32} span=\w{16} \{\}$`, l)
	}
}

func TestCatJSON(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "base")
	code, out, errw := sessionctl(t, "--dir", dir, "cat", "--json", "base")
	require.Equal(t, 0, code, errw)
	ls := lines(out)
	require.Len(t, ls, 6, "one line per stored object")
	var spans, points, logs int
	for _, l := range ls {
		switch {
		case strings.HasPrefix(l, `{"resourceSpans":`):
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(l))
			require.NoError(t, err)
			spans += td.SpanCount()
		case strings.HasPrefix(l, `{"resourceMetrics":`):
			md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics([]byte(l))
			require.NoError(t, err)
			points += md.DataPointCount()
		case strings.HasPrefix(l, `{"resourceLogs":`):
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(l))
			require.NoError(t, err)
			logs += ld.LogRecordCount()
		default:
			t.Fatalf("not an OTLP/JSON export request: %.80s", l)
		}
	}
	assert.Equal(t, []int{76, 4, 12}, []int{spans, points, logs})
	// The same bytes as the objects, item for item.
	stored := sessiontest.Read(t, st, "base")
	td := ptrace.NewTraces()
	for _, l := range ls[:2] {
		one, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(l))
		require.NoError(t, err)
		one.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	first := ptrace.NewTraces()
	stored.Traces.ResourceSpans().At(0).CopyTo(first.ResourceSpans().AppendEmpty())
	stored.Traces.ResourceSpans().At(1).CopyTo(first.ResourceSpans().AppendEmpty())
	assert.Equal(t, sessiontest.Canonical(t, first, pmetric.NewMetrics(), plog.NewLogs()), sessiontest.Canonical(t, td, pmetric.NewMetrics(), plog.NewLogs()))

	code, out, _ = sessionctl(t, "--dir", dir, "cat", "--json", "--signal", "metrics", "base")
	require.Equal(t, 0, code)
	assert.Len(t, lines(out), 1)
}

// TestCatBadObjects: a corrupt object and one of an unknown format are
// reported with their keys; the others are printed; the exit status is 1.
func TestCatBadObjects(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "bad", c0)
	w.Traces(c0, sessiontest.Traces("svc", 0, 2, c0))
	notGzip := w.Raw(sessionstore.SignalTraces, c0.Add(time.Second), []byte("not gzip"))
	unknown := w.Raw(sessionstore.SignalLogs, c0.Add(2*time.Second), gzipped(t, []byte{0xff, 0xff, 0xff, 0x01}))
	w.Traces(c0.Add(3*time.Second), sessiontest.Traces("svc", 1, 3, c0))
	w.Complete()
	ctx := context.Background()
	first, err := sessionstore.ReadStored(ctx, st, sessionstore.Object{Key: w.Keys[0]}, 1<<20)
	require.NoError(t, err)
	dupKey, _ := sessionstore.ParseObjectKey(w.Keys[0])
	dupKey.CaptureTime = dupKey.CaptureTime.Add(4 * time.Second)
	require.NoError(t, st.Put(ctx, dupKey.String(), first))

	code, out, errw := sessionctl(t, "--dir", dir, "cat", "bad")
	assert.Equal(t, 1, code)
	assert.Len(t, lines(out), 5, "the good objects are printed, the copy once")
	assert.Contains(t, errw, notGzip+": corrupt object: not gzip")
	assert.Contains(t, errw, unknown+": corrupt object: invalid logs export request")
	assert.Contains(t, errw, dupKey.String()+": skipped: a later copy")
	assert.Contains(t, errw, "sessionctl: cat: 2 bad objects skipped")

	// --max-object-bytes: an object over the cap is bad too.
	code, out, errw = sessionctl(t, "--dir", dir, "cat", "bad", "--signal", "traces", "--max-object-bytes", "64")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Regexp(t, regexp.MustCompile(`object too large`), errw)

	code, _, errw = sessionctl(t, "--dir", dir, "cat", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, `no such session "nope"`)
	code, _, errw = sessionctl(t, "--dir", dir, "cat", "bad", "--signal", "spans")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, `unknown signal "spans"`)
}

// TestCatStreams: cat writes as it reads, object by object, and stops
// reading when stdout fails (cat | head).
func TestCatStreams(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "big", c0)
	for k := range 40 {
		w.Traces(c0.Add(time.Duration(k)*time.Second), sessiontest.RealisticTraces(uint64(k), 800, c0))
	}
	w.Complete()
	fw := &failingWriter{limit: 100 << 10}
	code := run(context.Background(), []string{"--dir", dir, "cat", "big"}, fw, &bytes.Buffer{})
	assert.Equal(t, 2, code, "a closed stdout ends cat")
	assert.Less(t, fw.n, 40*800*200, "it stopped early")

	var out bytes.Buffer
	code = run(context.Background(), []string{"--dir", dir, "cat", "big"}, &out, &bytes.Buffer{})
	require.Equal(t, 0, code)
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	assert.Equal(t, 40*800, n)
}

type failingWriter struct{ n, limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errClosed
	}
	w.n += len(p)
	return len(p), nil
}

var errClosed = &closedError{}

type closedError struct{}

func (*closedError) Error() string { return "write |1: broken pipe" }

// TestPointLines: cat's line for a data point of each metric type, with
// and without the optional fields.
func TestPointLines(t *testing.T) {
	ms := pmetric.NewMetrics().ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty()
	g.SetName("g")
	gp := g.SetEmptyGauge().DataPoints()
	gp.AppendEmpty().SetIntValue(3)
	gp.AppendEmpty().SetDoubleValue(2.5)
	gp.AppendEmpty().Attributes().PutStr("k", "v") // no value
	s := ms.AppendEmpty()
	s.SetName("s")
	s.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(-1)
	h := ms.AppendEmpty()
	h.SetName("h")
	hp := h.SetEmptyHistogram().DataPoints()
	full := hp.AppendEmpty()
	full.SetCount(4)
	full.SetSum(10)
	full.SetMin(1)
	full.SetMax(5)
	full.BucketCounts().FromRaw([]uint64{1, 3})
	hp.AppendEmpty().SetCount(0)
	e := ms.AppendEmpty()
	e.SetName("e")
	ep := e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	ep.SetCount(2)
	ep.SetSum(1.5)
	ep.SetScale(3)
	ep.SetZeroCount(1)
	su := ms.AppendEmpty()
	su.SetName("su")
	sp := su.SetEmptySummary().DataPoints().AppendEmpty()
	sp.SetCount(9)
	sp.SetSum(4.5)
	q := sp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.5)
	q.SetValue(0.25)
	q = sp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.99)
	q.SetValue(2)
	var got []string
	for _, m := range ms.All() {
		got = append(got, pointLines(m)...)
	}
	assert.Equal(t, []string{
		`point "g" gauge value=3 {}`,
		`point "g" gauge value=2.5 {}`,
		`point "g" gauge value=- {k="v"}`,
		`point "s" sum value=-1 {}`,
		`point "h" histogram count=4 sum=10 min=1 max=5 buckets=[1 3] {}`,
		`point "h" histogram count=0 buckets=[] {}`,
		`point "e" exponentialhistogram count=2 sum=1.5 scale=3 zero_count=1 {}`,
		`point "su" summary count=9 sum=4.5 quantiles=[0.5:0.25 0.99:2] {}`,
	}, got)
}

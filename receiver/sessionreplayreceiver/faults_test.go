package sessionreplayreceiver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// seqAttr numbers the objects of a test session in capture order.
const seqAttr = "test.seq"

// sequence records, across all three signals, the seq of every delivered
// batch in delivery order.
type sequence struct {
	mu  sync.Mutex
	got []int
}

func (s *sequence) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sequence) record(res pcommon.Resource) {
	v, _ := res.Attributes().Get(seqAttr)
	s.mu.Lock()
	s.got = append(s.got, int(v.Int()))
	s.mu.Unlock()
}

func (s *sequence) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	s.record(td.ResourceSpans().At(0).Resource())
	return nil
}

func (s *sequence) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.record(md.ResourceMetrics().At(0).Resource())
	return nil
}

func (s *sequence) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.record(ld.ResourceLogs().At(0).Resource())
	return nil
}

func (s *sequence) seqs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.got...)
}

// numberedMixed writes n objects of all three signals in turn, gap apart
// from c0, numbered 0..n-1 in capture order, and returns the numbers.
func numberedMixed(t *testing.T, st sessionstore.Store, id string, c0 time.Time, n int, gap time.Duration) []int {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	want := make([]int, n)
	for i := range n {
		at := c0.Add(time.Duration(i) * gap)
		switch i % 3 {
		case 0:
			td := testdata.GenerateTraces(1)
			td.ResourceSpans().At(0).Resource().Attributes().PutInt(seqAttr, int64(i))
			w.Traces(at, td)
		case 1:
			md := testdata.GenerateMetrics(1)
			md.ResourceMetrics().At(0).Resource().Attributes().PutInt(seqAttr, int64(i))
			w.Metrics(at, md)
		case 2:
			ld := testdata.GenerateLogs(1)
			ld.ResourceLogs().At(0).Resource().Attributes().PutInt(seqAttr, int64(i))
			w.Logs(at, ld)
		}
		want[i] = i
	}
	w.Complete()
	return want
}

// listingBreaksAt fails the k-th listing of the session after points[k]
// entries.
func listingBreaksAt(points ...int) faultstore.Rule {
	return func(c faultstore.Call) faultstore.Fault {
		if c.Op == faultstore.List && c.Attempt < len(points) {
			return faultstore.Fault{Err: errors.New("connection reset by peer"), After: points[c.Attempt]}
		}
		return faultstore.Fault{}
	}
}

func replayAll(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) (*started, *sequence) {
	t.Helper()
	seq := &sequence{}
	rep := startReplayOpts(t, cfg, wrap, seq, seq, seq)
	rep.wait(t, 60*time.Second)
	return rep, seq
}

// TestListingFailuresMidHourSkipNothing: the listing of one hour of mixed
// signals (keys list logs, then metrics, then traces) breaks off at
// several points; the replay resumes and delivers every object exactly
// once, in capture order.
func TestListingFailuresMidHourSkipNothing(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	want := numberedMixed(t, st, "mixed", c0, 90, 10*time.Second) // one hour and a bit
	for _, points := range [][]int{{10}, {5, 20, 41}, {29, 30, 31, 60}} {
		t.Run(fmt.Sprint(points), func(t *testing.T) {
			var fs *faultstore.Store
			rep, seq := replayAll(t, baseConfig(storeCfg, "mixed"), func(s sessionstore.Store) sessionstore.Store {
				fs = faultstore.New(s, listingBreaksAt(points...))
				return fs
			})
			assert.Equal(t, want, seq.seqs(), "every object once, in capture order")
			assert.Equal(t, int64(0), rep.r.lastSummary().badObjects)
			assert.Len(t, fs.Calls(faultstore.List), len(points)+1, "one listing per failure, plus the one that finishes")
		})
	}
}

// TestListingFailuresOnS3WithPagination: the same against the real S3
// server, with more than 1000 keys in one hour, so that the listing spans
// pages and breaks off inside and between them.
func TestListingFailuresOnS3WithPagination(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the S3 server")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pages")
	storeCfg := srv.Config("pages", "")
	st, err := sessionstore.Open(context.Background(), &storeCfg)
	require.NoError(t, err)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	want := numberedMixed(t, st, "pages", c0, 1200, 2*time.Second) // 40 minutes: one hour directory
	var fs *faultstore.Store
	_, seq := replayAll(t, baseConfig(storeCfg, "pages"), func(s sessionstore.Store) sessionstore.Store {
		// Inside the first page, at the end of the first page (1000 keys),
		// inside the second.
		fs = faultstore.New(s, listingBreaksAt(300, 700, 150))
		return fs
	})
	assert.Equal(t, want, seq.seqs(), "every object once, in capture order")
	assert.Len(t, fs.Calls(faultstore.List), 4)
}

// TestEveryBadKeyReportedOncePerPass: stray keys in every hour of the
// session are reported (logged and counted) once in each pass.
func TestEveryBadKeyReportedOncePerPass(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	numberedMixed(t, st, "strays", c0, 30, 6*time.Minute) // three hours
	strays := []string{
		"sessions/strays/raw/2026-11-28/12/notes.txt",
		"sessions/strays/raw/2026-11-28/13/traces-oops.otlp.gz",
		"sessions/strays/raw/2026-11-28/14/zz-later.bin",
	}
	for _, k := range strays {
		require.NoError(t, st.Put(context.Background(), k, []byte("x")))
	}
	cfg := baseConfig(storeCfg, "strays")
	cfg.Loops = 2
	rep, seq := replayAll(t, cfg, nil)
	assert.Len(t, seq.seqs(), 60)
	reported := map[string]int{}
	for _, e := range rep.logs.FilterMessage("Skipping bad object").All() {
		reported[e.ContextMap()["key"].(string)]++
	}
	for _, k := range strays {
		assert.Equal(t, 2, reported[k], "%s: once per pass", k)
	}
	assert.Equal(t, int64(2*len(strays)), rep.r.lastSummary().badObjects)
}

// TestPermanentReadErrorSkipsObject: an object the store will never serve
// (access denied, archived) is skipped, logged and counted, and the replay
// goes on; a transient error on another object is retried and delivered.
func TestPermanentReadErrorSkipsObject(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	numberedMixed(t, st, "denied", c0, 12, time.Second)
	var keys []string
	for o, err := range sessionstore.ListObjectsByTime(context.Background(), st, "denied") {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	denied, flaky := keys[4], keys[7]
	var fs *faultstore.Store
	rep, seq := replayAll(t, baseConfig(storeCfg, "denied"), func(s sessionstore.Store) sessionstore.Store {
		fs = faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
			switch {
			case c.Op == faultstore.Get && c.Key == denied:
				return faultstore.Fault{Err: sessionstore.Permanent(errors.New("InvalidObjectState: the object is archived"))}
			case c.Op == faultstore.Get && c.Key == flaky && c.Attempt < 2:
				return faultstore.Fault{Err: errors.New("connection reset")}
			}
			return faultstore.Fault{}
		})
		return fs
	})
	var got []string
	for _, n := range seq.seqs() {
		got = append(got, strconv.Itoa(n))
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "5", "6", "7", "8", "9", "10", "11"}, got, "all but the denied object")
	assert.Equal(t, int64(1), rep.r.lastSummary().badObjects)
	bad := rep.logs.FilterMessage("Skipping bad object").All()
	require.Len(t, bad, 1)
	assert.Equal(t, denied, bad[0].ContextMap()["key"])
	assert.Contains(t, bad[0].ContextMap()["error"], "InvalidObjectState")
	n := 0
	for _, c := range fs.Calls(faultstore.Get) {
		if c.Key == denied {
			n++
		}
	}
	assert.Equal(t, 1, n, "a permanent error is not retried")
}

// TestOriginalToolingSession: a session written by the original tooling
// (objects of gzipped OTLP/JSON, a metadata.json without sessionType or
// schemaVersion, id training-…) replays like ours, and filter.session_type
// training picks it.
func TestOriginalToolingSession(t *testing.T) {
	storeCfg, st := fsStore(t)
	id := "training-20261128T120000Z-1a2b3c4d"
	want := sessiontest.OriginalToolingSession(t, st, id, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))

	cfg := baseConfig(storeCfg, AutoSession)
	cfg.Filter.SessionType = "training"
	require.NoError(t, cfg.Validate())
	s := newSinks()
	rep := startReplay(t, cfg, s.traces, s.metrics, nil)
	rep.wait(t, 30*time.Second)
	assert.Equal(t, id, rep.r.current().session.SessionID)
	assert.Equal(t, sessionstore.SessionType("training"), rep.r.current().session.SessionType, "inferred from the id")
	got, gotMetrics, _ := merged(s)
	require.NoError(t, ptracetest.CompareTraces(want, got))
	assert.Equal(t, 1, gotMetrics.DataPointCount())
	assert.Equal(t, int64(0), rep.r.lastSummary().badObjects)
}

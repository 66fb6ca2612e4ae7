package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func sessionctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

// fixture writes two sessions: "good" (completed, counts right) and "old"
// (started 40 days ago).
func fixture(t *testing.T) (string, sessionstore.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now().UTC()
	w := sessiontest.NewWriter(t, st, "good", now)
	w.Traces(now, testdata.GenerateTraces(5))
	w.Metrics(now.Add(time.Second), testdata.GenerateMetrics(3))
	w.Logs(now.Add(2*time.Second), testdata.GenerateLogs(4))
	w.Complete()
	old := now.AddDate(0, 0, -40)
	w = sessiontest.NewWriter(t, st, "old", old)
	w.Traces(old, testdata.GenerateTraces(2))
	w.Complete()
	return dir, st
}

func TestListAndShow(t *testing.T) {
	dir, _ := fixture(t)
	code, out, _ := sessionctl(t, "--dir", dir, "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "SESSION")
	assert.Regexp(t, `good\s+capture\s+completed\s+\S+\s+2s\s+5\s+\d+\s+4\s`, out)
	assert.Contains(t, out, "old")

	code, out, _ = sessionctl(t, "--dir", dir, "show", "good")
	require.Equal(t, 0, code)
	var m sessionstore.Metadata
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, "good", m.SessionID)

	code, _, errs := sessionctl(t, "--dir", dir, "show", "../etc")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `invalid session id "../etc"`)
	code, _, errs = sessionctl(t, "--dir", filepath.Join(dir, "nope"), "list")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "store directory")
	code, _, errs = sessionctl(t, "--dir", dir, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `unknown command "frobnicate"`)
}

// TestListSaysWhatASessionMisses: a session whose writer dropped (a tap's
// full queue) or lost items says failed in list, with how many, and show
// prints the counts.
func TestListSaysWhatASessionMisses(t *testing.T) {
	dir, st := fixture(t)
	ctx := context.Background()
	m, err := sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	m.SessionID = "tapped"
	m.Status = sessionstore.StatusFailed
	m.DroppedItems = &sessionstore.ItemCounts{Traces: 120, Logs: 3}
	m.LostItems = &sessionstore.ItemCounts{Metrics: 2}
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))

	code, out, errw := sessionctl(t, "--dir", dir, "list")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `tapped\s+capture\s+failed \(123 dropped, 2 lost\)\s`, out)
	assert.Regexp(t, `good\s+capture\s+completed\s`, out)

	code, out, errw = sessionctl(t, "--dir", dir, "show", "tapped")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, `"droppedItems": {`)
	assert.Contains(t, out, `"traces": 120`)
}

func TestVerifyAndRepair(t *testing.T) {
	dir, st := fixture(t)
	code, out, _ := sessionctl(t, "--dir", dir, "verify", "good")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "good: ok (3 objects, 5 spans")

	// A crash: metadata left active with stale counts, plus a bad object.
	ctx := context.Background()
	m, err := sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	want := *m
	m.Status = sessionstore.StatusActive
	m.EndTime = nil
	m.UpdatedTime = time.Now().Add(-time.Hour) // the crash: an hour ago
	m.CapturedTraces = 1
	m.TotalSizeBytes = 7
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
	badKey := sessionstore.NewObjectKey("good", sessionstore.SignalLogs, time.Now()).String()
	require.NoError(t, st.Put(ctx, badKey, []byte("not gzip")))

	code, out, _ = sessionctl(t, "--dir", dir, "verify", "good")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "capturedTraces: metadata says 1, objects hold 5")
	assert.Contains(t, out, "totalSizeBytes: metadata says 7")
	assert.Contains(t, out, "status is active")
	assert.Contains(t, out, badKey)

	// Two writers' views, stale as the metadata is.
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "collector-a", m))
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "collector-b", m))

	code, out, _ = sessionctl(t, "--dir", dir, "verify", "--repair", "good")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "good: repaired (status completed")
	views, err := sessionstore.ReadWriters(ctx, st, "good")
	require.NoError(t, err)
	require.Len(t, views, 1, "one view of the repaired counts replaces the stale ones")
	for _, v := range views {
		assert.Equal(t, want.CapturedTraces, v.CapturedTraces)
		assert.Equal(t, sessionstore.StatusCompleted, v.Status)
	}
	fixed, err := sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	assert.Equal(t, want.CapturedTraces, fixed.CapturedTraces)
	assert.Equal(t, want.TotalSizeBytes, fixed.TotalSizeBytes)
	assert.Equal(t, want.Signals, fixed.Signals)
	assert.Equal(t, sessionstore.StatusCompleted, fixed.Status)
	require.NotNil(t, fixed.EndTime)
	require.NoError(t, st.Delete(ctx, badKey))
	code, out, _ = sessionctl(t, "--dir", dir, "verify", "good")
	assert.Equal(t, 0, code, out)

	// Metadata lost entirely: rebuilt from the objects.
	require.NoError(t, st.Delete(ctx, sessionstore.MetadataKey("old")))
	code, out, _ = sessionctl(t, "--dir", dir, "verify", "--repair", "old")
	require.Equal(t, 0, code, out)
	rebuilt, err := sessionstore.ReadMetadata(ctx, st, "old")
	require.NoError(t, err)
	assert.Equal(t, int64(2), rebuilt.CapturedTraces)
	assert.False(t, rebuilt.StartTime.IsZero())

	code, _, errs := sessionctl(t, "--dir", dir, "verify", "missing")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `no such session "missing"`)
}

// TestVerifyDuplicates: an object stored twice (same uuid, a later
// millisecond: a redelivery after a crash) is reported by verify, and
// --repair removes the later copy.
func TestVerifyDuplicates(t *testing.T) {
	dir, st := fixture(t)
	ctx := context.Background()
	var first sessionstore.Object
	for o, err := range sessionstore.ListObjects(ctx, st, "good") {
		require.NoError(t, err)
		if o.Signal == sessionstore.SignalTraces {
			first = o
		}
	}
	rc, err := st.Get(ctx, first.Key)
	require.NoError(t, err)
	data, err := sessionstore.ReadAll(rc, 1<<20)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	later := first.ObjectKey
	later.CaptureTime = later.CaptureTime.Add(90 * time.Minute)
	require.NoError(t, st.Put(ctx, later.String(), data))

	code, out, _ := sessionctl(t, "--dir", dir, "verify", "good")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "duplicate")
	assert.Contains(t, out, later.String())
	assert.NotContains(t, out, "capturedTraces", "a duplicate is not counted twice")

	code, out, _ = sessionctl(t, "--dir", dir, "verify", "--repair", "good")
	require.Equal(t, 0, code, out)
	_, err = st.Get(ctx, later.String())
	require.ErrorIs(t, err, sessionstore.ErrNotFound, "the later copy is gone")
	_, err = st.Get(ctx, first.Key)
	require.NoError(t, err, "the first copy stays")
	code, out, _ = sessionctl(t, "--dir", dir, "verify", "good")
	assert.Equal(t, 0, code, out)
}

// TestFutureSchemaVersion: verify reports a metadata.json of an unknown
// schemaVersion and --repair never rewrites it.
func TestFutureSchemaVersion(t *testing.T) {
	dir, st := fixture(t)
	future := []byte(`{"sessionId": "good", "schemaVersion": 2, "status": "completed", "fancy": true}`)
	require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("good"), future))
	code, out, errw := sessionctl(t, "--dir", dir, "verify", "--repair", "good")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, out+errw, "schemaVersion 2")
	got, err := os.ReadFile(filepath.Join(dir, "sessions", "good", "metadata.json"))
	require.NoError(t, err)
	assert.Equal(t, string(future), string(got), "never rewritten")
}

func TestRmAndPrune(t *testing.T) {
	dir, st := fixture(t)
	code, _, errs := sessionctl(t, "--dir", dir, "rm", "good")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "--yes")
	assert.Equal(t, []string{"good", "old"}, sessiontest.IDs(t, st))

	code, out, _ := sessionctl(t, "--dir", dir, "prune", "--older-than", "720h", "--dry-run")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "old: would remove")
	assert.NotContains(t, out, "good")
	assert.Equal(t, []string{"good", "old"}, sessiontest.IDs(t, st))

	code, out, _ = sessionctl(t, "--dir", dir, "prune", "--older-than", "720h")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "old: removed (1 objects)")
	assert.Equal(t, []string{"good"}, sessiontest.IDs(t, st))

	code, out, _ = sessionctl(t, "--dir", dir, "rm", "--yes", "good")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "good: removed (3 objects)")
	assert.Empty(t, sessiontest.IDs(t, st))
	entries, err := os.ReadDir(filepath.Join(dir, "sessions"))
	if err == nil {
		assert.Empty(t, entries, "no empty directories left behind")
	}
}

func TestS3Store(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the S3 server")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "ctl")
	cfg := srv.Config("ctl", "team")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	w := sessiontest.NewWriter(t, st, "on-s3", time.Now())
	w.Traces(time.Now(), testdata.GenerateTraces(3))
	w.Complete()
	t.Setenv("AWS_ACCESS_KEY_ID", s3server.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3server.SecretKey)
	s3 := []string{"--s3-bucket", "ctl", "--s3-prefix", "team", "--s3-endpoint", srv.Endpoint, "--s3-path-style"}
	code, out, errs := sessionctl(t, append(s3, "list")...)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "on-s3")
	code, out, _ = sessionctl(t, append(s3, "verify", "on-s3")...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "on-s3: ok (1 objects, 3 spans")
	code, out, _ = sessionctl(t, append(s3, "cat", "on-s3")...)
	require.Equal(t, 0, code, out)
	assert.Equal(t, 3, strings.Count(out, " traces "), out)
	code, out, _ = sessionctl(t, append(s3, "du", "--decode", "on-s3")...)
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `\ntotal +all +1 +\S+ +\S+ +3\n`, out)
	code, out, _ = sessionctl(t, append(s3, "diff", "--shifted", "on-s3", "on-s3")...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "are equal: 3 spans, 0 data points, 0 log records compared")
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// tracesStartingLikeJSON returns a batch of one span whose protobuf
// starts 0a 7b ("\n{"): its resource message is 123 bytes long.
func tracesStartingLikeJSON(t *testing.T, batch int, at time.Time) ptrace.Traces {
	t.Helper()
	for n := range 123 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", strings.Repeat("s", n))
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("op")
		sp.SetTraceID(pcommon.TraceID{15: byte(batch + 1)})
		sp.SetSpanID(pcommon.SpanID{7: byte(batch + 1)})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Millisecond)))
		raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		if raw[0] == 0x0a && raw[1] == '{' {
			return td
		}
	}
	t.Fatal("no service.name makes the resource message 123 bytes long")
	return ptrace.Traces{}
}

// TestVerifyProtobufStartingLikeJSON: a session whose traces objects all
// start 0a 7b (a first resource message of 123 bytes, "\n{" read as text)
// is protobuf like any other: verify counts every object, cat prints
// every span.
func TestVerifyProtobufStartingLikeJSON(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "brace", c0)
	for i := range 3 {
		at := c0.Add(time.Duration(i) * time.Second)
		w.Traces(at, tracesStartingLikeJSON(t, i, at))
	}
	w.Complete()

	code, out, errw := sessionctl(t, "--dir", dir, "verify", "brace")
	require.Equal(t, 0, code, "%s%s", out, errw)
	assert.Equal(t, "brace: ok (3 objects, 3 spans, 0 data points, 0 log records)\n", out)
	code, out, errw = sessionctl(t, "--dir", dir, "cat", "brace")
	require.Equal(t, 0, code, "%s%s", out, errw)
	assert.Equal(t, 3, strings.Count(out, " traces "), out)
}

// liveWriter is a writer of a session as session_capture is one: it stores
// objects, then its own view (WriteWriter) and metadata.json, the merge of
// every writer's view, as writeViews does.
type liveWriter struct {
	t    *testing.T
	st   sessionstore.Store
	name string
	w    *sessiontest.Writer
}

// writeView stores the writer's view (open, updated now) and the merge.
func (lw *liveWriter) writeView() {
	lw.t.Helper()
	ctx := context.Background()
	view := lw.w.Meta.Clone()
	view.Status, view.EndTime = sessionstore.StatusActive, nil
	view.UpdatedTime = time.Now().UTC()
	require.NoError(lw.t, sessionstore.WriteWriter(ctx, lw.st, lw.name, view))
	views, err := sessionstore.ReadWriters(ctx, lw.st, view.SessionID)
	require.NoError(lw.t, err)
	views[lw.name] = view
	require.NoError(lw.t, sessionstore.WriteMetadata(ctx, lw.st, sessionstore.Merge(views)))
}

// requireCountsOnce fails unless metadata.json counts what the session's
// objects hold, each item once.
func requireCountsOnce(t *testing.T, st sessionstore.Store, id string, msgAndArgs ...any) *sessionstore.Metadata {
	t.Helper()
	ctx := context.Background()
	m, err := sessionstore.ReadMetadata(ctx, st, id)
	require.NoError(t, err)
	rc, err := sessionstore.RecountSession(ctx, st, id, 1<<20)
	require.NoError(t, err)
	require.Equal(t, rc.Counts.CapturedTraces, m.CapturedTraces, msgAndArgs...)
	require.Equal(t, rc.Counts.TotalSizeBytes, m.TotalSizeBytes, msgAndArgs...)
	require.Equal(t, rc.Counts.Signals[sessionstore.SignalTraces].Objects, m.Signals[sessionstore.SignalTraces].Objects, msgAndArgs...)
	require.Equal(t, rc.Counts.Signals[sessionstore.SignalTraces].Items, m.Signals[sessionstore.SignalTraces].Items, msgAndArgs...)
	return m
}

// TestRepairWithLiveWriter: verify --repair of a session that a writer is
// still writing (its view open and rewritten seconds ago; it stored an
// object since) must not make that writer's items count twice when it
// writes its view again: repair refuses, naming the writer and what to do.
// Once the writer has been silent for long (crashed: its view is minutes
// old), repair goes ahead and the counts are the objects'.
func TestRepairWithLiveWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, st := newStore(t)
		now := time.Now()
		lw := &liveWriter{t: t, st: st, name: "collector-a", w: sessiontest.NewWriter(t, st, "live", now)}
		lw.w.Traces(now, testdata.GenerateTraces(5))
		lw.w.Traces(now.Add(time.Second), testdata.GenerateTraces(4))
		lw.writeView()
		// One more object; the writer's next view is due in a few seconds.
		lw.w.Traces(now.Add(2*time.Second), testdata.GenerateTraces(3))
		time.Sleep(5 * time.Second)

		code, out, errw := sessionctl(t, "--dir", dir, "verify", "--repair", "live")
		lw.writeView() // the writer goes on
		requireCountsOnce(t, st, "live", "each span counted once after the writer wrote again; repair said: %s%s", out, errw)
		assert.Equal(t, 1, code, "%s%s", out, errw)
		assert.Contains(t, out+errw, "collector-a", "names the live writer")
		assert.Contains(t, out+errw, "--force")
		views, err := sessionstore.ReadWriters(context.Background(), st, "live")
		require.NoError(t, err)
		assert.Equal(t, []string{"collector-a"}, slices.Collect(maps.Keys(views)), "repair wrote no view of its own")

		// The writer crashes after one more object: its view stays open
		// and ages. Repair then takes the counts from the objects.
		lw.w.Traces(now.Add(3*time.Second), testdata.GenerateTraces(2))
		time.Sleep(time.Hour)
		code, out, errw = sessionctl(t, "--dir", dir, "verify", "--repair", "live")
		require.Equal(t, 0, code, "%s%s", out, errw)
		assert.Contains(t, out, "live: repaired (status completed")
		m := requireCountsOnce(t, st, "live")
		assert.Equal(t, int64(14), m.CapturedTraces)
	})
}

// TestRepairForce: --force repairs a session whose writer looks live (its
// view updated a minute ago) but is known to be gone.
func TestRepairForce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, st := newStore(t)
		now := time.Now()
		lw := &liveWriter{t: t, st: st, name: "collector-a", w: sessiontest.NewWriter(t, st, "s1", now)}
		lw.w.Traces(now, testdata.GenerateTraces(5))
		lw.writeView()
		lw.w.Traces(now.Add(time.Second), testdata.GenerateTraces(4))
		time.Sleep(time.Minute)

		code, out, errw := sessionctl(t, "--dir", dir, "verify", "--repair", "s1")
		require.Equal(t, 1, code, "%s%s", out, errw)
		code, _, errw = sessionctl(t, "--dir", dir, "verify", "--force", "s1")
		require.Equal(t, 2, code)
		assert.Contains(t, errw, "only with --repair")
		code, out, errw = sessionctl(t, "--dir", dir, "verify", "--repair", "--force", "s1")
		require.Equal(t, 0, code, "%s%s", out, errw)
		assert.Contains(t, out, "s1: repaired (status completed")
		requireCountsOnce(t, st, "s1")
	})
}

// TestRepairWithQueuedItems: a collector stopped with items of the
// session still in its persistent queue (its view says so: queuedItems,
// with an end time). verify says so and finds nothing wrong; a repair
// (of an object the metadata lacks) refuses (the collector's next run
// stores the queued items); --force repairs anyway, and those items then
// count as lost.
func TestRepairWithQueuedItems(t *testing.T) {
	dir, st := newStore(t)
	ctx := context.Background()
	now := time.Now()
	w := sessiontest.NewWriter(t, st, "q1", now)
	w.Traces(now, testdata.GenerateTraces(5))
	view := w.Meta.Clone()
	view.Status = sessionstore.StatusActive
	end := now.UTC()
	view.EndTime = &end
	view.QueuedItems = &sessionstore.ItemCounts{Traces: 3}
	view.UpdatedTime = now.UTC()
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "collector-a", view))
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, sessionstore.Merge(map[string]*sessionstore.Metadata{"collector-a": view})))

	code, out, errw := sessionctl(t, "--dir", dir, "verify", "q1")
	require.Equal(t, 0, code, "%s%s", out, errw)
	assert.Contains(t, out, "3 items wait in a stopped collector's persistent queue")
	// An object the metadata does not count (say, a crash elsewhere):
	// something to repair.
	w.Traces(now.Add(time.Second), testdata.GenerateTraces(2))
	code, out, errw = sessionctl(t, "--dir", dir, "verify", "--repair", "q1")
	require.Equal(t, 1, code, "%s%s", out, errw)
	assert.Contains(t, errw, "persistent queue")
	code, out, errw = sessionctl(t, "--dir", dir, "verify", "--repair", "--force", "q1")
	require.Equal(t, 0, code, "%s%s", out, errw)
	assert.Contains(t, out, "q1: repaired (status failed")
	m := requireCountsOnce(t, st, "q1")
	require.NotNil(t, m.LostItems)
	assert.Equal(t, int64(3), m.LostItems.Traces, "the queued items that never came count as lost")
	assert.Nil(t, m.QueuedItems)
}

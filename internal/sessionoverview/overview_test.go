package sessionoverview

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// session writes 10 objects one second apart: in phase "baseline" (0-4) the
// checkout service's spans all succeed; in "failure" (5-9) every second
// span of checkout fails, and payments logs an error per object. One
// object is corrupt.
func session(t *testing.T) (sessionstore.Store, time.Time) {
	t.Helper()
	st, err := sessionstore.OpenFilesystem(t.TempDir())
	require.NoError(t, err)
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "s", c0)
	for i := range 10 {
		at := c0.Add(time.Duration(i) * time.Second)
		phase := "baseline"
		if i >= 5 {
			phase = "failure"
		}
		td := sessiontest.Traces("checkout", i, 4, at)
		for j, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			sp.Attributes().PutStr(sessionstore.AttrPhaseName, phase)
			if phase == "failure" && j%2 == 0 {
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		w.Traces(at, td)
		if phase == "failure" {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", "payments")
			rl.Resource().Attributes().PutStr(sessionstore.AttrPhaseName, phase)
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetSeverityNumber(plog.SeverityNumberError)
			w.Logs(at, ld)
		}
	}
	m := w.Complete()
	require.NoError(t, sessionstore.WriteWriter(context.Background(), st, "collector-a", m))
	bad := sessionstore.NewObjectKey("s", sessionstore.SignalTraces, c0.Add(3500*time.Millisecond)).String()
	require.NoError(t, st.Put(context.Background(), bad, []byte("not gzip")))
	return st, c0
}

func TestCompute(t *testing.T) {
	st, c0 := session(t)
	o, err := Compute(context.Background(), st, "s", Options{Buckets: 10})
	require.NoError(t, err)
	assert.Equal(t, "s", o.Session)
	assert.Equal(t, "event_time", o.Clock)
	assert.True(t, c0.Equal(o.From), "%s", o.From)
	assert.True(t, c0.Add(9*time.Second+6*time.Millisecond).Equal(o.To), "%s: the last span's end", o.To)
	assert.Equal(t, 1, o.Sampled, "every object read")
	assert.Equal(t, map[sessionstore.Signal]int64{sessionstore.SignalTraces: 11, sessionstore.SignalLogs: 5}, o.Objects)
	assert.EqualValues(t, 1, o.BadObjects)
	require.Len(t, o.BadKeys, 1)

	// 10 buckets over 9.006 s: one object's spans per bucket; the log
	// records, which have no time, at their objects' capture times
	assert.Equal(t, []int64{4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, o.Timeline[sessionstore.SignalTraces])
	assert.Equal(t, []int64{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, o.Timeline[sessionstore.SignalLogs])
	assert.Equal(t, int64(901), o.BucketMillis)

	assert.Equal(t, []Service{
		{Name: "checkout", Spans: 40, ErrorSpans: 10},
		{Name: "payments", LogRecords: 5, ErrorLogs: 5},
	}, o.Services)
	assert.Equal(t, []Phase{
		{Name: "baseline", Items: 20, Errors: 0},
		{Name: "failure", Items: 25, Errors: 15},
	}, o.Phases)
	require.Len(t, o.Writers, 1)
	assert.Equal(t, "collector-a", o.Writers[0].ID)
	assert.Equal(t, sessionstore.StatusCompleted, o.Writers[0].Status)
	assert.EqualValues(t, 45, o.Writers[0].Items)
}

// TestComputeSamples: past MaxObjects, one object in k is read, and the
// overview says so; what it counts is what it read.
func TestComputeSamples(t *testing.T) {
	st, _ := session(t)
	o, err := Compute(context.Background(), st, "s", Options{Buckets: 10, MaxObjects: 8})
	require.NoError(t, err)
	assert.Equal(t, 2, o.Sampled)
	assert.Equal(t, map[sessionstore.Signal]int64{sessionstore.SignalTraces: 11, sessionstore.SignalLogs: 5}, o.Objects, "listing counts them all")
	var read int64
	for _, n := range o.Timeline[sessionstore.SignalTraces] {
		read += n
	}
	assert.Less(t, read, int64(40))
	assert.Positive(t, read)
}

func TestComputeRefusesBadInput(t *testing.T) {
	st, _ := session(t)
	_, err := Compute(context.Background(), st, "../x", Options{})
	require.Error(t, err)
	_, err = Compute(context.Background(), st, "missing", Options{})
	require.ErrorIs(t, err, sessionstore.ErrNotFound)
}

// TestComputeClocks: a session captured in an instant whose items span
// ten seconds (a seed made with clock: fast) shows its traffic over event
// time; without an event time range in its metadata, the timeline runs on
// capture time.
func TestComputeClocks(t *testing.T) {
	st, err := sessionstore.OpenFilesystem(t.TempDir())
	require.NoError(t, err)
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "fast", c0)
	for i := range 10 {
		w.Traces(c0.Add(time.Duration(i)*time.Millisecond), sessiontest.Traces("svc", i, i+1, c0.Add(time.Duration(i)*time.Second)))
	}
	m := w.Complete()
	require.NotNil(t, m.EventTimeRange)
	o, err := Compute(context.Background(), st, "fast", Options{Buckets: 10})
	require.NoError(t, err)
	assert.Equal(t, "event_time", o.Clock)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, o.Timeline[sessionstore.SignalTraces], "as the traffic rose")

	m.EventTimeRange = nil
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))
	o, err = Compute(context.Background(), st, "fast", Options{Buckets: 10})
	require.NoError(t, err)
	assert.Equal(t, "capture_time", o.Clock)
	assert.True(t, c0.Equal(o.From))
	assert.True(t, c0.Add(9*time.Millisecond).Equal(o.To))
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, o.Timeline[sessionstore.SignalTraces], "a bucket per object's capture time")
}

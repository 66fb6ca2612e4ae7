package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// r0 is the first capture time of the rotated sessions: thirty seconds
// before an hour ends, so that the window crosses an hour directory.
var r0 = time.Date(2026, 11, 28, 22, 59, 30, 0, time.UTC)

const ms = time.Millisecond

func rt(d time.Duration) time.Time { return r0.Add(d) }

// The window of the rotated sessions' tests: from the capture time of one
// of rot-1's objects (taken: from is inclusive) to that of one of rot-3's
// (left: to is exclusive).
var (
	winFrom = rt(10 * time.Second)
	winTo   = rt(70 * time.Second)
)

// rotated writes three sessions rotated from one capture, 30 s each:
// rot-1 and rot-2 completed, rot-3 failed (it lost 5 spans). rot-1 has an
// object a millisecond before the window and one at its first instant;
// rot-3 one at its last millisecond and one at its end; rot-2 a metrics
// and a traces object captured in the same millisecond.
func rotated(t *testing.T, st sessionstore.Store) {
	t.Helper()
	w := sessiontest.NewWriter(t, st, "rot-1", rt(0))
	w.Traces(rt(0), treeTraces("frontend", 0, 8, rt(0)))
	w.Traces(winFrom.Add(-ms), treeTraces("frontend", 1, 4, winFrom.Add(-ms)))
	first := treeTraces("frontend", 2, 12, winFrom)
	w.Traces(winFrom, first)
	w.Logs(rt(20*time.Second), logsFor(first, rt(20*time.Second)))
	w.Complete()

	w = sessiontest.NewWriter(t, st, "rot-2", rt(30*time.Second))
	w.Traces(rt(30*time.Second), treeTraces("checkout", 3, 12, rt(30*time.Second)))
	w.Metrics(rt(40*time.Second), testdata.GenerateMetrics(2))
	w.Traces(rt(40*time.Second), sessiontest.RealisticTraces(7, 20, rt(40*time.Second))) // 16 spans
	w.Logs(rt(50*time.Second), testdata.GenerateLogs(5))
	w.Complete()

	w = sessiontest.NewWriter(t, st, "rot-3", rt(60*time.Second))
	w.Traces(rt(60*time.Second), treeTraces("frontend", 4, 12, rt(60*time.Second)))
	w.Traces(winTo.Add(-ms), treeTraces("frontend", 5, 4, winTo.Add(-ms)))
	w.Traces(winTo, treeTraces("frontend", 6, 8, winTo))
	w.Metrics(rt(80*time.Second), testdata.GenerateMetrics(1))
	m := w.Complete()
	m.Status = sessionstore.StatusFailed
	m.LostItems = &sessionstore.ItemCounts{Traces: 5}
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))
}

// others writes a session outside the window ("later", completed) and
// one overlapping it that is still being written ("live", active).
func others(t *testing.T, st sessionstore.Store) {
	t.Helper()
	w := sessiontest.NewWriter(t, st, "later", rt(2*time.Hour))
	w.Traces(rt(2*time.Hour), treeTraces("frontend", 7, 4, rt(2*time.Hour)))
	w.Complete()
	w = sessiontest.NewWriter(t, st, "live", rt(0))
	w.Traces(rt(15*time.Second), treeTraces("frontend", 8, 4, rt(15*time.Second)))
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, w.Meta)) // active
}

// windowed is what the sessions hold in [from, to), read from the
// sources: the objects (in capture order) and the metadata of a session
// that held just them, counted object by object.
type windowed struct {
	objects []sessionstore.Object
	counts  *sessionstore.Metadata
	per     map[string]*sessionstore.Metadata
}

func inWindow(t *testing.T, st sessionstore.Store, from, to time.Time, ids ...string) windowed {
	t.Helper()
	ctx := context.Background()
	w := windowed{counts: sessionstore.NewMetadata("x", sessionstore.SessionTypeCapture, from, ""), per: map[string]*sessionstore.Metadata{}}
	for _, id := range ids {
		w.per[id] = sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, from, "")
		for o, err := range sessionstore.ListObjectsByTime(ctx, st, id) {
			require.NoError(t, err)
			if o.CaptureTime.Before(from) || !o.CaptureTime.Before(to) {
				continue
			}
			b, raw, err := sessionstore.ReadObject(ctx, st, o, 64<<20)
			if errors.Is(err, sessionstore.ErrCorrupt) {
				continue
			}
			require.NoError(t, err)
			w.objects = append(w.objects, o)
			for _, m := range []*sessionstore.Metadata{w.counts, w.per[id]} {
				m.Add(o.Signal, o.CaptureTime, int64(b.ItemCount()), int64(raw), o.Size)
				m.ExtendEventTime(b.EventRange())
			}
		}
	}
	slices.SortStableFunc(w.objects, func(a, b sessionstore.Object) int { return a.CaptureTime.Compare(b.CaptureTime) })
	return w
}

// requireExtracted checks that session id holds exactly the objects of
// want, under its own keys with their capture times and uuids, listed in
// capture order, and a completed metadata.json whose counts are those of
// the objects, which verify finds right (on the store in dir, if any).
func requireExtracted(t *testing.T, st sessionstore.Store, dir, id string, want windowed) *sessionstore.Metadata {
	t.Helper()
	ctx := context.Background()
	var wantKeys, gotKeys []string
	var wantTimes, gotTimes []time.Time
	for _, o := range want.objects {
		k := o.ObjectKey
		k.SessionID = id
		wantKeys = append(wantKeys, k.String())
		wantTimes = append(wantTimes, o.CaptureTime)
	}
	for o, err := range sessionstore.ListObjectsByTime(ctx, st, id) {
		require.NoError(t, err)
		gotKeys = append(gotKeys, o.Key)
		gotTimes = append(gotTimes, o.CaptureTime)
	}
	assert.ElementsMatch(t, wantKeys, gotKeys, "the window's objects, keys keeping their capture time and uuid")
	assert.Equal(t, wantTimes, gotTimes, "listed in the same capture order")

	stored := sessiontest.Read(t, st, id) // decodes every object: none is bad
	sessiontest.CheckCounts(t, stored)
	m := stored.Meta
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	assert.Equal(t, want.counts.CapturedTraces, m.CapturedTraces, "spans")
	assert.Equal(t, want.counts.CapturedMetrics, m.CapturedMetrics, "data points")
	assert.Equal(t, want.counts.CapturedLogs, m.CapturedLogs, "log records")
	assert.Equal(t, want.counts.TotalSizeBytes, m.TotalSizeBytes)
	assert.Equal(t, want.counts.Signals, m.Signals)
	assert.Equal(t, want.counts.EventTimeRange, m.EventTimeRange)
	first, last := want.counts.CaptureRange()
	assert.Equal(t, first, m.StartTime, "starts at its first object")
	require.NotNil(t, m.EndTime)
	assert.Equal(t, last, *m.EndTime, "ends at its last object")

	if dir != "" {
		code, out, errw := sessionctl(t, "--dir", dir, "verify", id)
		assert.Equal(t, 0, code, out+errw)
	}
	return m
}

// extractOn runs extract on st directly (a store the flags cannot name:
// wrapped in a faultstore).
func extractOn(t *testing.T, st sessionstore.Store, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	c := &cli{ctx: context.Background(), st: st, out: &out, errw: &errw}
	code := c.extract(args)
	return code, out.String(), errw.String()
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// TestExtractWindowAcrossSessions: a window spanning three rotated
// sessions, without --session: every completed or failed session whose
// capture times overlap it is used (the active one is skipped and said
// so), the objects captured in [from, to) are copied (hard links on a
// directory) and the new session's counts are those of the objects.
func TestExtractWindowAcrossSessions(t *testing.T) {
	dir, st := newStore(t)
	rotated(t, st)
	others(t, st)

	code, out, errw := sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo),
		"--id", "incident-42", "--label", "incident=42", "--label", "env=prod", "--description", "checkout errors")
	require.Equal(t, 0, code, out+errw)

	want := inWindow(t, st, winFrom, winTo, "rot-1", "rot-2", "rot-3")
	require.Len(t, want.objects, 8, "rot-1: 2, rot-2: 4, rot-3: 2")
	m := requireExtracted(t, st, dir, "incident-42", want)
	assert.Equal(t, sessionstore.SessionTypeCapture, m.SessionType)
	assert.Equal(t, map[string]string{"incident": "42", "env": "prod"}, m.Labels)
	assert.Equal(t, "checkout errors", m.Description)
	assert.Equal(t, "sessions/incident-42", m.S3Prefix)
	require.NotNil(t, m.ExtractedFrom)
	assert.Equal(t, winFrom, m.ExtractedFrom.From)
	assert.Equal(t, winTo, m.ExtractedFrom.To)
	var used []string
	for _, s := range m.ExtractedFrom.Sessions {
		used = append(used, s.Session)
		p := want.per[s.Session]
		require.NotNil(t, p, s.Session)
		assert.Equal(t, p.CapturedTraces, s.Items.Traces, s.Session)
		assert.Equal(t, p.CapturedMetrics, s.Items.Metrics, s.Session)
		assert.Equal(t, p.CapturedLogs, s.Items.Logs, s.Session)
		assert.Equal(t, p.TotalSizeBytes, s.StoredBytes, s.Session)
	}
	assert.Equal(t, []string{"rot-1", "rot-2", "rot-3"}, used, "in capture order; later and live are not used")
	assert.Equal(t, sessionstore.StatusFailed, m.ExtractedFrom.Sessions[2].Status)
	assert.Equal(t, int64(2), m.ExtractedFrom.Sessions[0].Objects)

	// The window's edges: from inclusive, to exclusive.
	assert.Equal(t, winFrom, want.objects[0].CaptureTime, "the object captured at from is taken")
	for _, o := range want.objects {
		assert.False(t, o.CaptureTime.Before(winFrom), o.Key)
		assert.True(t, o.CaptureTime.Before(winTo), o.Key)
	}
	assert.Equal(t, winTo.Add(-ms), want.objects[len(want.objects)-1].CaptureTime, "the object a millisecond before to is taken")

	// Hard links: the copy is the same file.
	src, err := os.Stat(filepath.Join(dir, want.objects[0].Key))
	require.NoError(t, err)
	k := want.objects[0].ObjectKey
	k.SessionID = "incident-42"
	dst, err := os.Stat(filepath.Join(dir, k.String()))
	require.NoError(t, err)
	assert.True(t, os.SameFile(src, dst), "a hard link")

	// The output: a line per session used, the skipped one, the totals.
	ls := lines(out)
	require.Len(t, ls, 5, out)
	assert.Equal(t, "from rot-1, completed: 2 objects, 12 spans, 0 data points, 12 log records", ls[0])
	assert.Regexp(t, `^from rot-2, completed: 4 objects, 28 spans, \d+ data points, 5 log records$`, ls[1])
	assert.Equal(t, "from rot-3, failed (5 lost): 2 objects, 16 spans, 0 data points, 0 log records", ls[2])
	assert.Equal(t, "skipped live: active (still being written; --session live takes what it has stored so far)", ls[3])
	assert.Regexp(t, `^incident-42: completed, 8 objects \(\S+ stored\), 56 spans, \d+ data points, 17 log records; `+
		`captured 2026-11-28T22:59:40Z to 2026-11-28T23:00:39.999Z, from 3 sessions$`, ls[4])
	assert.Empty(t, errw)

	// It replays like any session: listed completed, du agrees.
	code, out, _ = sessionctl(t, "--dir", dir, "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, `incident-42\s+capture\s+completed\s+2026-11-28T22:59:40Z\s+1m0s\s+56\s`, out)
	code, out, errw = sessionctl(t, "--dir", dir, "du", "--decode", "--json", "incident-42")
	require.Equal(t, 0, code, errw)
	d := duJSON(t, out)[0]
	assert.Equal(t, m.Items(), val(d.Total.Items))
	assert.Equal(t, m.TotalSizeBytes, d.Total.StoredBytes)
	assert.Equal(t, "objects", d.ItemsFrom)
}

// TestExtractSessions: --session names the sessions (any status, in the
// order given); an object whose uuid was copied already (the same batch
// in two sessions: here an extract and its source) is copied once.
func TestExtractSessions(t *testing.T) {
	dir, st := newStore(t)
	rotated(t, st)
	others(t, st)
	code, out, errw := sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "two",
		"--session", "rot-2", "--session", "live", "--session", "rot-2")
	require.Equal(t, 0, code, out+errw)
	want := inWindow(t, st, winFrom, winTo, "rot-2", "live")
	m := requireExtracted(t, st, dir, "two", want)
	require.Len(t, m.ExtractedFrom.Sessions, 2, "rot-2 once")
	assert.Equal(t, "rot-2", m.ExtractedFrom.Sessions[0].Session)
	assert.Equal(t, sessionstore.StatusActive, m.ExtractedFrom.Sessions[1].Status)
	assert.Contains(t, out, "from live, active: 1 objects, 4 spans, 0 data points, 0 log records\n")

	// From the extract and its sources: rot-2's objects of the window are
	// in "two" already, under the same uuids.
	code, out, errw = sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "three",
		"--session", "two", "--session", "rot-2", "--session", "rot-1", "--json")
	require.Equal(t, 0, code, out+errw)
	want = inWindow(t, st, winFrom, winTo, "two", "rot-1")
	requireExtracted(t, st, dir, "three", want)
	var rep extractReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Sources, 3)
	assert.Equal(t, int64(4), rep.Sources[1].Duplicates, "rot-2's objects, copied from two already")
	assert.Equal(t, int64(0), rep.Sources[1].Objects)
	assert.Equal(t, "three", rep.Session)
	assert.Equal(t, int64(len(want.objects)), rep.Objects)
	assert.Equal(t, want.counts.Items(), rep.Items.Total())
	assert.Equal(t, 1, strings.Count(out, "\n"), "one JSON object")

	// A seed session alone gives a seed session.
	sessiontest.SeedPhases(t, st, "seed-1", rt(0))
	code, out, errw = sessionctl(t, "--dir", dir, "extract", "--from", rfc(rt(0)), "--to", rfc(rt(30*time.Second)), "--id", "seed-part",
		"--session", "seed-1")
	require.Equal(t, 0, code, out+errw)
	m = requireExtracted(t, st, dir, "seed-part", inWindow(t, st, rt(0), rt(30*time.Second), "seed-1"))
	assert.Equal(t, sessionstore.SessionTypeSeed, m.SessionType)
	assert.Equal(t, int64(6), m.CapturedTraces, "the baseline phase")
}

// TestExtractRefuses: a taken id, a hostile one, a bad window, an unknown
// session, the leftovers of an interrupted extract; nothing is written.
func TestExtractRefuses(t *testing.T) {
	dir, st := newStore(t)
	rotated(t, st)
	ctx := context.Background()
	half := sessionstore.ObjectKey{SessionID: "half", Signal: sessionstore.SignalTraces, CaptureTime: winFrom,
		ID: "9d5c1d0e-0f3a-4b55-8d4e-7f1a2b3c4d5e"}.String()
	require.NoError(t, st.Put(ctx, half, []byte("left by an interrupted extract")))
	window := []string{"--from", rfc(winFrom), "--to", rfc(winTo)}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "rot-2"}, "session rot-2 exists already"},
		{[]string{"--id", "ROT-2"}, `"ROT-2" next to "rot-2"`},
		{[]string{"--id", "../etc"}, `invalid session id "../etc"`},
		{[]string{"--id", "a/b"}, `invalid session id "a/b"`},
		{[]string{"--id", "NUL.json"}, "reserved on Windows"},
		{[]string{"--id", "half"}, "sessions/half/ holds objects but no metadata.json (an interrupted extract?): sessionctl rm --yes half removes them"},
		{[]string{"--id", "x", "--session", "nope"}, `no such session "nope"`},
		{[]string{"--id", "x", "--session", "../etc"}, `invalid session id "../etc"`},
		{[]string{"--id", "x", "--label", "=v"}, `"=v": want key=value`},
		{[]string{"--id", "x", "stray"}, "extract takes no arguments"},
	} {
		code, out, errw := sessionctl(t, append([]string{"--dir", dir, "extract"}, append(window, tc.args...)...)...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, out)
		assert.Contains(t, errw, tc.want, tc.args)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", rfc(winTo)}, "extract needs --from and --to"},
		{[]string{"--from", rfc(winTo), "--to", rfc(winFrom)}, "is not before --to"},
		{[]string{"--from", rfc(winFrom), "--to", rfc(winFrom)}, "is not before --to"},
		{[]string{"--from", "yesterday", "--to", rfc(winTo)}, `--from "yesterday": want an RFC 3339 time`},
		{[]string{"--from", "1h", "--to", "now"}, `--from "1h": a time relative to now needs a sign (-1h)`},
	} {
		code, _, errw := sessionctl(t, append([]string{"--dir", dir, "extract", "--id", "x"}, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, errw, tc.want, tc.args)
	}
	for _, id := range []string{"x", "ROT-2", "../etc"} {
		_, err := os.Stat(filepath.Join(dir, "sessions", id))
		assert.True(t, os.IsNotExist(err), id)
	}

	// A window that holds nothing: no session, exit 1.
	code, out, errw := sessionctl(t, "--dir", dir, "extract", "--from", rfc(rt(time.Hour)), "--to", rfc(rt(2*time.Hour)), "--id", "empty")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, errw, "nothing to extract: no session holds objects captured in [2026-11-28T23:59:30Z, 2026-11-29T00:59:30Z)")
	_, err := os.Stat(filepath.Join(dir, "sessions", "empty"))
	assert.True(t, os.IsNotExist(err))
}

// TestExtractRelativeTimes: --from and --to take a signed duration from
// now, or "now".
func TestExtractRelativeTimes(t *testing.T) {
	dir, st := newStore(t)
	at := time.Now().UTC().Add(-30 * time.Minute).Truncate(ms)
	w := sessiontest.NewWriter(t, st, "recent", at)
	w.Traces(at, treeTraces("frontend", 0, 8, at))
	w.Complete()
	w = sessiontest.NewWriter(t, st, "older", at.Add(-2*time.Hour))
	w.Traces(at.Add(-2*time.Hour), treeTraces("frontend", 1, 8, at.Add(-2*time.Hour)))
	w.Complete()
	code, out, errw := sessionctl(t, "--dir", dir, "extract", "--from", "-1h", "--to", "now", "--id", "last-hour")
	require.Equal(t, 0, code, out+errw)
	m := requireExtracted(t, st, dir, "last-hour", inWindow(t, st, at.Add(-time.Minute), at.Add(time.Minute), "recent"))
	assert.Equal(t, "recent", m.ExtractedFrom.Sessions[0].Session)
	assert.Len(t, m.ExtractedFrom.Sessions, 1)
}

// TestExtractSkipsCorruptObjects: a corrupt object of the window is not
// copied (the new session says completed, with exact counts): it is
// reported, counted in the output and in extractedFrom, and the exit
// status is 1.
func TestExtractSkipsCorruptObjects(t *testing.T) {
	dir, st := newStore(t)
	rotated(t, st)
	w := sessiontest.NewWriter(t, st, "rot-2", rt(30*time.Second))
	bad := w.Raw(sessionstore.SignalTraces, rt(35*time.Second), []byte("junk"))
	code, out, errw := sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "inc")
	assert.Equal(t, 1, code, out+errw)
	assert.Contains(t, errw, bad+": corrupt object: not gzip")
	assert.Regexp(t, `(?m)^from rot-2, completed: 4 objects, 28 spans, \d+ data points, 5 log records; skipped 1 bad object$`, out)
	assert.Regexp(t, `(?m)^inc: completed, 8 objects .*; 1 bad object skipped \(see stderr\)$`, out)
	m := requireExtracted(t, st, dir, "inc", inWindow(t, st, winFrom, winTo, "rot-1", "rot-2", "rot-3"))
	assert.Equal(t, int64(1), m.ExtractedFrom.Sessions[1].BadObjects)
	exists, err := sessionstore.Exists(context.Background(), st, strings.Replace(bad, "sessions/rot-2/", "sessions/inc/", 1))
	require.NoError(t, err)
	assert.False(t, exists, "the bad object is not copied")
}

// TestExtractInterrupted: a store failure part-way leaves the objects
// copied so far and no metadata.json (no completed session); the error
// says how to remove them, and rm does.
func TestExtractInterrupted(t *testing.T) {
	dir, st := newStore(t)
	rotated(t, st)
	fst := faultstore.New(st, func(c faultstore.Call) faultstore.Fault {
		if c.Op == faultstore.Copy && strings.Contains(c.Key, "/2026-11-28/23/") {
			return faultstore.Fault{Err: sessionstore.Permanent(errors.New("access denied"))}
		}
		return faultstore.Fault{}
	})
	code, out, errw := extractOn(t, fst, "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "cut", "--parallel", "1")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, errw, "access denied")
	assert.Contains(t, errw, "sessions/cut/ holds the objects copied so far and no metadata.json: sessionctl rm --yes cut removes them")
	assert.Empty(t, fst.Calls(faultstore.Put), "no metadata.json")
	_, err := sessionstore.ReadMetadata(context.Background(), st, "cut")
	require.ErrorIs(t, err, sessionstore.ErrNotFound)

	code, _, errw = sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "cut")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, "sessionctl rm --yes cut")
	code, out, _ = sessionctl(t, "--dir", dir, "rm", "--yes", "cut")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "cut: removed (2 objects)", "rot-1's, of hour 22")
	code, out, errw = sessionctl(t, "--dir", dir, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "cut")
	require.Equal(t, 0, code, out+errw)
	requireExtracted(t, st, dir, "cut", inWindow(t, st, winFrom, winTo, "rot-1", "rot-2", "rot-3"))
}

// TestExtractS3CopiesServerSide: on S3 every object is a CopyObject (the
// store's Copy; no object passes through sessionctl to be stored again),
// and metadata.json is the one object written, after every copy.
func TestExtractS3CopiesServerSide(t *testing.T) {
	cfg := s3server.StartFake(t, "extract")
	s3, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s3.Close() })
	rotated(t, s3)
	fst := faultstore.New(s3)
	code, out, errw := extractOn(t, fst, "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "inc")
	require.Equal(t, 0, code, out+errw)

	want := inWindow(t, s3, winFrom, winTo, "rot-1", "rot-2", "rot-3")
	copies := fst.Calls(faultstore.Copy)
	assert.Len(t, copies, len(want.objects), "one CopyObject per object")
	puts := fst.Calls(faultstore.Put)
	require.Len(t, puts, 1, "only metadata.json is put")
	assert.Equal(t, sessionstore.MetadataKey("inc"), puts[0].Key)
	all := fst.Calls("")
	assert.Equal(t, faultstore.Put, all[len(all)-1].Op, "metadata.json last")
	stored := sessiontest.Read(t, s3, "inc")
	sessiontest.CheckCounts(t, stored)
	assert.Equal(t, want.counts.Items(), stored.Meta.Items())
	assert.Equal(t, "sessions/inc", stored.Meta.S3Prefix)
}

// TestExtractS3Server: the same against a real S3 server (versitygw),
// through the command line's S3 flags, under a key prefix.
func TestExtractS3Server(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (make unit-test): this test starts the S3 server, versitygw")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "ctl")
	cfg := srv.Config("ctl", "team")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	rotated(t, st)
	t.Setenv("AWS_ACCESS_KEY_ID", s3server.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3server.SecretKey)
	s3 := []string{"--s3-bucket", "ctl", "--s3-prefix", "team", "--s3-endpoint", srv.Endpoint, "--s3-path-style"}
	code, out, errw := sessionctl(t, append(s3, "extract", "--from", rfc(winFrom), "--to", rfc(winTo), "--id", "inc")...)
	require.Equal(t, 0, code, out+errw)
	want := inWindow(t, st, winFrom, winTo, "rot-1", "rot-2", "rot-3")
	stored := sessiontest.Read(t, st, "inc")
	sessiontest.CheckCounts(t, stored)
	assert.Len(t, stored.Objects, len(want.objects))
	assert.Equal(t, want.counts.Items(), stored.Meta.Items())
	assert.Equal(t, "team/sessions/inc", stored.Meta.S3Prefix)
	code, out, _ = sessionctl(t, append(s3, "verify", "inc")...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "inc: ok (8 objects")
}

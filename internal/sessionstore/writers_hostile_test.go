package sessionstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostileWriterFiles are writer files no writer of this project writes:
// corrupt, hand-edited or left by some other tool. Each is either
// unreadable (ErrCorrupt, left out of the merge) or merged safely.
var hostileWriterFiles = []struct {
	name    string
	data    string
	corrupt bool // else read and merged
}{
	{name: "null stats of a signal", data: `{"sessionId": "s1", "signals": {"traces": null}}`, corrupt: true},
	{name: "null stats next to good ones", data: `{"sessionId": "s1", "signals": {"metrics": {"objects": 1, "items": 2}, "logs": null}}`, corrupt: true},
	{name: "unknown signal", data: `{"sessionId": "s1", "signals": {"profiles": {"objects": 1, "items": 2}}}`, corrupt: true},
	{name: "negative capturedTraces", data: `{"sessionId": "s1", "capturedTraces": -5}`, corrupt: true},
	{name: "negative totalSizeBytes", data: `{"sessionId": "s1", "totalSizeBytes": -1}`, corrupt: true},
	{name: "negative signal items", data: `{"sessionId": "s1", "signals": {"traces": {"objects": 1, "items": -3}}}`, corrupt: true},
	{name: "negative lost items", data: `{"sessionId": "s1", "status": "failed", "lostItems": {"logs": -1}}`, corrupt: true},
	{name: "negative phase items", data: `{"sessionId": "s1", "seed": {"pattern": "p", "phases": [{"index": 0, "items": -2}]}}`, corrupt: true},
	{name: "count past 2^53", data: `{"sessionId": "s1", "capturedTraces": 9223372036854775807, "totalSizeBytes": 9223372036854775807}`, corrupt: true},
	{name: "negative schemaVersion", data: `{"sessionId": "s1", "schemaVersion": -1}`, corrupt: true},
	{name: "time past year 9999 in UTC", data: `{"sessionId": "s1", "startTime": "9999-12-31T23:30:00-01:00", "eventTimeRange": {"start": "9999-12-31T23:30:00-01:00", "end": "9999-12-31T23:30:00-01:00"}}`, corrupt: true},
	{name: "time before year 0 in UTC", data: `{"sessionId": "s1", "updatedTime": "0000-01-01T00:30:00+01:00"}`, corrupt: true},
	{name: "count of the wrong type", data: `{"sessionId": "s1", "capturedTraces": "many"}`, corrupt: true},
	{name: "signals an array", data: `{"sessionId": "s1", "signals": [1, 2]}`, corrupt: true},
	{name: "status a number", data: `{"sessionId": "s1", "status": 5}`, corrupt: true},
	{name: "time not a time", data: `{"sessionId": "s1", "startTime": "yesterday"}`, corrupt: true},
	{name: "another session", data: `{"sessionId": "s2", "capturedTraces": 1}`, corrupt: true},
	{name: "json null", data: `null`, corrupt: true},
	{name: "an array", data: `[]`, corrupt: true},
	{name: "empty", data: ``, corrupt: true},
	{name: "cut off", data: `{"sessionId": "s1", "capt`, corrupt: true},

	{name: "only the session id", data: `{"sessionId": "s1"}`},
	{name: "nulls where fields are optional", data: `{"sessionId": "s1", "signals": null, "labels": null, "enabledFlags": null, "seed": null,
		"lostItems": null, "eventTimeRange": null, "endTime": null, "capturedTraces": null, "startTime": null, "status": null}`},
	{name: "null phases and flags", data: `{"sessionId": "s1", "seed": {"pattern": "p", "phases": null}}`},
	{name: "null phase", data: `{"sessionId": "s1", "seed": {"pattern": "p", "phases": [null, {"index": 0, "items": 1, "flags": null}]}}`},
	{name: "null labels and flags", data: `{"sessionId": "s1", "labels": {"a": null}, "enabledFlags": [null, "x"]}`},
	{name: "unknown status", data: `{"sessionId": "s1", "status": "exploded", "capturedLogs": 4}`},
	{name: "empty event time range", data: `{"sessionId": "s1", "eventTimeRange": {}}`},
	{name: "unknown fields", data: `{"sessionId": "s1", "fancy": {"x": [1, null]}, "capturedTraces": 2}`},
}

// goodView is the view of writer "good" that the hostile file sits next
// to.
func goodView() *Metadata {
	t0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	m := NewMetadata("s1", SessionTypeSeed, t0, "good")
	m.Add(SignalTraces, t0.Add(time.Second), 3, 30, 10)
	m.Add(SignalLogs, t0.Add(2*time.Second), 2, 20, 8)
	m.ExtendEventTime(t0, t0.Add(time.Minute))
	m.Seed = &SeedInfo{Pattern: "p", Phases: []Phase{{Index: 0, Items: 5}}}
	return m
}

// checkHostileWriter stores data as writer "bad" of session s1 next to
// writer "good", reads the writers and merges them: no panic; a file that
// is left out is reported as corrupt; the merge counts the good view at
// least, nothing negative, no signal without stats; it can be written as
// metadata.json and read back. It returns the error of reading the
// writers (nil when the file was merged).
func checkHostileWriter(t *testing.T, st Store, data []byte) error {
	t.Helper()
	ctx := context.Background()
	good := goodView()
	require.NoError(t, WriteWriter(ctx, st, "good", good))
	require.NoError(t, st.Put(ctx, WriterKey("s1", "bad"), data))

	var views map[string]*Metadata
	var err error
	require.NotPanics(t, func() { views, err = ReadWriters(ctx, st, "s1") })
	if errors.Is(err, ErrUnsupportedVersion) {
		return err // a newer release's file: the session is not this build's to merge
	}
	readErr := err
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, WriterKey("s1", "bad"), "the error names the file")
		require.NotContains(t, views, "bad")
	} else {
		require.Contains(t, views, "bad")
	}
	require.Contains(t, views, "good", "an unreadable writer file costs no other writer's view")

	var m *Metadata
	require.NotPanics(t, func() { m = Merge(views) })
	require.NotNil(t, m)
	require.GreaterOrEqual(t, m.CapturedTraces, good.CapturedTraces)
	require.GreaterOrEqual(t, m.CapturedMetrics, int64(0))
	require.GreaterOrEqual(t, m.CapturedLogs, good.CapturedLogs)
	require.GreaterOrEqual(t, m.TotalSizeBytes, good.TotalSizeBytes)
	for sig, s := range m.Signals {
		require.True(t, sig.Valid(), "signal %q", sig)
		require.NotNil(t, s, "signal %s", sig)
		require.GreaterOrEqual(t, s.Objects, int64(0))
		require.GreaterOrEqual(t, s.Items, int64(0))
		require.GreaterOrEqual(t, s.Bytes, int64(0))
		require.GreaterOrEqual(t, s.CompressedBytes, int64(0))
	}
	if m.LostItems != nil {
		require.GreaterOrEqual(t, min(m.LostItems.Traces, m.LostItems.Metrics, m.LostItems.Logs), int64(0))
	}
	for _, p := range m.Seed.Phases {
		require.GreaterOrEqual(t, p.Items, int64(0))
	}
	require.NotPanics(t, func() { err = WriteMetadata(ctx, st, m) })
	require.NoError(t, err, "the merge can be written")
	back, err := ReadMetadata(ctx, st, "s1")
	require.NoError(t, err, "and read back")
	require.Equal(t, m.Items(), back.Items())
	return readErr
}

// TestReadWritersHostile: every writer file in hostileWriterFiles is read
// and merged without a panic, and either left out as corrupt or merged.
func TestReadWritersHostile(t *testing.T) {
	for _, tt := range hostileWriterFiles {
		t.Run(tt.name, func(t *testing.T) {
			st, err := OpenFilesystem(t.TempDir())
			require.NoError(t, err)
			defer st.Close()
			err = checkHostileWriter(t, st, []byte(tt.data))
			if tt.corrupt {
				require.ErrorIs(t, err, ErrCorrupt)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// TestMergeSkipsNils: views that did not come from ReadWriters (a
// caller's own) may hold nils; the merge skips them.
func TestMergeSkipsNils(t *testing.T) {
	good := goodView()
	odd := goodView()
	odd.Signals[SignalMetrics] = nil
	var m *Metadata
	require.NotPanics(t, func() { m = Merge(map[string]*Metadata{"good": good, "odd": odd, "none": nil}) })
	require.Equal(t, 2*good.Items(), m.Items())
	require.NotContains(t, m.Signals, SignalMetrics)
	require.Nil(t, Merge(map[string]*Metadata{"none": nil}))
}

package sessionstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// The pieces of a new session made from others' objects (a snapshot, an
// extract): the check of its id, the copies, what overlaps a window.

func TestCheckNewSessionID(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	at := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, sessionstore.NewMetadata("run1", sessionstore.SessionTypeCapture, at, "test")))
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("broken"), []byte("{")))
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("newer"), []byte(`{"sessionId": "newer", "schemaVersion": 9}`)))

	assert.NoError(t, sessionstore.CheckNewSessionID(ctx, st, "run2"))
	for _, id := range []string{"run1", "broken", "newer"} {
		err := sessionstore.CheckNewSessionID(ctx, st, id)
		require.ErrorIs(t, err, sessionstore.ErrSessionExists, id)
		assert.EqualError(t, err, "session "+id+" exists already")
	}
	err = sessionstore.CheckNewSessionID(ctx, st, "RUN1")
	require.ErrorIs(t, err, sessionstore.ErrCaseConflict)
	assert.Contains(t, err.Error(), `session RUN1: session id differs from an existing one only by case: "RUN1" next to "run1"`)
	for _, id := range []string{"", "../x", "a/b", "con", "x."} {
		assert.ErrorIs(t, sessionstore.CheckNewSessionID(ctx, st, id), sessionstore.ErrInvalidSessionID, id)
	}
}

func TestCopyToSession(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	k := sessionstore.NewObjectKey("src", sessionstore.SignalLogs, time.Date(2026, 11, 28, 23, 59, 59, 999e6, time.UTC))
	require.NoError(t, st.Put(ctx, k.String(), []byte("x")))
	dst, err := sessionstore.CopyToSession(ctx, st, k.String(), "dst")
	require.NoError(t, err)
	want := k
	want.SessionID = "dst"
	assert.Equal(t, want.String(), dst, "the same signal, capture time and uuid")
	got, err := sessionstore.ParseObjectKey(dst)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	ok, err := sessionstore.Exists(ctx, st, dst)
	require.NoError(t, err)
	assert.True(t, ok)

	_, err = sessionstore.CopyToSession(ctx, st, "sessions/src/raw/stray.txt", "dst")
	assert.ErrorIs(t, err, sessionstore.ErrCorrupt)
	_, err = sessionstore.CopyToSession(ctx, st, k.String(), "../x")
	assert.ErrorIs(t, err, sessionstore.ErrInvalidSessionID)
	gone := sessionstore.NewObjectKey("src", sessionstore.SignalLogs, time.Now())
	_, err = sessionstore.CopyToSession(ctx, st, gone.String(), "dst")
	assert.ErrorIs(t, err, sessionstore.ErrNotFound)
}

func TestCaptureOverlaps(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	m := sessionstore.NewMetadata("s", sessionstore.SessionTypeCapture, at(-5), "test")
	m.Add(sessionstore.SignalTraces, at(10), 1, 1, 1)
	m.Add(sessionstore.SignalLogs, at(20), 1, 1, 1)
	for _, tc := range []struct {
		from, to int
		want     bool
	}{
		{0, 10, false}, // to is exclusive
		{0, 11, true},
		{20, 30, true}, // from is inclusive
		{21, 30, false},
		{12, 18, true}, // inside
		{-5, 9, false}, // after its start, before its first capture
	} {
		assert.Equal(t, tc.want, m.CaptureOverlaps(at(tc.from), at(tc.to)), "[%d, %d)", tc.from, tc.to)
	}
	// The original tooling's metadata: no capture times, only a start.
	old := sessionstore.NewMetadata("old", sessionstore.SessionTypeCapture, at(0), "")
	assert.True(t, old.CaptureOverlaps(at(-10), at(1)))
	assert.False(t, old.CaptureOverlaps(at(-10), at(0)))
}

package sessionstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
)

func TestListObjectsByTime(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	base := time.Date(2026, 11, 28, 22, 59, 59, 0, time.UTC)
	// Interleaved signals across an hour and a day boundary; written out of order.
	var want []string
	plan := []struct {
		sig sessionstore.Signal
		off time.Duration
	}{
		{sessionstore.SignalTraces, 0},
		{sessionstore.SignalLogs, 10 * time.Millisecond},
		{sessionstore.SignalMetrics, 20 * time.Millisecond},
		{sessionstore.SignalTraces, 30 * time.Millisecond},
		{sessionstore.SignalLogs, 1500 * time.Millisecond}, // next hour
		{sessionstore.SignalTraces, 1600 * time.Millisecond},
		{sessionstore.SignalMetrics, time.Hour + 2*time.Second}, // next day
	}
	for _, p := range plan {
		want = append(want, sessionstore.NewObjectKey("s", p.sig, base.Add(p.off)).String())
	}
	for i := len(want) - 1; i >= 0; i-- {
		require.NoError(t, st.Put(ctx, want[i], []byte{1}))
	}
	require.NoError(t, st.Put(ctx, "sessions/s/raw/2026-11-28/23/not-an-object.txt", []byte{1}))
	require.NoError(t, st.Put(ctx, "sessions/s/metadata.json", []byte("{}")))

	var got []string
	var bad []string
	for o, err := range sessionstore.ListObjectsByTime(ctx, st, "s") {
		if err != nil {
			require.ErrorIs(t, err, sessionstore.ErrCorrupt)
			bad = append(bad, o.Key)
			continue
		}
		got = append(got, o.Key)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"sessions/s/raw/2026-11-28/23/not-an-object.txt"}, bad)

	// Plain key order is per-signal time order only.
	var keyOrder []string
	for o, err := range sessionstore.ListObjects(ctx, st, "s") {
		if err == nil {
			keyOrder = append(keyOrder, o.Key)
		}
	}
	assert.NotEqual(t, want, keyOrder)
	assert.ElementsMatch(t, want, keyOrder)
}

// TestMergedLister: the objects of three sessions (an hourly rotation of
// one capture, and a replica beside it) come out as one timeline, in
// capture order, every object once, also when the store breaks off a
// session's listing part-way (the next call resumes where it broke off).
func TestMergedLister(t *testing.T) {
	ctx := context.Background()
	fs, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer fs.Close()
	base := time.Date(2026, 12, 7, 9, 59, 58, 0, time.UTC)
	type obj struct {
		session string
		sig     sessionstore.Signal
		off     time.Duration
	}
	plan := []obj{
		{"capture-a-09", sessionstore.SignalTraces, 0},
		{"capture-b", sessionstore.SignalLogs, 5 * time.Millisecond},
		{"capture-a-09", sessionstore.SignalMetrics, 1 * time.Second},
		{"capture-b", sessionstore.SignalTraces, 1500 * time.Millisecond},
		{"capture-a-10", sessionstore.SignalTraces, 2 * time.Second}, // next hour, next session
		{"capture-b", sessionstore.SignalTraces, 2 * time.Second},    // a tie: by key
		{"capture-a-10", sessionstore.SignalLogs, 3 * time.Second},
		{"capture-b", sessionstore.SignalMetrics, time.Hour},
	}
	var want []string
	for _, p := range plan {
		want = append(want, sessionstore.NewObjectKey(p.session, p.sig, base.Add(p.off)).String())
	}
	for _, k := range want {
		require.NoError(t, fs.Put(ctx, k, []byte{1}))
	}
	// "capture-a-10" sorts before "capture-b": the tie at +2s goes to it.
	ids := []string{"capture-b", "capture-a-10", "capture-a-09"}

	for _, breakAfter := range []int{-1, 0, 1, 2} {
		st := faultstore.New(fs)
		if breakAfter >= 0 {
			st.Inject(faultstore.Once(faultstore.List, faultstore.Fault{Err: errors.New("connection reset"), After: breakAfter}))
		}
		l := sessionstore.NewLister(st, ids...)
		var got []string
		failures := 0
		for attempt := 0; attempt < 5; attempt++ {
			failed := false
			for o, err := range l.All(ctx) {
				if err != nil {
					failures++
					failed = true
					break
				}
				got = append(got, o.Key)
			}
			if !failed {
				break
			}
		}
		assert.Equal(t, want, got, "break after %d", breakAfter)
		if breakAfter >= 0 {
			assert.Equal(t, 1, failures, "break after %d", breakAfter)
		}
	}

	// From: earlier hours are not listed, in any session.
	l := sessionstore.NewLister(fs, ids...)
	l.From(base.Add(2 * time.Second))
	var got []string
	for o, err := range l.All(ctx) {
		require.NoError(t, err)
		got = append(got, o.Key)
	}
	assert.Equal(t, want[4:], got)
}

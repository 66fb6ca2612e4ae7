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

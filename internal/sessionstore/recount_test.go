package sessionstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func TestRecountRepairDelete(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	c0 := time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "s1", c0)
	w.Traces(c0.Add(time.Second), testdata.GenerateTraces(5))
	w.Metrics(c0.Add(2*time.Second), testdata.GenerateMetrics(2))
	w.Logs(c0.Add(2*time.Hour), testdata.GenerateLogs(7)) // another hour directory
	badKey := w.Raw(sessionstore.SignalTraces, c0.Add(3*time.Second), []byte("not gzip"))
	require.NoError(t, st.Put(ctx, sessionstore.RawPrefix("s1")+"2026-11-28/23/stray.txt", []byte("x")))
	want := w.Complete()

	rc, err := sessionstore.RecountSession(ctx, st, "s1", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, 4, rc.Objects, "data objects listed, the unreadable one included, the stray key not")
	require.Len(t, rc.Bad, 2)
	assert.Contains(t, rc.Bad[0]+rc.Bad[1], badKey)
	assert.Contains(t, rc.Bad[0]+rc.Bad[1], "stray.txt")
	assert.Equal(t, want.CapturedTraces, rc.Counts.CapturedTraces)
	assert.Equal(t, want.CapturedMetrics, rc.Counts.CapturedMetrics)
	assert.Equal(t, want.CapturedLogs, rc.Counts.CapturedLogs)
	assert.Equal(t, want.TotalSizeBytes, rc.Counts.TotalSizeBytes)
	assert.Empty(t, sessionstore.CountMismatches(want, rc.Counts))
	first, last := rc.Counts.CaptureRange()
	assert.Equal(t, c0.Add(time.Second), first)
	assert.Equal(t, c0.Add(2*time.Hour), last)

	// A crashed writer: active, counts behind. Repaired takes the counts
	// and completes the session at its last object.
	crashed := want.Clone()
	crashed.Status, crashed.EndTime, crashed.CapturedLogs = sessionstore.StatusActive, nil, 0
	mismatches := sessionstore.CountMismatches(crashed, rc.Counts)
	assert.Len(t, mismatches, 2, "capturedLogs and the active status: %v", mismatches)
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	fixed := sessionstore.Repaired(crashed, rc.Counts, now)
	assert.Equal(t, sessionstore.StatusCompleted, fixed.Status)
	assert.Equal(t, c0.Add(2*time.Hour), *fixed.EndTime)
	assert.Equal(t, want.CapturedLogs, fixed.CapturedLogs)
	assert.Equal(t, now, fixed.UpdatedTime)
	assert.Zero(t, crashed.CapturedLogs, "the stored metadata is not changed")
	// A crashed tap that had dropped items: repaired, it says failed and
	// keeps its drops (no object can recount them).
	crashed.DroppedItems = &sessionstore.ItemCounts{Traces: 9}
	fixed = sessionstore.Repaired(crashed, rc.Counts, now)
	assert.Equal(t, sessionstore.StatusFailed, fixed.Status)
	assert.Equal(t, int64(9), fixed.DroppedItems.Traces)
	// Without metadata: the recount becomes the metadata.
	fromObjects := sessionstore.Repaired(nil, rc.Counts, now)
	assert.Equal(t, first, fromObjects.StartTime)
	assert.Equal(t, sessionstore.StatusCompleted, fromObjects.Status)

	n, err := sessionstore.DeleteSession(ctx, st, "s1")
	require.NoError(t, err)
	assert.Equal(t, 5, n, "every object under raw/, the bad and stray ones included")
	_, err = sessionstore.ReadMetadata(ctx, st, "s1")
	require.ErrorIs(t, err, sessionstore.ErrNotFound)
	for info, err := range st.List(ctx, sessionstore.SessionPrefix("s1")) {
		require.NoError(t, err)
		t.Errorf("left behind: %s", info.Key)
	}
	_, err = sessionstore.DeleteSession(ctx, st, "../etc")
	require.ErrorIs(t, err, sessionstore.ErrInvalidSessionID)
}

func TestReadStoredRefusesOversize(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	w := sessiontest.NewWriter(t, st, "s1", time.Now())
	key := w.Raw(sessionstore.SignalTraces, time.Now(), make([]byte, 10_000))
	k, err := sessionstore.ParseObjectKey(key)
	require.NoError(t, err)
	o := sessionstore.Object{ObjectKey: k, Key: key, Size: 10_000}

	// By its listed size, without reading it.
	_, err = sessionstore.ReadStored(ctx, st, o, 1000)
	require.ErrorIs(t, err, sessionstore.ErrTooLarge)
	// A listing that understated the size: caught while reading.
	o.Size = 10
	_, err = sessionstore.ReadStored(ctx, st, o, 1000)
	require.ErrorIs(t, err, sessionstore.ErrTooLarge)
	assert.Equal(t, int64(1000+1000/64+4096), sessionstore.MaxStoredSize(1000))
	data, err := sessionstore.ReadStored(ctx, st, o, 10_000)
	require.NoError(t, err)
	assert.Len(t, data, 10_000)
	// The listed size sizes the read, right or not: an object read whole
	// whether the listing said less or more than it holds.
	for _, listed := range []int64{0, 1, 9_999, 10_000, 10_001, 12_000} {
		o.Size = listed
		data, err := sessionstore.ReadStored(ctx, st, o, 10_000)
		require.NoError(t, err, "listed %d", listed)
		assert.Equal(t, make([]byte, 10_000), data, "listed %d", listed)
	}
}

// TestBrokenTransferIsNotCorruption: a download that breaks off part-way
// is the store's failure (retrying may help), never a corrupt object.
func TestBrokenTransferIsNotCorruption(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	w := sessiontest.NewWriter(t, st, "s1", time.Now())
	key := w.Traces(time.Now(), testdata.GenerateTraces(50))
	var o sessionstore.Object
	for obj, err := range sessionstore.ListObjects(ctx, st, "s1") {
		require.NoError(t, err)
		o = obj
	}
	require.Equal(t, key, o.Key)
	errReset := errors.New("connection reset by peer")
	fs := faultstore.New(st, faultstore.Once(faultstore.Get, faultstore.Fault{Err: errReset, After: int(o.Size / 2)}))

	_, _, err = sessionstore.ReadObject(ctx, fs, o, 1<<20)
	require.ErrorIs(t, err, errReset)
	assert.NotErrorIs(t, err, sessionstore.ErrCorrupt)
	b, _, err := sessionstore.ReadObject(ctx, fs, o, 1<<20)
	require.NoError(t, err, "the next read succeeds")
	assert.Equal(t, 50, b.ItemCount())
}

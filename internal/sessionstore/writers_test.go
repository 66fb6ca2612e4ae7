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

// TestMergeWriters: metadata.json is the sum of the writers' views, with
// time ranges united, completed only when every writer has ended and
// failed when any failed; writer files are no sessions and no objects.
func TestMergeWriters(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	t0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	view := func(start time.Duration, traces int64, status sessionstore.Status, flags ...string) *sessionstore.Metadata {
		m := sessionstore.NewMetadata("s1", sessionstore.SessionTypeSeed, t0.Add(start), "w")
		m.Add(sessionstore.SignalTraces, t0.Add(start+time.Second), traces, traces*10, traces)
		m.ExtendEventTime(t0.Add(start), t0.Add(start+time.Minute))
		m.Status, m.EnabledFlags = status, flags
		m.Seed = &sessionstore.SeedInfo{Pattern: "p", Phases: []sessionstore.Phase{{Index: 0, Items: traces}}}
		if status != sessionstore.StatusActive {
			end := t0.Add(start + 2*time.Minute)
			m.EndTime = &end
		}
		return m
	}
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "a", view(0, 3, sessionstore.StatusCompleted, "x")))
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "b", view(time.Hour, 4, sessionstore.StatusActive, "y")))
	views, err := sessionstore.ReadWriters(ctx, st, "s1")
	require.NoError(t, err)
	require.Len(t, views, 2)

	m := sessionstore.Merge(views)
	assert.Equal(t, sessionstore.StatusActive, m.Status, "b has not ended")
	assert.Nil(t, m.EndTime)
	assert.Equal(t, int64(7), m.CapturedTraces)
	assert.Equal(t, int64(7), m.TotalSizeBytes)
	assert.Equal(t, int64(2), m.Signals[sessionstore.SignalTraces].Objects)
	assert.Equal(t, t0.Add(time.Second), *m.Signals[sessionstore.SignalTraces].FirstCaptureTime)
	assert.Equal(t, t0.Add(time.Hour+time.Second), *m.Signals[sessionstore.SignalTraces].LastCaptureTime)
	assert.Equal(t, t0, m.StartTime)
	assert.Equal(t, &sessionstore.TimeRange{Start: t0, End: t0.Add(time.Hour + time.Minute)}, m.EventTimeRange)
	assert.Equal(t, []string{"x", "y"}, m.EnabledFlags)
	assert.Equal(t, []sessionstore.Phase{{Index: 0, Items: 7}}, m.Seed.Phases)

	views["b"] = view(time.Hour, 4, sessionstore.StatusCompleted)
	m = sessionstore.Merge(views)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status, "every writer ended")
	assert.Equal(t, t0.Add(time.Hour+2*time.Minute), *m.EndTime)
	views["b"] = view(time.Hour, 4, sessionstore.StatusFailed)
	views["b"].LostItems = &sessionstore.LostItems{Traces: 2}
	m = sessionstore.Merge(views)
	assert.Equal(t, sessionstore.StatusFailed, m.Status)
	assert.Equal(t, int64(2), m.LostItems.Traces)
	views["a"].DroppedItems = &sessionstore.ItemCounts{Logs: 5}
	views["b"].DroppedItems = &sessionstore.ItemCounts{Logs: 1, Traces: 3}
	m = sessionstore.Merge(views)
	assert.Equal(t, sessionstore.ItemCounts{Traces: 3, Logs: 6}, *m.DroppedItems, "the writers' drops add up")

	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("s1"), []byte("{}")))
	list, err := sessionstore.ListSessions(ctx, st)
	require.NoError(t, err)
	assert.Len(t, list, 1, "writers/ is not a session")
	for _, err := range sessionstore.ListObjects(ctx, st, "s1") {
		require.NoError(t, err, "writers/ holds no data objects")
	}
	require.Error(t, sessionstore.WriteWriter(ctx, st, "../x", view(0, 1, sessionstore.StatusActive)))
}

// TestLiveWriters: a writer is live while its view says open (not ended)
// and was rewritten less than LiveWindow ago (or in the future of this
// clock).
func TestLiveWriters(t *testing.T) {
	now := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	view := func(status sessionstore.Status, updated time.Duration) *sessionstore.Metadata {
		m := sessionstore.NewMetadata("s1", sessionstore.SessionTypeCapture, now.Add(-time.Hour), "w")
		m.Status, m.UpdatedTime = status, now.Add(updated)
		return m
	}
	views := map[string]*sessionstore.Metadata{
		"just-now":     view(sessionstore.StatusActive, 0),
		"ten-s":        view(sessionstore.StatusActive, -10*time.Second),
		"almost":       view(sessionstore.StatusActive, -sessionstore.LiveWindow+time.Second),
		"ahead":        view(sessionstore.StatusActive, time.Minute),
		"at-window":    view(sessionstore.StatusActive, -sessionstore.LiveWindow),
		"crashed":      view(sessionstore.StatusActive, -time.Hour),
		"ended":        view(sessionstore.StatusCompleted, 0),
		"failed":       view(sessionstore.StatusFailed, 0),
		"odd-status":   view("exploded", 0),
		"missing-view": nil,
	}
	assert.Equal(t, []string{"ahead", "almost", "just-now", "odd-status", "ten-s"}, sessionstore.LiveWriters(views, now),
		"open is what Merge takes for open: neither completed nor failed")
	assert.Empty(t, sessionstore.LiveWriters(nil, now))
}

package sessionstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// TestMetadataVersions: a metadata.json of a future schema is refused by
// every reader, clearly and never as corrupt (a corrupt one is recounted
// and rewritten, which would drop the future fields); one of the original
// tooling (no schemaVersion, no sessionType) reads as version 1 with the
// type inferred from the id.
func TestMetadataVersions(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()

	future := `{"sessionId": "next", "schemaVersion": 2, "status": "completed", "startTime": "2026-11-28T23:00:00Z", "fancy": {"x": 1}}`
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("next"), []byte(future)))
	_, err = sessionstore.ReadMetadata(ctx, st, "next")
	require.ErrorIs(t, err, sessionstore.ErrUnsupportedVersion)
	assert.NotErrorIs(t, err, sessionstore.ErrCorrupt)
	assert.Contains(t, err.Error(), "schemaVersion 2")
	assert.True(t, sessionstore.IsPermanent(err), "no retry makes a future version readable")

	list, err := sessionstore.ListSessions(ctx, st)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.ErrorIs(t, list[0].Err, sessionstore.ErrUnsupportedVersion)

	for id, want := range map[string]sessionstore.SessionType{
		"seed-20261128T230000Z-1a2b3c4d":    sessionstore.SessionTypeSeed,
		"capture-20261128T230000Z-1a2b3c4d": sessionstore.SessionTypeCapture,
		"nightly":                           sessionstore.SessionTypeCapture,
	} {
		original := `{"sessionId": "` + id + `", "status": "completed", "startTime": "2026-11-28T23:00:00Z", "enabledFlags": ["paymentFailure"], "capturedTraces": 3}`
		require.NoError(t, st.Put(ctx, sessionstore.MetadataKey(id), []byte(original)))
		m, err := sessionstore.ReadMetadata(ctx, st, id)
		require.NoError(t, err, id)
		assert.Equal(t, sessionstore.SchemaVersion, m.SchemaVersion, id)
		assert.Equal(t, want, m.SessionType, id)
		assert.Equal(t, int64(3), m.CapturedTraces, id)
	}
}

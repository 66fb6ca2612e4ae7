package sessionstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
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

// TestS3PrefixIsFromTheBucketRoot: metadata.json's s3Prefix is where the
// session lives from the bucket root, store prefix included, as the
// original readers expect; on a directory it is relative to the root.
func TestS3PrefixIsFromTheBucketRoot(t *testing.T) {
	ctx := context.Background()
	cfg := s3server.StartFake(t, "otel-data")
	cfg.S3.Prefix = "team-a/prod"
	s3, err := sessionstore.Open(ctx, &cfg)
	require.NoError(t, err)
	defer s3.Close()
	fs, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer fs.Close()
	for st, want := range map[sessionstore.Store]string{s3: "team-a/prod/sessions/s1", fs: "sessions/s1"} {
		m := sessionstore.NewMetadata("s1", sessionstore.SessionTypeCapture, time.Now(), "test")
		require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
		got, err := sessionstore.ReadMetadata(ctx, st, "s1")
		require.NoError(t, err)
		assert.Equal(t, want, got.S3Prefix, st.String())
	}
}

// TestReadMetadataBytes: the stored bytes, unchanged (a future version
// too: it is passed on, not read); a hostile id is refused before any
// read, a missing session matches ErrNotFound, an oversized file is refused.
func TestReadMetadataBytes(t *testing.T) {
	ctx := context.Background()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()

	future := []byte(`{"sessionId": "next", "schemaVersion": 2, "fancy": {"x": 1}}`)
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("next"), future))
	got, err := sessionstore.ReadMetadataBytes(ctx, st, "next")
	require.NoError(t, err)
	assert.Equal(t, future, got)

	_, err = sessionstore.ReadMetadataBytes(ctx, st, "../etc")
	require.ErrorIs(t, err, sessionstore.ErrInvalidSessionID)
	_, err = sessionstore.ReadMetadataBytes(ctx, st, "missing")
	require.ErrorIs(t, err, sessionstore.ErrNotFound)

	huge := make([]byte, 8<<20+1)
	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("huge"), huge))
	_, err = sessionstore.ReadMetadataBytes(ctx, st, "huge")
	require.ErrorIs(t, err, sessionstore.ErrTooLarge)
}

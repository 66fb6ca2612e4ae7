package sessionstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watchDirSyncs records the directories the store fsyncs, for the test.
func watchDirSyncs(t *testing.T) *[]string {
	var synced []string
	prev := syncDir
	syncDir = func(r *os.Root, dir string) error {
		synced = append(synced, dir)
		return prev(r, dir)
	}
	t.Cleanup(func() { syncDir = prev })
	return &synced
}

// TestFilesystemSyncsDirectories: a Put fsyncs the file, then every
// directory it created and the directory it renamed into, so a power loss
// cannot lose an object the store said it had.
func TestFilesystemSyncsDirectories(t *testing.T) {
	synced := watchDirSyncs(t)
	st, err := OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Put(context.Background(), "sessions/s1/raw/2026-11-28/23/x", []byte("x")))
	for _, dir := range []string{"sessions/s1/raw/2026-11-28/23", "sessions/s1/raw/2026-11-28", "sessions/s1/raw", "sessions/s1", "sessions", "."} {
		assert.True(t, slices.Contains(*synced, dir), "%s synced (got %v)", dir, *synced)
	}
	*synced = nil
	require.NoError(t, st.Put(context.Background(), "sessions/s1/raw/2026-11-28/23/y", []byte("y")))
	assert.Equal(t, []string{"sessions/s1/raw/2026-11-28/23"}, *synced, "an existing directory: only the rename is synced")
}

// TestFilesystemSweepsStaleTempFiles: the temp files of writes a crash
// cut short are removed when the store opens, once they are older than an
// hour (a younger one may be another process's write in progress); then
// deleting a session leaves no directory behind.
func TestFilesystemSweepsStaleTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	raw := filepath.Join(dir, "sessions", "s1", "raw", "2026-11-28", "23")
	require.NoError(t, os.MkdirAll(raw, 0o755))
	stale := filepath.Join(raw, tempPrefix+"x.otlp.gz-00112233")
	fresh := filepath.Join(dir, "sessions", "s2", tempPrefix+"metadata.json-44556677")
	require.NoError(t, os.MkdirAll(filepath.Dir(fresh), 0o755))
	for _, f := range []string{stale, fresh} {
		require.NoError(t, os.WriteFile(f, []byte("partial"), 0o644))
	}
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	st, err := OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	_, err = os.Stat(stale)
	assert.ErrorIs(t, err, os.ErrNotExist, "stale temp file swept")
	_, err = os.Stat(fresh)
	assert.NoError(t, err, "a fresh one may be a write in progress")

	ctx := context.Background()
	require.NoError(t, st.Put(ctx, "sessions/s1/raw/2026-11-28/23/obj", []byte("x")))
	require.NoError(t, st.Put(ctx, MetadataKey("s1"), []byte("{}")))
	_, err = DeleteSession(ctx, st, "s1")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "sessions", "s1"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a deleted session leaves no directory")
}

// TestFilesystemPutAfterDirectoryRemoved: the store remembers the
// directories it made, so that a Put into one does not look its path up
// again; when another process removed such a directory meanwhile (a
// session deleted by sessionctl), the next Put makes it again, syncing
// what it created, and the object lands.
func TestFilesystemPutAfterDirectoryRemoved(t *testing.T) {
	synced := watchDirSyncs(t)
	dir := filepath.Join(t.TempDir(), "root")
	st, err := OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	require.NoError(t, st.Put(ctx, "sessions/s1/raw/2026-11-28/23/x", []byte("x")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "sessions", "s1")), "another process deletes the session")
	*synced = nil
	require.NoError(t, st.Put(ctx, "sessions/s1/raw/2026-11-28/23/y", []byte("y")))
	got, err := os.ReadFile(filepath.Join(dir, "sessions", "s1", "raw", "2026-11-28", "23", "y"))
	require.NoError(t, err)
	assert.Equal(t, "y", string(got))
	for _, d := range []string{"sessions/s1/raw/2026-11-28/23", "sessions/s1/raw/2026-11-28", "sessions/s1/raw", "sessions/s1", "sessions"} {
		assert.True(t, slices.Contains(*synced, d), "%s synced (got %v)", d, *synced)
	}
	// Through the store's own Delete, too (it prunes the emptied directories).
	require.NoError(t, st.Delete(ctx, "sessions/s1/raw/2026-11-28/23/y"))
	require.NoError(t, st.Put(ctx, "sessions/s1/raw/2026-11-28/23/z", []byte("z")))
	_, err = os.Stat(filepath.Join(dir, "sessions", "s1", "raw", "2026-11-28", "23", "z"))
	require.NoError(t, err)
}

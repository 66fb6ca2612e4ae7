package sessionstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
)

// backend opens a fresh, empty store for one subtest.
type backend struct {
	name string
	open func(t *testing.T) sessionstore.Store
}

func openConfig(t *testing.T, cfg sessionstore.Config) sessionstore.Store {
	t.Helper()
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	require.NoError(t, st.Ping(context.Background()))
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func filesystemBackend() backend {
	return backend{name: "filesystem", open: func(t *testing.T) sessionstore.Store {
		cfg := sessionstore.NewDefaultConfig()
		cfg.Directory = filepath.Join(t.TempDir(), "root")
		return openConfig(t, cfg)
	}}
}

func fakeS3Backend() backend {
	return backend{name: "gofakes3", open: func(t *testing.T) sessionstore.Store {
		return openConfig(t, s3server.StartFake(t, "fake-bucket"))
	}}
}

// versitygwBackend shares one real server across subtests; each subtest
// gets its own bucket, and half of them a key prefix.
func versitygwBackend(t *testing.T) backend {
	srv := s3server.Start(t)
	var n int
	return backend{name: "versitygw", open: func(t *testing.T) sessionstore.Store {
		n++
		bucket := fmt.Sprintf("conformance-%d", n)
		srv.CreateBucket(t, bucket)
		prefix := ""
		if n%2 == 0 {
			prefix = "team-a/otel"
		}
		return openConfig(t, srv.Config(bucket, prefix))
	}}
}

func TestConformance(t *testing.T) {
	backends := []backend{filesystemBackend(), fakeS3Backend()}
	if !testing.Short() {
		backends = append(backends, versitygwBackend(t))
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { runConformance(t, b) })
	}
}

func keys(t *testing.T, st sessionstore.Store, prefix string) []string {
	t.Helper()
	var out []string
	for info, err := range st.List(context.Background(), prefix) {
		require.NoError(t, err)
		out = append(out, info.Key)
	}
	return out
}

func get(t *testing.T, st sessionstore.Store, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	require.NoError(t, err)
	return data
}

func runConformance(t *testing.T, b backend) {
	ctx := context.Background()

	t.Run("put get overwrite", func(t *testing.T) {
		st := b.open(t)
		require.NoError(t, st.Put(ctx, "a/b/c.bin", []byte("one")))
		assert.Equal(t, []byte("one"), get(t, st, "a/b/c.bin"))
		require.NoError(t, st.Put(ctx, "a/b/c.bin", []byte("two!")))
		assert.Equal(t, []byte("two!"), get(t, st, "a/b/c.bin"))
		assert.Equal(t, []string{"a/b/c.bin"}, keys(t, st, ""))
		require.NoError(t, st.Put(ctx, "empty", nil))
		assert.Empty(t, get(t, st, "empty"))
	})

	t.Run("large object", func(t *testing.T) {
		st := b.open(t)
		data := make([]byte, 9<<20+17)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		require.NoError(t, st.Put(ctx, "big/object.bin", data))
		assert.True(t, bytes.Equal(data, get(t, st, "big/object.bin")))
		var sizes []int64
		for info, err := range st.List(ctx, "big/") {
			require.NoError(t, err)
			sizes = append(sizes, info.Size)
		}
		assert.Equal(t, []int64{int64(len(data))}, sizes)
	})

	t.Run("list after", func(t *testing.T) {
		st := b.open(t)
		all := []string{"s/a", "s/b/1", "s/b/2", "s/b/3", "s/c", "s/d/e/f", "t/x"}
		for _, k := range all {
			require.NoError(t, st.Put(ctx, k, []byte("x")))
		}
		after := func(prefix, start string) []string {
			var out []string
			for info, err := range st.ListAfter(ctx, prefix, start) {
				require.NoError(t, err)
				out = append(out, info.Key)
			}
			return out
		}
		assert.Equal(t, all[:6], after("s/", ""))
		assert.Equal(t, []string{"s/b/2", "s/b/3", "s/c", "s/d/e/f"}, after("s/", "s/b/1"))
		assert.Equal(t, []string{"s/c", "s/d/e/f"}, after("s/", "s/b/3"))
		assert.Equal(t, []string{"s/c", "s/d/e/f"}, after("s/", "s/b/9"), "after a key that is not stored")
		assert.Equal(t, []string{"s/b/1", "s/b/2", "s/b/3", "s/c", "s/d/e/f"}, after("s/", "s/b"), "after a directory's name")
		assert.Empty(t, after("s/", "s/d/e/f"))
		assert.Equal(t, []string{"s/d/e/f"}, after("s/d/", "s/a"), "start before the prefix")
	})

	t.Run("missing object", func(t *testing.T) {
		st := b.open(t)
		_, err := st.Get(ctx, "nope/missing.json")
		require.ErrorIs(t, err, sessionstore.ErrNotFound)
		assert.False(t, sessionstore.IsPermanent(err), "a missing object is not a store failure: %v", err)
		require.NoError(t, st.Put(ctx, "dir/file", []byte("x")))
		_, err = st.Get(ctx, "dir")
		require.ErrorIs(t, err, sessionstore.ErrNotFound, "a key prefix is not an object")
	})

	t.Run("list order and prefixes", func(t *testing.T) {
		st := b.open(t)
		// Keys whose S3 order differs from a naive directory walk: "-" (0x2d)
		// sorts before "/" (0x2f), and digits after both.
		want := []string{
			"sessions/a-b/metadata.json",
			"sessions/a/metadata.json",
			"sessions/a/raw/2026-11-28/23/logs-1764370800000-x.otlp.gz",
			"sessions/a/raw/2026-11-28/23/traces-1764370800000-x.otlp.gz",
			"sessions/a/raw/2026-11-29/00/traces-1764374400000-x.otlp.gz",
			"sessions/a0/metadata.json",
			"sessionsX",
			"z",
		}
		shuffled := slices.Clone(want)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, k := range shuffled {
			require.NoError(t, st.Put(ctx, k, []byte(k)))
		}
		assert.Equal(t, want, keys(t, st, ""))
		assert.Equal(t, want[:6], keys(t, st, "sessions/"))
		assert.Equal(t, want[1:5], keys(t, st, "sessions/a/"))
		assert.Equal(t, want[2:4], keys(t, st, "sessions/a/raw/2026-11-28/23/"))
		assert.Equal(t, want[:6], keys(t, st, "sessions/a"), "a prefix need not end on a segment")
		assert.Equal(t, want[2:3], keys(t, st, "sessions/a/raw/2026-11-28/23/log"))
		assert.Empty(t, keys(t, st, "sessions/zzz/"))
		assert.Empty(t, keys(t, st, "nothing/here/"))

		prefixes, err := st.ListPrefixes(ctx, "sessions/")
		require.NoError(t, err)
		assert.Equal(t, []string{"sessions/a-b/", "sessions/a/", "sessions/a0/"}, prefixes)
		prefixes, err = st.ListPrefixes(ctx, "sessions/a/raw/")
		require.NoError(t, err)
		assert.Equal(t, []string{"sessions/a/raw/2026-11-28/", "sessions/a/raw/2026-11-29/"}, prefixes)
		prefixes, err = st.ListPrefixes(ctx, "none/")
		require.NoError(t, err)
		assert.Empty(t, prefixes)
	})

	t.Run("list stops early", func(t *testing.T) {
		st := b.open(t)
		for i := range 5 {
			require.NoError(t, st.Put(ctx, fmt.Sprintf("k/%d", i), []byte{byte(i)}))
		}
		var seen []string
		for info, err := range st.List(ctx, "k/") {
			require.NoError(t, err)
			seen = append(seen, info.Key)
			if len(seen) == 2 {
				break
			}
		}
		assert.Equal(t, []string{"k/0", "k/1"}, seen)
	})

	t.Run("delete", func(t *testing.T) {
		st := b.open(t)
		require.NoError(t, st.Put(ctx, "sessions/s1/raw/2026-01-01/00/a", []byte("a")))
		require.NoError(t, st.Put(ctx, "sessions/s1/metadata.json", []byte("{}")))
		require.NoError(t, st.Put(ctx, "sessions/s2/metadata.json", []byte("{}")))
		require.NoError(t, st.Delete(ctx, "sessions/s1/raw/2026-01-01/00/a"))
		require.NoError(t, st.Delete(ctx, "sessions/s1/raw/2026-01-01/00/a"), "deleting twice is fine")
		require.NoError(t, st.Delete(ctx, "never/existed"))
		assert.Equal(t, []string{"sessions/s1/metadata.json", "sessions/s2/metadata.json"}, keys(t, st, ""))
		require.NoError(t, st.Delete(ctx, "sessions/s1/metadata.json"))
		prefixes, err := st.ListPrefixes(ctx, "sessions/")
		require.NoError(t, err)
		assert.Equal(t, []string{"sessions/s2/"}, prefixes, "a session with no objects left is gone")
	})

	t.Run("copy", func(t *testing.T) {
		// A snapshot copies a rolling session's objects into a session of
		// its own; the rolling session then deletes its own.
		st := b.open(t)
		src, dst := "sessions/rolling/raw/2026-01-01/00/a.otlp.gz", "sessions/saved/raw/2026-01-01/00/a.otlp.gz"
		require.NoError(t, st.Put(ctx, src, []byte("the object")))
		require.NoError(t, st.Copy(ctx, src, dst))
		assert.Equal(t, []byte("the object"), get(t, st, dst))
		require.NoError(t, st.Copy(ctx, src, dst), "copying again replaces the copy")
		require.NoError(t, st.Delete(ctx, src))
		assert.Equal(t, []byte("the object"), get(t, st, dst), "the copy outlives its source")
		assert.Equal(t, []string{dst}, keys(t, st, "sessions/"))
		require.ErrorIs(t, st.Copy(ctx, src, "sessions/saved/b"), sessionstore.ErrNotFound, "a source that is gone")
		require.ErrorIs(t, st.Copy(ctx, "../x", "sessions/saved/c"), sessionstore.ErrInvalidKey)
		require.ErrorIs(t, st.Copy(ctx, dst, "../x"), sessionstore.ErrInvalidKey)
		assert.Equal(t, []string{dst}, keys(t, st, "sessions/"), "nothing else was written")
	})

	t.Run("invalid keys", func(t *testing.T) {
		st := b.open(t)
		for _, key := range []string{"", "../x", "a/../../b", "/abs", "a//b", "a/./b", `a\b`, "a\x00b", "a\nb", "..", "x/.."} {
			err := st.Put(ctx, key, []byte("x"))
			require.ErrorIs(t, err, sessionstore.ErrInvalidKey, "put %q", key)
			assert.True(t, sessionstore.IsPermanent(err), "put %q", key)
			_, err = st.Get(ctx, key)
			require.ErrorIs(t, err, sessionstore.ErrInvalidKey, "get %q", key)
			require.ErrorIs(t, st.Delete(ctx, key), sessionstore.ErrInvalidKey, "delete %q", key)
		}
		for _, err := range st.List(ctx, "../") {
			require.ErrorIs(t, err, sessionstore.ErrInvalidKey)
		}
		_, err := st.ListPrefixes(ctx, "../")
		require.ErrorIs(t, err, sessionstore.ErrInvalidKey)
		assert.Empty(t, keys(t, st, ""), "nothing was written")
	})

	t.Run("concurrent writers", func(t *testing.T) {
		st := b.open(t)
		var wg sync.WaitGroup
		errs := make([]error, 32)
		for i := range errs {
			wg.Go(func() {
				// Half of them race on one key: the last write wins whole.
				key := fmt.Sprintf("c/%02d", i)
				if i%2 == 0 {
					key = "c/shared"
				}
				errs[i] = st.Put(ctx, key, bytes.Repeat([]byte{byte(i)}, 64<<10))
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		assert.Len(t, keys(t, st, "c/"), 17)
		shared := get(t, st, "c/shared")
		require.Len(t, shared, 64<<10)
		assert.Equal(t, bytes.Repeat(shared[:1], 64<<10), shared, "no torn object")
	})

	t.Run("context canceled", func(t *testing.T) {
		st := b.open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.Error(t, st.Put(cctx, "x", []byte("x")))
		_, err := st.Get(cctx, "x")
		require.Error(t, err)
		for _, err := range st.List(cctx, "") {
			require.Error(t, err)
		}
	})

	t.Run("metadata and sessions", func(t *testing.T) {
		st := b.open(t)
		start := time.Date(2026, 11, 28, 23, 10, 0, 0, time.UTC)
		m := sessionstore.NewMetadata("capture-1", sessionstore.SessionTypeCapture, start, "test")
		m.Add(sessionstore.SignalTraces, start.Add(time.Second), 10, 1000, 100)
		m.Add(sessionstore.SignalLogs, start.Add(2*time.Second), 3, 300, 30)
		m.Labels = map[string]string{"env": "staging"}
		require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
		m2 := sessionstore.NewMetadata("seed-1", sessionstore.SessionTypeSeed, start, "test")
		m2.Status = sessionstore.StatusCompleted
		require.NoError(t, sessionstore.WriteMetadata(ctx, st, m2))
		// A directory that is not a valid session id is not listed; one with
		// broken metadata is listed with its error.
		require.NoError(t, st.Put(ctx, "sessions/broken/metadata.json", []byte("{not json")))
		require.NoError(t, st.Put(ctx, "sessions/-bad/metadata.json", []byte("{}")))

		got, err := sessionstore.ReadMetadata(ctx, st, "capture-1")
		require.NoError(t, err)
		assert.Equal(t, m, got)

		list, err := sessionstore.ListSessions(ctx, st)
		require.NoError(t, err)
		require.Len(t, list, 3)
		assert.Equal(t, "broken", list[0].ID)
		require.Error(t, list[0].Err)
		assert.Contains(t, list[0].Err.Error(), "sessions/broken/metadata.json")
		assert.Equal(t, "capture-1", list[1].ID)
		assert.Equal(t, m, list[1].Metadata)
		assert.Equal(t, sessionstore.StatusCompleted, list[2].Metadata.Status)

		_, err = sessionstore.ReadMetadata(ctx, st, "absent")
		require.ErrorIs(t, err, sessionstore.ErrNotFound)
	})

	t.Run("annotations", func(t *testing.T) {
		// Annotators at once on the backend: each change lands, the
		// session's listing and data objects do not see them.
		st := b.open(t)
		start := time.Date(2026, 11, 28, 23, 10, 0, 0, time.UTC)
		m := sessionstore.NewMetadata("cap", sessionstore.SessionTypeCapture, start, "test")
		m.Status = sessionstore.StatusCompleted
		require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = sessionstore.Annotate(ctx, st, "cap", sessionstore.AnnotationRequest{
					Phases: []sessionstore.PhaseSpec{{Name: fmt.Sprintf("p%d", i), From: fmt.Sprintf("%dm", i), To: fmt.Sprintf("%dm", i+1)}},
				}, "test")
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		got, err := sessionstore.ReadMetadata(ctx, st, "cap")
		require.NoError(t, err)
		require.NotNil(t, got.Annotations)
		require.Len(t, got.Annotations.Phases, len(errs))
		for i, p := range got.Annotations.Phases {
			assert.Equal(t, fmt.Sprintf("p%d", i), p.Name)
			assert.Equal(t, start.Add(time.Duration(i)*time.Minute), p.Start)
		}
		assert.Equal(t, sessionstore.StatusCompleted, got.Status)
		list, err := sessionstore.ListSessions(ctx, st)
		require.NoError(t, err)
		require.Len(t, list, 1)
		for _, err := range sessionstore.ListObjects(ctx, st, "cap") {
			require.NoError(t, err)
			t.Fatal("an annotation listed as a data object")
		}
	})
}

func TestFilesystemSpecifics(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	st, err := sessionstore.OpenFilesystem(root)
	require.NoError(t, err)
	defer st.Close()

	t.Run("temp files are never listed", func(t *testing.T) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "d"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "d", ".tmp-x.otlp.gz-1234"), []byte("partial"), 0o644))
		require.NoError(t, st.Put(ctx, "d/x.otlp.gz", []byte("whole")))
		assert.Equal(t, []string{"d/x.otlp.gz"}, keys(t, st, ""))
		require.ErrorIs(t, st.Put(ctx, "d/.tmp-y", []byte("x")), sessionstore.ErrInvalidKey)
	})

	t.Run("symlinks cannot escape the root", func(t *testing.T) {
		outside := filepath.Join(parent, "outside")
		require.NoError(t, os.MkdirAll(outside, 0o755))
		require.NoError(t, os.Symlink(outside, filepath.Join(root, "link")))
		err := st.Put(ctx, "link/evil", []byte("x"))
		require.Error(t, err)
		_, statErr := os.Stat(filepath.Join(outside, "evil"))
		assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing written outside the root")
	})

	t.Run("read-only root is permanent", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores permission bits")
		}
		ro := filepath.Join(parent, "ro")
		require.NoError(t, os.MkdirAll(ro, 0o555))
		rst, err := sessionstore.OpenFilesystem(ro)
		require.NoError(t, err)
		defer rst.Close()
		err = rst.Put(ctx, "x", []byte("x"))
		require.Error(t, err)
		assert.True(t, sessionstore.IsPermanent(err), "%v", err)
	})
}

func TestS3Errors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the S3 server")
	}
	ctx := context.Background()
	srv := s3server.Start(t)
	srv.CreateBucket(t, "exists")

	t.Run("no such bucket", func(t *testing.T) {
		cfg := srv.Config("does-not-exist", "")
		st, err := sessionstore.Open(ctx, &cfg)
		require.NoError(t, err)
		err = st.Ping(ctx)
		require.Error(t, err)
		assert.True(t, sessionstore.IsPermanent(err), "%v", err)
		assert.Contains(t, err.Error(), "does-not-exist")
		err = st.Put(ctx, "k", []byte("x"))
		require.Error(t, err)
		assert.True(t, sessionstore.IsPermanent(err), "%v", err)
	})

	t.Run("bad credentials", func(t *testing.T) {
		cfg := srv.Config("exists", "")
		cfg.S3.SecretAccessKey = "wrong"
		st, err := sessionstore.Open(ctx, &cfg)
		require.NoError(t, err)
		err = st.Put(ctx, "k", []byte("x"))
		require.Error(t, err)
		assert.True(t, sessionstore.IsPermanent(err), "%v", err)
	})

	t.Run("server down is retryable", func(t *testing.T) {
		down := s3server.Start(t)
		down.CreateBucket(t, "outage")
		cfg := down.Config("outage", "")
		st, err := sessionstore.Open(ctx, &cfg)
		require.NoError(t, err)
		down.Stop()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		err = st.Put(cctx, "k", []byte("x"))
		require.Error(t, err)
		assert.False(t, sessionstore.IsPermanent(err), "%v", err)
		down.Restart(t)
		require.Eventually(t, func() bool { return st.Put(ctx, "k", []byte("x")) == nil }, 20*time.Second, 100*time.Millisecond)
	})

	t.Run("objects carry no content encoding", func(t *testing.T) {
		cfg := srv.Config("exists", "")
		st, err := sessionstore.Open(ctx, &cfg)
		require.NoError(t, err)
		key := sessionstore.NewObjectKey("s", sessionstore.SignalTraces, time.Now()).String()
		require.NoError(t, st.Put(ctx, key, []byte{0x1f, 0x8b}))
		client, ok := sessionstore.S3Client(st)
		require.True(t, ok)
		head, err := client.HeadObject(ctx, headInput("exists", key))
		require.NoError(t, err)
		assert.Nil(t, head.ContentEncoding)
		assert.Equal(t, "application/gzip", strings.ToLower(*head.ContentType))
	})
}

package faultstore

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

func newStore(t *testing.T, rules ...Rule) (*Store, sessionstore.Store) {
	t.Helper()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return New(st, rules...), st
}

func TestPut(t *testing.T) {
	ctx := context.Background()
	fs, real := newStore(t, Data(Put, func(c Call) Fault {
		switch c.Attempt {
		case 0:
			return Fault{Err: errBoom, Land: true}
		case 1:
			return Fault{Err: errBoom}
		}
		return Fault{}
	}))
	require.ErrorIs(t, fs.Put(ctx, "a/b", []byte("1")), errBoom)
	got, err := sessionstore.ReadAll(mustGet(t, real, "a/b"), 10)
	require.NoError(t, err)
	assert.Equal(t, "1", string(got), "Land: stored, then failed")

	require.ErrorIs(t, fs.Put(ctx, "a/b", []byte("2")), errBoom)
	got, err = sessionstore.ReadAll(mustGet(t, real, "a/b"), 10)
	require.NoError(t, err)
	assert.Equal(t, "1", string(got), "failed without storing")

	require.NoError(t, fs.Put(ctx, "a/b", []byte("3")))
	require.NoError(t, fs.Put(ctx, "sessions/s/metadata.json", []byte("{}")), "Data leaves metadata.json alone")
	assert.Equal(t, []Call{{Put, "a/b", 0}, {Put, "a/b", 1}, {Put, "a/b", 2}, {Put, "sessions/s/metadata.json", 0}}, fs.Calls(Put))
	fs.Heal()
	fs.Inject(Once(Put, Fault{Err: errBoom}))
	require.ErrorIs(t, fs.Put(ctx, "c", nil), errBoom)
	require.NoError(t, fs.Put(ctx, "c", nil))
	fs.Inject(func(Call) Fault { return Fault{Err: errBoom} })
	require.ErrorIs(t, fs.Delete(ctx, "c"), errBoom)
	require.ErrorIs(t, fs.Ping(ctx), errBoom)
	fs.Heal()
	require.NoError(t, fs.Delete(ctx, "c"))
}

func mustGet(t *testing.T, s sessionstore.Store, key string) io.Reader {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func TestGetBreaksOff(t *testing.T) {
	ctx := context.Background()
	fs, real := newStore(t)
	require.NoError(t, real.Put(ctx, "k", []byte("0123456789")))
	fs.Inject(Once(Get, Fault{Err: errBoom, After: 4}))
	rc, err := fs.Get(ctx, "k")
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, "0123", string(data))
	require.NoError(t, rc.Close())

	fs.Inject(Once(Get, Fault{Err: errBoom, After: 100})) // longer than the object
	rc, err = fs.Get(ctx, "k")
	require.NoError(t, err)
	data, err = io.ReadAll(rc)
	require.ErrorIs(t, err, errBoom, "the transfer still breaks")
	assert.Equal(t, "0123456789", string(data))
	require.NoError(t, rc.Close())

	fs.Inject(Once(Get, Fault{Err: errBoom}))
	_, err = fs.Get(ctx, "k")
	require.ErrorIs(t, err, errBoom)
}

func TestListBreaksOff(t *testing.T) {
	ctx := context.Background()
	fs, real := newStore(t)
	for _, k := range []string{"p/a", "p/b", "p/c"} {
		require.NoError(t, real.Put(ctx, k, nil))
	}
	for _, tt := range []struct {
		after int
		want  []string
	}{{0, nil}, {2, []string{"p/a", "p/b"}}, {3, []string{"p/a", "p/b", "p/c"}}, {9, []string{"p/a", "p/b", "p/c"}}} {
		fs.Inject(Once(List, Fault{Err: errBoom, After: tt.after}))
		var got []string
		var gotErr error
		for info, err := range fs.List(ctx, "p/") {
			if err != nil {
				gotErr = err
				break
			}
			got = append(got, info.Key)
		}
		assert.Equal(t, tt.want, got, "after %d", tt.after)
		assert.ErrorIs(t, gotErr, errBoom, "after %d", tt.after)
	}
	fs.Inject(Once(ListPrefixes, Fault{Err: errBoom}))
	_, err := fs.ListPrefixes(ctx, "p/")
	require.ErrorIs(t, err, errBoom)
	prefixes, err := fs.ListPrefixes(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"p/"}, prefixes)
}

func TestDelayHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs, _ := newStore(t, func(c Call) Fault { return Fault{Delay: time.Minute} })
		start := time.Now()
		require.NoError(t, fs.Put(context.Background(), "k", nil))
		assert.Equal(t, time.Minute, time.Since(start))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := fs.Get(ctx, "k")
		require.ErrorIs(t, err, context.DeadlineExceeded, "a stalled call ends with its context")
		assert.Equal(t, time.Minute+time.Second, time.Since(start))
	})
}

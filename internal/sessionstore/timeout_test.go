package sessionstore_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
)

// TestWithTimeoutBoundsEveryCall: a store that never answers fails each
// call after store.timeout, with an error that says so and that is worth
// retrying, whatever the caller's context.
func TestWithTimeoutBoundsEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.Put(ctx, "k", []byte("x")))
		hang := faultstore.New(st, func(faultstore.Call) faultstore.Fault { return faultstore.Fault{Delay: 24 * time.Hour} })
		bounded := sessionstore.WithTimeout(hang, 30*time.Second)

		calls := map[string]func() error{
			"put":    func() error { return bounded.Put(ctx, "k", nil) },
			"get":    func() error { _, err := bounded.Get(ctx, "k"); return err },
			"delete": func() error { return bounded.Delete(ctx, "k") },
			"ping":   func() error { return bounded.Ping(ctx) },
			"list_prefixes": func() error {
				_, err := bounded.ListPrefixes(ctx, "")
				return err
			},
			"list": func() error {
				for _, err := range bounded.List(ctx, "") {
					return err
				}
				return nil
			},
		}
		for name, call := range calls {
			start := time.Now()
			err := call()
			require.ErrorIs(t, err, context.DeadlineExceeded, name)
			assert.Contains(t, err.Error(), "store.timeout 30s", name)
			assert.False(t, sessionstore.IsPermanent(err), name)
			assert.Equal(t, 30*time.Second, time.Since(start), name)
		}

		// A caller's own deadline is the caller's: no store.timeout blame.
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		err = bounded.Put(short, "k", nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotContains(t, err.Error(), "store.timeout")

		// Reading a body is inside the bound too, until Close.
		hang.Heal()
		hang.Inject(faultstore.Once(faultstore.Get, faultstore.Fault{Err: io.ErrUnexpectedEOF, After: 1}))
		rc, err := bounded.Get(ctx, "k")
		require.NoError(t, err)
		_, err = io.ReadAll(rc)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.NoError(t, rc.Close())
		rc, err = bounded.Get(ctx, "k")
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		assert.Equal(t, "x", string(data))
		require.NoError(t, rc.Close())

		assert.Same(t, st, sessionstore.WithTimeout(st, 0), "no bound: the store as it is")
	})
}

// TestWithTimeoutListingCountsStoreTimeOnly: a caller that takes its time
// over each entry of a long listing (deleting, recounting, pacing a
// replay) is not cut off by store.timeout; a page that never comes is.
func TestWithTimeoutListingCountsStoreTimeOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
		require.NoError(t, err)
		defer st.Close()
		keys := []string{"a/1", "b/1", "c/1", "d/1"} // one directory read each
		for _, k := range keys {
			require.NoError(t, st.Put(ctx, k, []byte("x")))
		}
		bounded := sessionstore.WithTimeout(st, 30*time.Second)
		var got []string
		for info, err := range bounded.List(ctx, "") {
			require.NoError(t, err)
			got = append(got, info.Key)
			time.Sleep(time.Minute) // the caller's time, not the store's
		}
		assert.Equal(t, keys, got)

		hang := faultstore.New(st, func(c faultstore.Call) faultstore.Fault {
			if c.Op == faultstore.List {
				return faultstore.Fault{Delay: 24 * time.Hour}
			}
			return faultstore.Fault{}
		})
		start := time.Now()
		for _, err := range sessionstore.WithTimeout(hang, 30*time.Second).ListAfter(ctx, "", "b/1") {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		assert.Equal(t, 30*time.Second, time.Since(start))
	})
}

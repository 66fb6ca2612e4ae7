package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"fmt"
	"io"
	"iter"
	"time"
)

// DefaultTimeout bounds one store call unless store.timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// WithTimeout bounds every call of s by d, whatever the caller's context:
// a half-open connection or a hung filesystem then fails a call (with an
// error matching context.DeadlineExceeded, which is worth retrying) instead
// of freezing whoever waits on it. For Get the bound covers reading the
// object to the end; for List, the whole listing. d <= 0 leaves s as it is.
func WithTimeout(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	return &boundedStore{Store: s, timeout: d}
}

type boundedStore struct {
	Store
	timeout time.Duration
}

// call runs one store call under the bound; an error of a call that ran
// out of time says so.
func (b *boundedStore) call(ctx context.Context, f func(context.Context) error) error {
	bctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.explain(ctx, bctx, f(bctx))
}

func (b *boundedStore) explain(parent, bounded context.Context, err error) error {
	if err != nil && parent.Err() == nil && bounded.Err() != nil {
		return fmt.Errorf("%w (the store did not answer within store.timeout %s)", err, b.timeout)
	}
	return err
}

func (b *boundedStore) Put(ctx context.Context, key string, data []byte) error {
	return b.call(ctx, func(ctx context.Context) error { return b.Store.Put(ctx, key, data) })
}

func (b *boundedStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	bctx, cancel := context.WithTimeout(ctx, b.timeout)
	rc, err := b.Store.Get(bctx, key)
	if err != nil {
		err = b.explain(ctx, bctx, err)
		cancel()
		return nil, err
	}
	return &boundedReader{ReadCloser: rc, cancel: cancel}, nil
}

func (b *boundedStore) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		bctx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		for info, err := range b.Store.List(bctx, prefix) {
			if !yield(info, b.explain(ctx, bctx, err)) {
				return
			}
		}
	}
}

func (b *boundedStore) ListPrefixes(ctx context.Context, prefix string) (out []string, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		out, err = b.Store.ListPrefixes(ctx, prefix)
		return err
	})
	return out, err
}

func (b *boundedStore) Delete(ctx context.Context, key string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.Store.Delete(ctx, key) })
}

func (b *boundedStore) Ping(ctx context.Context) error {
	return b.call(ctx, b.Store.Ping)
}

// boundedReader ends its call's deadline when the object is closed.
type boundedReader struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r *boundedReader) Close() error {
	err := r.ReadCloser.Close()
	r.cancel()
	return err
}

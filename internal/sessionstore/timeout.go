package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"
)

// DefaultTimeout bounds one store call unless store.timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// WithTimeout bounds every call of s by d, whatever the caller's context:
// a half-open connection or a hung filesystem then fails a call (with an
// error matching context.DeadlineExceeded, which is worth retrying) instead
// of freezing whoever waits on it. For Get the bound covers reading the
// object to the end; for List, the store's time between entries. d <= 0 leaves s as it is.
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

func (b *boundedStore) Copy(ctx context.Context, src, dst string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.Store.Copy(ctx, src, dst) })
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
	return b.ListAfter(ctx, prefix, "")
}

// ListAfter bounds the store's own time: the clock runs while the listing
// fetches its next entries (a page of an S3 listing, a directory read), and
// stops while the caller handles an entry, so a caller that works through
// a long listing slowly (deleting, recounting) is not cut off, and a page
// that never comes is.
func (b *boundedStore) ListAfter(ctx context.Context, prefix, startAfter string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		lctx := newListingContext(ctx, b.timeout)
		defer lctx.stop()
		lctx.run()
		for info, err := range b.Store.ListAfter(lctx, prefix, startAfter) {
			lctx.pause()
			if !yield(info, b.explain(ctx, lctx, err)) {
				return
			}
			lctx.run()
		}
	}
}

// listingContext is a context that ends when its parent does, or after
// timeout of running time: the clock runs between run and pause only.
type listingContext struct {
	context.Context // the parent, for values and deadline
	timeout         time.Duration
	done            chan struct{}
	timer           *time.Timer
	stopParent      func() bool

	mu  sync.Mutex
	err error
}

func newListingContext(parent context.Context, timeout time.Duration) *listingContext {
	c := &listingContext{Context: parent, timeout: timeout, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, func() { c.end(context.DeadlineExceeded) })
	c.timer.Stop()
	c.stopParent = context.AfterFunc(parent, func() { c.end(parent.Err()) })
	return c
}

func (c *listingContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

func (c *listingContext) run()   { c.timer.Reset(c.timeout) }
func (c *listingContext) pause() { c.timer.Stop() }

func (c *listingContext) stop() {
	c.timer.Stop()
	c.stopParent()
}

func (c *listingContext) Done() <-chan struct{} { return c.done }

func (c *listingContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
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

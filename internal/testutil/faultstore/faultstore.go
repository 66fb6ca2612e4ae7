// Package faultstore is the one fault-injecting session store of the
// tests: it wraps a real store (filesystem or S3) and makes chosen calls
// fail, fail after doing their work, stall, or break off part-way, the way
// a store and its network misbehave in production. Every fault test of
// every package uses it, so a fault is written once and means the same
// everywhere.
package faultstore // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"

import (
	"context"
	"io"
	"iter"
	"path"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Op is a store operation.
type Op string

// The operations of sessionstore.Store a fault can hit.
const (
	Put          Op = "put"
	Get          Op = "get"
	List         Op = "list"
	ListPrefixes Op = "list_prefixes"
	Delete       Op = "delete"
	Copy         Op = "copy"
	Ping         Op = "ping"
)

// Call is one call to the store.
type Call struct {
	Op  Op
	Key string // the key, or the prefix of a listing
	// Attempt counts the earlier calls with the same Op and Key.
	Attempt int
}

// IsMetadata reports whether the call is about session metadata: a
// metadata.json or a writer's file (sessions/{id}/writers/{writer}.json).
func (c Call) IsMetadata() bool {
	dir := path.Base(path.Dir(c.Key))
	return path.Base(c.Key) == "metadata.json" || dir == "writers" || dir == "snapshots"
}

// Fault is what happens to one call. The zero Fault lets it through.
type Fault struct {
	// Err fails the call with this error.
	Err error
	// Land performs the call before failing it with Err: a write that was
	// stored but whose answer was lost (a timeout after the fact).
	Land bool
	// After, for List and Get, lets this many entries (List) or bytes
	// (Get) through before failing with Err: a listing or a download that
	// breaks off part-way.
	After int
	// Delay holds the call this long first (a slow or half-open
	// connection); the call gives up with ctx's error if ctx ends first.
	Delay time.Duration
}

// Rule chooses the fault of a call; the zero Fault means none.
type Rule func(Call) Fault

// Store wraps a store with faults. It is safe for concurrent use.
type Store struct {
	sessionstore.Store

	mu    sync.Mutex
	rules []Rule
	calls []Call
}

var _ sessionstore.Store = (*Store)(nil)

// New wraps s; rules are consulted in order, the first fault wins.
func New(s sessionstore.Store, rules ...Rule) *Store {
	return &Store{Store: s, rules: rules}
}

// Inject adds a rule.
func (s *Store) Inject(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
}

// Heal removes every rule: the store behaves again.
func (s *Store) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Calls returns the calls of op made so far, in order (all calls if op is "").
func (s *Store) Calls(op Op) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// fault records the call and returns its fault.
func (s *Store) fault(ctx context.Context, op Op, key string) (Fault, error) {
	s.mu.Lock()
	c := Call{Op: op, Key: key}
	for _, prev := range s.calls {
		if prev.Op == op && prev.Key == key {
			c.Attempt++
		}
	}
	s.calls = append(s.calls, c)
	rules := s.rules
	s.mu.Unlock()
	var f Fault
	for _, r := range rules {
		if f = r(c); f != (Fault{}) {
			break
		}
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-t.C:
		}
	}
	return f, nil
}

// Put implements sessionstore.Store.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	f, err := s.fault(ctx, Put, key)
	if err != nil {
		return err
	}
	if f.Err == nil || f.Land {
		if err := s.Store.Put(ctx, key, data); err != nil {
			return err
		}
	}
	return f.Err
}

// Get implements sessionstore.Store.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := s.fault(ctx, Get, key)
	if err != nil {
		return nil, err
	}
	if f.Err != nil && f.After == 0 {
		return nil, f.Err
	}
	rc, err := s.Store.Get(ctx, key)
	if err != nil || f.Err == nil {
		return rc, err
	}
	return &breakingReader{rc: rc, left: f.After, err: f.Err}, nil
}

// List implements sessionstore.Store.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[sessionstore.ObjectInfo, error] {
	return s.ListAfter(ctx, prefix, "")
}

// ListAfter implements sessionstore.Store; its calls are List calls (Key
// is the prefix), so a resumed listing is the next attempt of the same.
func (s *Store) ListAfter(ctx context.Context, prefix, startAfter string) iter.Seq2[sessionstore.ObjectInfo, error] {
	return func(yield func(sessionstore.ObjectInfo, error) bool) {
		f, err := s.fault(ctx, List, prefix)
		if err != nil {
			yield(sessionstore.ObjectInfo{}, err)
			return
		}
		n := 0
		for info, err := range s.Store.ListAfter(ctx, prefix, startAfter) {
			if f.Err != nil && n == f.After {
				yield(sessionstore.ObjectInfo{}, f.Err)
				return
			}
			n++
			if !yield(info, err) {
				return
			}
		}
		if f.Err != nil {
			yield(sessionstore.ObjectInfo{}, f.Err) // no more than After entries: fail at the end
		}
	}
}

// ListPrefixes implements sessionstore.Store.
func (s *Store) ListPrefixes(ctx context.Context, prefix string) ([]string, error) {
	f, err := s.fault(ctx, ListPrefixes, prefix)
	if err != nil {
		return nil, err
	}
	if f.Err != nil {
		return nil, f.Err
	}
	return s.Store.ListPrefixes(ctx, prefix)
}

// Copy implements sessionstore.Store; the call's Key is dst.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	f, err := s.fault(ctx, Copy, dst)
	if err != nil {
		return err
	}
	if f.Err == nil || f.Land {
		if err := s.Store.Copy(ctx, src, dst); err != nil {
			return err
		}
	}
	return f.Err
}

// Delete implements sessionstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	f, err := s.fault(ctx, Delete, key)
	if err != nil {
		return err
	}
	if f.Err == nil || f.Land {
		if err := s.Store.Delete(ctx, key); err != nil {
			return err
		}
	}
	return f.Err
}

// Ping implements sessionstore.Store.
func (s *Store) Ping(ctx context.Context) error {
	f, err := s.fault(ctx, Ping, "")
	if err != nil {
		return err
	}
	if f.Err != nil {
		return f.Err
	}
	return s.Store.Ping(ctx)
}

// breakingReader passes left bytes through, then fails with err.
type breakingReader struct {
	rc   io.ReadCloser
	left int
	err  error
}

func (r *breakingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, r.err
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= n
	if err == io.EOF {
		return n, r.err // the object ended first: still a broken transfer
	}
	return n, err
}

func (r *breakingReader) Close() error { return r.rc.Close() }

// Data matches calls on data objects (not session metadata) of op.
func Data(op Op, f func(Call) Fault) Rule {
	return func(c Call) Fault {
		if c.Op != op || c.IsMetadata() {
			return Fault{}
		}
		return f(c)
	}
}

// Once fails the first call of op (on any key) with f, and no other.
func Once(op Op, f Fault) Rule {
	var mu sync.Mutex
	done := false
	return func(c Call) Fault {
		mu.Lock()
		defer mu.Unlock()
		if c.Op != op || done {
			return Fault{}
		}
		done = true
		return f
	}
}

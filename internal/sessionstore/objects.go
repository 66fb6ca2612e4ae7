package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// Object is a data object of a session: its parsed key and stored size.
type Object struct {
	ObjectKey
	Key  string // the key as stored
	Size int64  // stored (compressed) bytes
}

// Exists reports whether an object is stored under key, with one listing
// call (S3's ListObjectsV2 needs only the list permission a reader has
// anyway; a HEAD would need GetObject).
func Exists(ctx context.Context, s Store, key string) (bool, error) {
	for info, err := range s.List(ctx, key) {
		if err != nil {
			return false, err
		}
		if info.Key == key {
			return true, nil
		}
		if info.Key > key {
			break
		}
	}
	return false, nil
}

// ListObjects yields the data objects of a session in key order, which is
// capture-time order. Keys that do not follow the layout are yielded as
// errors wrapping ErrCorrupt and the listing goes on; a store error ends it.
func ListObjects(ctx context.Context, s Store, sessionID string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		if err := ValidateSessionID(sessionID); err != nil {
			yield(Object{}, err)
			return
		}
		for info, err := range s.List(ctx, RawPrefix(sessionID)) {
			if err != nil {
				yield(Object{}, err)
				return
			}
			k, perr := ParseObjectKey(info.Key)
			if perr != nil {
				if !yield(Object{Key: info.Key, Size: info.Size}, fmt.Errorf("%w: %w", ErrCorrupt, perr)) {
					return
				}
				continue
			}
			if k.SessionID != sessionID {
				continue
			}
			if !yield(Object{ObjectKey: k, Key: info.Key, Size: info.Size}, nil) {
				return
			}
		}
	}
}

// CopyToSession copies the data object stored under key into session id
// under the key of the same signal, capture time and uuid, so that it
// lists, replays and counts there as where it came from (and a second
// copy of it is the same key), and returns that key. The store copies (a
// server-side copy on S3, a hard link on a directory): the data does not
// pass through the caller. A key that is not a data object's fails with
// ErrCorrupt; a missing object with ErrNotFound.
func CopyToSession(ctx context.Context, s Store, key, id string) (string, error) {
	if err := ValidateSessionID(id); err != nil {
		return "", err
	}
	k, err := ParseObjectKey(key)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	k.SessionID = id
	dst := k.String()
	if err := s.Copy(ctx, key, dst); err != nil {
		return "", fmt.Errorf("copy %s: %w", key, err)
	}
	return dst, nil
}

// MaxStoredSize is the largest stored (gzip) size of an object that
// inflates to at most maxBytes: deflate's worst case on incompressible data
// (stored blocks, 5 bytes per 64 KiB) plus the gzip header and trailer,
// with room to spare. A larger object is refused before it is read.
func MaxStoredSize(maxBytes int64) int64 {
	return maxBytes + maxBytes/64 + 4096
}

// ReadStored reads the stored (compressed) bytes of a data object whose
// content may inflate to maxBytes. An object larger than MaxStoredSize is
// refused with ErrTooLarge, by its listed size without reading it, or while
// reading if the listing understated it. A failure of the store or the
// connection is returned as it is (retrying may help); it never matches
// ErrCorrupt. The listed size sizes the buffer (one allocation).
func ReadStored(ctx context.Context, s Store, o Object, maxBytes int64) ([]byte, error) {
	limit := MaxStoredSize(maxBytes)
	if o.Size > limit {
		return nil, fmt.Errorf("%s: %w: stored size %d exceeds %d for a %d-byte cap", o.Key, ErrTooLarge, o.Size, limit, maxBytes)
	}
	rc, err := s.Get(ctx, o.Key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := readAllSized(rc, limit, o.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Key, err)
	}
	return data, nil
}

// ReadObject fetches and decodes one data object, inflating at most
// maxBytes. It returns the batch and its uncompressed size; errors name the
// key.
func ReadObject(ctx context.Context, s Store, o Object, maxBytes int64) (Batch, int, error) {
	data, err := ReadStored(ctx, s, o, maxBytes)
	if err != nil {
		return Batch{Signal: o.Signal}, 0, err
	}
	b, n, err := Decode(o.Signal, data, maxBytes)
	if err != nil {
		return b, n, fmt.Errorf("%s: %w", o.Key, err)
	}
	return b, n, nil
}

// ListObjectsByTime yields the data objects of a session in capture-time
// order across all signals (ties broken by key), as an ObjectLister does,
// in one attempt: a store error ends it.
func ListObjectsByTime(ctx context.Context, s Store, sessionID string) iter.Seq2[Object, error] {
	return NewObjectLister(s, sessionID).All(ctx)
}

// ObjectLister lists the data objects of a session in capture-time order
// across all signals (ties broken by key), and resumes a listing that
// failed where it broke off. Key order is time order only per signal,
// because the signal leads the file name (an hour lists logs, then
// metrics, then traces), so the objects of one hour directory are
// gathered and sorted before any is yielded: memory is bounded by the
// objects of one hour, never by the session.
type ObjectLister struct {
	store   Store
	session string
	after   string   // the last key listed
	hour    string   // the directory of the objects in buf
	buf     []Object // listed, not yielded yet
}

// NewObjectLister returns a lister of the session's objects.
func NewObjectLister(s Store, sessionID string) *ObjectLister {
	return &ObjectLister{store: s, session: sessionID}
}

// From starts a lister that has not listed yet at the hour directory of t:
// objects captured in earlier hours are not listed.
func (l *ObjectLister) From(t time.Time) {
	if l.after == "" {
		l.after = RawPrefix(l.session) + t.UTC().Format("2006-01-02/15")
	}
}

// All yields the objects. A key that does not follow the layout is
// yielded once, as an error wrapping ErrCorrupt, when it is listed, and
// the listing goes on. A store error is yielded and ends the call; the next
// call resumes the listing after the last key it got (S3 StartAfter), with
// the objects of the unfinished hour kept, so that across calls every
// object is yielded exactly once and in order.
func (l *ObjectLister) All(ctx context.Context) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		if err := ValidateSessionID(l.session); err != nil {
			yield(Object{}, err)
			return
		}
		for info, err := range l.store.ListAfter(ctx, RawPrefix(l.session), l.after) {
			if err != nil {
				yield(Object{}, err)
				return
			}
			l.after = info.Key
			if dir := info.Key[:strings.LastIndexByte(info.Key, '/')]; dir != l.hour {
				if !l.flush(yield) {
					return
				}
				l.hour = dir
			}
			k, perr := ParseObjectKey(info.Key)
			switch {
			case perr != nil:
				if !yield(Object{Key: info.Key, Size: info.Size}, fmt.Errorf("%w: %w", ErrCorrupt, perr)) {
					return
				}
			case k.SessionID == l.session:
				l.buf = append(l.buf, Object{ObjectKey: k, Key: info.Key, Size: info.Size})
			}
		}
		l.flush(yield)
	}
}

// flush yields the gathered objects of one hour in time order.
func (l *ObjectLister) flush(yield func(Object, error) bool) bool {
	slices.SortFunc(l.buf, func(a, b Object) int {
		if c := a.CaptureTime.Compare(b.CaptureTime); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	for len(l.buf) > 0 {
		o := l.buf[0]
		l.buf = l.buf[1:]
		if !yield(o, nil) {
			return false
		}
	}
	l.buf = nil
	return true
}

// Lister lists data objects in capture-time order, resuming where a failed
// listing broke off: an ObjectLister (one session) or a MergedLister
// (several as one).
type Lister interface {
	// From starts the listing at the hour of t (before the first call of
	// All): earlier hours are not listed.
	From(t time.Time)
	// All yields the objects; a store error is yielded and ends the call,
	// and the next call resumes after the last object yielded.
	All(ctx context.Context) iter.Seq2[Object, error]
}

var (
	_ Lister = (*ObjectLister)(nil)
	_ Lister = (*MergedLister)(nil)
)

// NewLister lists the objects of one session, or of several merged into
// one timeline.
func NewLister(s Store, sessionIDs ...string) Lister {
	if len(sessionIDs) == 1 {
		return NewObjectLister(s, sessionIDs[0])
	}
	return NewMergedLister(s, sessionIDs)
}

// MergedLister lists the data objects of several sessions as one session:
// in capture-time order across all of them (ties broken by key), every
// object once, resuming a listing that failed where it broke off. Memory
// is bounded by one hour's objects per session.
type MergedLister struct {
	listers []*ObjectLister
	heads   []*Object // per session: listed, not yielded yet
	done    []bool    // per session: listed to its end
}

// NewMergedLister returns a lister of the sessions' objects.
func NewMergedLister(s Store, sessionIDs []string) *MergedLister {
	m := &MergedLister{heads: make([]*Object, len(sessionIDs)), done: make([]bool, len(sessionIDs))}
	for _, id := range sessionIDs {
		m.listers = append(m.listers, NewObjectLister(s, id))
	}
	return m
}

// From starts every session's listing at the hour of t.
func (m *MergedLister) From(t time.Time) {
	for _, l := range m.listers {
		l.From(t)
	}
}

// All yields the objects of all sessions in order. A key that does not
// follow the layout is yielded as an error wrapping ErrCorrupt (out of
// order: it has no time); a store error is yielded and ends the call.
func (m *MergedLister) All(ctx context.Context) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		type puller struct {
			next func() (Object, error, bool)
			stop func()
		}
		pullers := make([]*puller, len(m.listers))
		defer func() {
			for _, p := range pullers {
				if p != nil {
					p.stop()
				}
			}
		}()
		// fill lists session i's next object into its head; false: stop
		// (the consumer is done, or the store failed).
		fill := func(i int) bool {
			if m.done[i] || m.heads[i] != nil {
				return true
			}
			if pullers[i] == nil {
				next, stop := iter.Pull2(m.listers[i].All(ctx))
				pullers[i] = &puller{next: next, stop: stop}
			}
			for {
				o, err, ok := pullers[i].next()
				switch {
				case !ok:
					m.done[i] = true
					return true
				case err == nil:
					m.heads[i] = &o
					return true
				case errors.Is(err, ErrCorrupt):
					if !yield(o, err) {
						return false
					}
				default:
					yield(Object{}, err)
					return false
				}
			}
		}
		for {
			first := -1
			for i := range m.listers {
				if !fill(i) {
					return
				}
				if h := m.heads[i]; h != nil && (first < 0 || before(*h, *m.heads[first])) {
					first = i
				}
			}
			if first < 0 {
				return
			}
			o := *m.heads[first]
			m.heads[first] = nil
			if !yield(o, nil) {
				return
			}
		}
	}
}

// before orders objects by capture time, then key.
func before(a, b Object) bool {
	if c := a.CaptureTime.Compare(b.CaptureTime); c != 0 {
		return c < 0
	}
	return a.Key < b.Key
}

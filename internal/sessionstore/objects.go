package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Object is a data object of a session: its parsed key and stored size.
type Object struct {
	ObjectKey
	Key  string // the key as stored
	Size int64  // stored (compressed) bytes
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

// ReadObject fetches and decodes one data object, inflating at most
// maxBytes. It returns the batch and its uncompressed size; errors name the
// key.
func ReadObject(ctx context.Context, s Store, o Object, maxBytes int64) (Batch, int, error) {
	rc, err := s.Get(ctx, o.Key)
	if err != nil {
		return Batch{Signal: o.Signal}, 0, err
	}
	defer rc.Close()
	b, n, err := DecodeObject(rc, o.Signal, maxBytes)
	if err != nil {
		return b, n, fmt.Errorf("%s: %w", o.Key, err)
	}
	return b, n, nil
}

// ListObjectsByTime yields the data objects of a session in capture-time
// order across all signals (ties broken by key). Key order is time order
// only per signal, because the signal leads the file name; so the objects
// of one hour directory are buffered and sorted. Memory is bounded by the
// objects of one hour, never by the session.
func ListObjectsByTime(ctx context.Context, s Store, sessionID string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		var hour string
		var buf []Object
		flush := func() bool {
			slices.SortFunc(buf, func(a, b Object) int {
				if c := a.CaptureTime.Compare(b.CaptureTime); c != 0 {
					return c
				}
				return strings.Compare(a.Key, b.Key)
			})
			for _, o := range buf {
				if !yield(o, nil) {
					return false
				}
			}
			buf = buf[:0]
			return true
		}
		for o, err := range ListObjects(ctx, s, sessionID) {
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					if !yield(o, err) {
						return
					}
					continue
				}
				if flush() {
					yield(Object{}, err)
				}
				return
			}
			dir := o.Key[:strings.LastIndexByte(o.Key, '/')]
			if dir != hour {
				if !flush() {
					return
				}
				hour = dir
			}
			buf = append(buf, o)
		}
		flush()
	}
}

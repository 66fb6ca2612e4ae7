package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// Store is a flat key/value object store with lexicographically ordered
// listings, the common ground of a directory and an S3 bucket. Keys are
// slash-separated and relative to the store's root; the store adds its own
// root directory or bucket prefix.
type Store interface {
	// Put stores data under key, replacing any previous object. Readers never
	// observe a partially written object.
	Put(ctx context.Context, key string, data []byte) error
	// Get opens the object for reading. A missing object yields an error
	// that matches ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List yields the objects whose keys start with prefix, in ascending
	// key order. It stops at the first error, which it yields.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// ListAfter is List starting after the key startAfter ("": from the
	// start), so that a listing that failed part-way resumes where it
	// broke off (S3's StartAfter).
	ListAfter(ctx context.Context, prefix, startAfter string) iter.Seq2[ObjectInfo, error]
	// ListPrefixes returns the distinct next path segments under prefix
	// (which ends in "/"), each as a full prefix ending in "/", sorted:
	// an S3 listing with delimiter "/", or a directory read.
	ListPrefixes(ctx context.Context, prefix string) ([]string, error)
	// Copy stores the object src under dst as well, replacing any object
	// there, without the data passing through the caller: a server-side
	// copy on S3, a hard link (else a copy) on a directory. The copy
	// outlives src. A missing src yields an error that matches ErrNotFound.
	Copy(ctx context.Context, src, dst string) error
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable and usable (the bucket or the
	// directory exists and the credentials are accepted).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
	// String describes the store for logs, without secrets.
	String() string
	// KeyPrefix is what the store puts before every key within its
	// bucket ("" or ending in "/"; "" for a directory): metadata.json's
	// s3Prefix is told from the bucket root.
	KeyPrefix() string
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

var (
	// ErrNotFound reports a missing object, bucket or directory.
	ErrNotFound = errors.New("not found")
	// ErrInvalidKey reports a key that could escape the store's root or is
	// otherwise not a well formed relative key.
	ErrInvalidKey = errors.New("invalid key")
)

// permanentError marks failures that no retry can fix (access denied, no
// such bucket, an invalid key); everything else is worth retrying.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that IsPermanent reports true for it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err (or anything it wraps) can never succeed
// on retry.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrInvalidSessionID) ||
		errors.Is(err, ErrUnsupportedVersion)
}

// ValidateKey checks that key is a clean relative key: no leading slash, no
// empty, "." or ".." segments, no backslashes or control characters. Both
// backends call it so that no key can address anything outside the root.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w %q: control character or backslash", ErrInvalidKey, key)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("%w %q: empty, \".\" or \"..\" segment", ErrInvalidKey, key)
		}
	}
	return nil
}

// validatePrefix accepts "" or a prefix that is a valid key (a trailing "/"
// is allowed).
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}

// ReadAll reads all of r, failing with ErrTooLarge once more than limit
// bytes arrive. Everything read from storage goes through a limit.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	return readAllSized(r, limit, 0)
}

// readAllSized is ReadAll into one buffer of size bytes (and room to see
// the end) when size, a listed size, is right; it grows as ReadAll does
// when the listing understated it, never reading past limit+1 either way.
func readAllSized(r io.Reader, limit, size int64) ([]byte, error) {
	lr := io.LimitReader(r, limit+1)
	var data []byte
	var err error
	if size <= 0 || size > limit {
		data, err = io.ReadAll(lr)
	} else {
		buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
		_, err = buf.ReadFrom(lr)
		data = buf.Bytes()
	}
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

// ErrTooLarge reports an object (or its decompressed content) over a size cap.
var ErrTooLarge = errors.New("object too large")

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fsStore keeps objects as files under a root directory. All access goes
// through an os.Root, so no key can reach outside the directory even if
// validation were bypassed (symlinks included).
type fsStore struct {
	dir  string
	root *os.Root

	// known holds directories this store found or made (bounded): a Put
	// into one skips looking up the path's directories. If another process
	// removed it since, creating the temp file fails with ErrNotExist and
	// the Put forgets it and creates it again.
	mu    sync.Mutex
	known map[string]bool
}

// maxKnownDirs bounds fsStore.known (an hour directory per session and
// hour: a long run sees many).
const maxKnownDirs = 4096

func (s *fsStore) knows(dir string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known[dir]
}

func (s *fsStore) remember(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known == nil || len(s.known) >= maxKnownDirs {
		s.known = map[string]bool{}
	}
	s.known[dir] = true
}

// forget drops dir and the directories below it.
func (s *fsStore) forget(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.known {
		if d == dir || strings.HasPrefix(d, dir+"/") {
			delete(s.known, d)
		}
	}
}

var _ Store = (*fsStore)(nil)

// OpenFilesystem opens (creating it if needed) a filesystem store rooted at dir.
func OpenFilesystem(dir string) (Store, error) {
	if dir == "" {
		return nil, Permanent(errors.New("filesystem store: directory must not be empty"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, classifyFSError(fmt.Errorf("filesystem store: create %s: %w", dir, err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, classifyFSError(fmt.Errorf("filesystem store: open %s: %w", dir, err))
	}
	s := &fsStore{dir: dir, root: root}
	s.sweepTempFiles()
	return s, nil
}

func (s *fsStore) String() string { return "filesystem:" + s.dir }

// KeyPrefix implements Store: keys are relative to the directory.
func (s *fsStore) KeyPrefix() string { return "" }

func (s *fsStore) Close() error { return s.root.Close() }

func (s *fsStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.root.Stat("."); err != nil {
		return classifyFSError(fmt.Errorf("filesystem store %s: %w", s.dir, err))
	}
	return nil
}

func (s *fsStore) Put(ctx context.Context, key string, data []byte) error {
	return s.place(ctx, "put", key, func(tmp string) error { return s.writeFile(tmp, data) })
}

// Copy links dst to src's file (the copy outlives src: deleting one name
// leaves the other), or, where the filesystem has no hard links, copies
// the bytes; either way through a temp file renamed into place and synced
// as Put does.
func (s *fsStore) Copy(ctx context.Context, src, dst string) error {
	if err := ValidateKey(src); err != nil {
		return err
	}
	if _, err := s.root.Stat(src); err != nil {
		return classifyFSError(fmt.Errorf("copy %s: %w", src, err))
	}
	return s.place(ctx, "copy "+src+" to", dst, func(tmp string) error {
		if err := s.root.Link(src, tmp); err == nil {
			return nil
		}
		data, err := s.root.ReadFile(src)
		if err != nil {
			return err
		}
		return s.writeFile(tmp, data)
	})
}

// writeFile writes and syncs a new file (its data and size: syncData).
func (s *fsStore) writeFile(name string, data []byte) error {
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = syncData(f)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// place puts a file under key: fill makes it under a temp name in key's
// directory (created as needed), which is then renamed to key, and the
// rename and every directory created are synced (op names the call in
// errors).
func (s *fsStore) place(ctx context.Context, op, key string, fill func(tmp string) error) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, base := path.Split(key)
	if strings.HasPrefix(base, tempPrefix) {
		return fmt.Errorf("%w %q: names starting with %q are reserved", ErrInvalidKey, key, tempPrefix)
	}
	parent := strings.TrimSuffix(dir, "/")
	if parent == "" {
		parent = "."
	}
	// The directories this call creates: each needs its own entry synced
	// in its parent.
	var created []string
	makeParent := func() error {
		created = created[:0]
		for d := parent; d != "."; d = path.Dir(d) {
			if _, err := s.root.Stat(d); err == nil {
				break
			}
			created = append(created, d)
		}
		if len(created) > 0 {
			return s.root.MkdirAll(parent, 0o755)
		}
		return nil
	}
	known := s.knows(parent)
	if !known {
		if err := makeParent(); err != nil {
			return classifyFSError(fmt.Errorf("%s %s: %w", op, key, err))
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := dir + tempPrefix + base + "-" + hex.EncodeToString(rnd[:])
	werr := fill(tmp)
	if known && errors.Is(werr, fs.ErrNotExist) {
		// Removed since (a deleted session, another process): again,
		// making it.
		s.forget(parent)
		if err := makeParent(); err != nil {
			return classifyFSError(fmt.Errorf("%s %s: %w", op, key, err))
		}
		werr = fill(tmp)
	}
	if werr == nil {
		werr = s.root.Rename(tmp, key)
	}
	if werr != nil {
		_ = s.root.Remove(tmp)
		return classifyFSError(fmt.Errorf("%s %s: %w", op, key, werr))
	}
	// The file is synced; now the rename, and the entries of the
	// directories created for it, deepest first.
	if err := syncDir(s.root, parent); err != nil {
		return classifyFSError(fmt.Errorf("%s %s: sync %s: %w", op, key, parent, err))
	}
	for _, d := range created {
		if err := syncDir(s.root, path.Dir(d)); err != nil {
			return classifyFSError(fmt.Errorf("%s %s: sync %s: %w", op, key, path.Dir(d), err))
		}
	}
	s.remember(parent)
	return nil
}

func (s *fsStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, classifyFSError(fmt.Errorf("get %s: %w", key, err))
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, classifyFSError(fmt.Errorf("get %s: %w", key, err))
	}
	if st.IsDir() {
		_ = f.Close()
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return f, nil
}

func (s *fsStore) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return classifyFSError(fmt.Errorf("delete %s: %w", key, err))
	}
	// Prune directories left empty, so a deleted session disappears from
	// listings as it does on S3. A non-empty directory stops the walk.
	for dir := path.Dir(key); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if err := s.root.Remove(dir); err != nil {
			break
		}
		s.forget(dir)
	}
	return nil
}

// readDirSorted returns the entries of dir in the order S3 would list the
// keys beneath them: a directory sorts as its name followed by "/".
func (s *fsStore) readDirSorted(dir string) ([]fs.DirEntry, error) {
	name := dir
	if name == "" {
		name = "."
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	return entries, nil
}

func (s *fsStore) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return s.ListAfter(ctx, prefix, "")
}

func (s *fsStore) ListAfter(ctx context.Context, prefix, startAfter string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		// Start at the deepest directory the prefix names fully; entries
		// below it are filtered by the rest of the prefix.
		startDir := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			startDir = prefix[:i]
		}
		var walk func(dir string) bool
		walk = func(dir string) bool {
			if err := ctx.Err(); err != nil {
				return yield(ObjectInfo{}, err)
			}
			entries, err := s.readDirSorted(dir)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && dir == startDir {
					return true
				}
				return yield(ObjectInfo{}, classifyFSError(fmt.Errorf("list %s: %w", dir, err)))
			}
			for _, e := range entries {
				key := e.Name()
				if dir != "" {
					key = dir + "/" + key
				}
				if e.IsDir() {
					// Descend only where the prefix can still match, and
					// where keys after startAfter can be.
					if startAfter != "" && key+"/" < startAfter && !strings.HasPrefix(startAfter, key+"/") {
						continue
					}
					if strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/") {
						if !walk(key) {
							return false
						}
					}
					continue
				}
				if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), tempPrefix) || !strings.HasPrefix(key, prefix) || key <= startAfter {
					continue
				}
				info, err := e.Info()
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						continue // deleted while listing
					}
					return yield(ObjectInfo{}, classifyFSError(fmt.Errorf("list %s: %w", key, err)))
				}
				if !yield(ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime().UTC()}, nil) {
					return false
				}
			}
			return true
		}
		walk(startDir)
	}
}

func (s *fsStore) ListPrefixes(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := strings.TrimSuffix(prefix, "/")
	entries, err := s.readDirSorted(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, classifyFSError(fmt.Errorf("list %s: %w", prefix, err))
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), tempPrefix) {
			out = append(out, prefix+e.Name()+"/")
		}
	}
	return out, nil
}

// classifyFSError maps file system errors onto the store's error kinds:
// a missing file is ErrNotFound, a permission problem or a read-only file
// system is permanent, anything else (a full disk, I/O errors) is retryable.
func classifyFSError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return Permanent(err)
	case strings.Contains(err.Error(), "path escapes from parent"):
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return err
}

// syncDir fsyncs a directory of the store, so that the entries created or
// renamed in it survive a power loss (a variable so tests can watch).
var syncDir = func(r *os.Root, dir string) error {
	f, err := r.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// staleTempAge is how old a temp file must be before the store takes it
// for the leftover of a write a crash cut short.
const staleTempAge = time.Hour

// sweepTempFiles removes the temp files older than staleTempAge under the
// root (a younger one may be another process's write in progress).
func (s *fsStore) sweepTempFiles() {
	cutoff := time.Now().Add(-staleTempAge)
	_ = fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil // a sweep skips what it cannot read
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = s.root.Remove(p)
		}
		return nil
	})
}

package proc // import "github.com/recordreplay/otelcol-recordreplay/internal/proc"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ErrExited is what a wait returns when the process it waits for has exited.
var ErrExited = errors.New("the process exited")

// WaitDial waits until addr (host:port) accepts TCP connections, while t
// (if not nil) is alive, until ctx is done.
func WaitDial(ctx context.Context, addr string, t Target) error {
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		c, dialErr := d.DialContext(dctx, "tcp", addr)
		cancel()
		if dialErr == nil {
			_ = c.Close()
			return nil
		}
		if err := pause(ctx, t); err != nil {
			return fmt.Errorf("%s: %w (last: %v)", addr, err, dialErr)
		}
	}
}

// WaitHTTP waits until a GET of url answers with a status that ok accepts,
// while t (if not nil) is alive, until ctx is done. It returns the last
// status (0: no answer).
func WaitHTTP(ctx context.Context, url string, ok func(status int) bool, t Target) (int, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	status := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err == nil {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			if ok(status) {
				return status, nil
			}
		}
		if err := pause(ctx, t); err != nil {
			return status, fmt.Errorf("%s: %w", url, err)
		}
	}
}

// pause waits a little; it fails when t has exited or ctx is done.
func pause(ctx context.Context, t Target) error {
	if t != nil && !t.Alive() {
		return ErrExited
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(poll):
		return nil
	}
}

// WaitExit waits until t is gone, until ctx is done.
func WaitExit(ctx context.Context, t Target) error {
	for t.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	return nil
}

// LogTail returns the last n lines of the file at path (from at most its
// last 64 KiB).
func LogTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const most = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > most {
		if _, err := f.Seek(-most, io.SeekEnd); err != nil {
			return nil
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, most))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines[max(0, len(lines)-n):]
}

// WaitLog waits until the file at path contains text, while t (if not nil)
// is alive, until ctx is done. It reads the file as it grows, once; what a
// process logged before it exited is found.
func WaitLog(ctx context.Context, path, text string, t Target) error {
	var (
		offset int64
		tail   []byte // the end of what was read, for a text split across reads
		buf    = make([]byte, 64<<10)
	)
	found := func() bool {
		f, err := os.Open(path)
		if err != nil {
			return false
		}
		defer f.Close()
		for {
			n, err := f.ReadAt(buf, offset)
			offset += int64(n)
			tail = append(tail, buf[:n]...)
			if strings.Contains(string(tail), text) {
				return true
			}
			tail = tail[max(0, len(tail)-len(text)):]
			if err != nil || n == 0 {
				return false
			}
		}
	}
	for {
		exited := t != nil && !t.Alive() // before the read, which then sees all it wrote
		if found() {
			return nil
		}
		if exited {
			return fmt.Errorf("%q in %s: %w", text, path, ErrExited)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%q in %s: %w", text, path, ctx.Err())
		case <-time.After(poll):
		}
	}
}

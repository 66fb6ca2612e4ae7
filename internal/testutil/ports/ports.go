// Package ports hands out loopback TCP ports for test servers.
package ports // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// held keeps the lock files of the ports this process took open: the
// kernel releases their locks when the process exits.
var (
	mu   sync.Mutex
	held []*os.File
)

// Free returns a loopback port that was free a moment ago and that no other
// test process of this machine holds. Ports come from below the kernel's
// ephemeral range, so an outgoing connection of another test cannot take
// the port between this check and the server binding it (a ":0" listener
// would hand out exactly such ports). `go test ./...` runs packages in
// parallel processes: each port is reserved with an advisory lock on a
// file named after it, held until the test process exits, so two packages
// never start servers on one port (a test would then talk to the other's
// server).
func Free(tb testing.TB) int {
	tb.Helper()
	lo, hi := 20000, 32000
	var elo, ehi int
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if _, err := fmt.Sscan(string(data), &elo, &ehi); err == nil && elo > 11000 {
			hi = min(hi, elo-1)
			lo = min(lo, hi-1000)
		}
	}
	dir := filepath.Join(os.TempDir(), "otelcol-recordreplay-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		tb.Fatalf("port lock directory: %v", err)
	}
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if !reserve(dir, p) {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // reserved by us now, but in use by something else: leave it
		}
		_ = l.Close()
		return p
	}
	tb.Fatal("no free loopback port")
	return 0
}

// reserve takes the lock of port p for the rest of this process's life.
func reserve(dir string, p int) bool {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", p)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return false
	}
	mu.Lock()
	held = append(held, f)
	mu.Unlock()
	return true
}

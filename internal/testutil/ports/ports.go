// Package ports hands out loopback TCP ports for test servers.
package ports // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
)

// Free returns a loopback port that was free a moment ago. Ports come from
// below the kernel's ephemeral range, so an outgoing connection of another
// test cannot take the port between this check and the server binding it
// (a ":0" listener would hand out exactly such ports).
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
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p
	}
	tb.Fatal("no free loopback port")
	return 0
}

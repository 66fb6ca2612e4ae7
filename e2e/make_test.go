package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeDurationsAreSeconds: in the make targets a bare number of
// DURATION means seconds (the seed tooling's habit), so `make seed
// DURATION=60` seeds a minute, not 60 ns; a value with a unit passes as it
// is. (`make -n` prints the commands without running them.)
func TestMakeDurationsAreSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ target, duration, want string }{
		{"seed", "60", "SEED_DURATION=60s"},
		{"seed", "1m", "SEED_DURATION=1m"},
		{"replay", "90", "REPLAY_MAX_DURATION=90s"},
		{"replay-seed", "2.5", "REPLAY_MAX_DURATION=2.5s"},
		{"replay", "5m", "REPLAY_MAX_DURATION=5m"},
	} {
		out, err := exec.Command("make", "-n", "-C", "..", tc.target, "DURATION="+tc.duration).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.True(t, strings.Contains(string(out), tc.want), "make %s DURATION=%s: want %s among the commands", tc.target, tc.duration, tc.want)
	}
}

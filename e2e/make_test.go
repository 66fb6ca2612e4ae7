package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestMakeReplayTargetChecks: `make replay` stops before anything runs on a
// bad REPLAY_PROTOCOL or a bare host for OTLP/HTTP, naming the value; it
// picks the exporter from REPLAY_PROTOCOL (make -n prints the commands
// without running them).
func TestMakeReplayTargetChecks(t *testing.T) {
	t.Parallel()
	makeN := func(args ...string) (string, error) {
		cmd := exec.Command("make", append([]string{"-n", "-C", ".."}, args...)...)
		cmd.Env = makeEnv()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "REPLAY_PROTOCOL=grcp", "REPLAY_ENDPOINT=t:4317"}, "REPLAY_PROTOCOL=grcp: want grpc or http"},
		{[]string{"replay-seed", "REPLAY_PROTOCOL=HTTP"}, "REPLAY_PROTOCOL=HTTP: want grpc or http"},
		{[]string{"replay", "REPLAY_ENDPOINT=t:4318"}, "REPLAY_ENDPOINT=t:4318: OTLP/HTTP needs a URL (http://t:4318)"},
	} {
		out, err := makeN(tc.args...)
		assert.Error(t, err, "make %v", tc.args)
		assert.True(t, strings.Contains(out, tc.want), "make %v: want %q in:\n%s", tc.args, tc.want, out)
		assert.NotContains(t, out, "otelcol-recordreplay --config", "make %v ran the replay", tc.args)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "REPLAY_EXPORTER=debug "},
		{[]string{"replay", "REPLAY_ENDPOINT=http://t:4318"}, "REPLAY_EXPORTER=otlp_http REPLAY_ENDPOINT=http://t:4318 "},
		{[]string{"replay", "REPLAY_PROTOCOL=grpc", "REPLAY_ENDPOINT=t:4317"}, "REPLAY_EXPORTER=otlp_grpc REPLAY_ENDPOINT=t:4317 "},
		{[]string{"replay", "REPLAY_EXTRA_CONFIG=configs/replay-rewrites.yaml"}, "--config configs/replay.yaml --config configs/replay-rewrites.yaml"},
	} {
		out, err := makeN(tc.args...)
		require.NoError(t, err, "make %v:\n%s", tc.args, out)
		assert.True(t, strings.Contains(out, tc.want), "make %v: want %q in:\n%s", tc.args, tc.want, out)
	}
}

// TestReplayScriptHeaders: scripts/replay.sh (make replay) hands the
// collector REPLAY_HEADERS given as name=value pairs as the YAML map
// configs/replay.yaml takes, as the image's entrypoint does (the same cases
// as cmd/imagestart's TestReplayEnv); a YAML map goes as it is; a pair that
// is not name=value stops it (exit status 2) before the collector runs.
func TestReplayScriptHeaders(t *testing.T) {
	t.Parallel()
	run := func(headers string) (string, error) {
		// the "collector" prints the variable it was given
		cmd := exec.Command("scripts/replay.sh", "sh", "-c", `printf 'headers<%s>\n' "$REPLAY_HEADERS"`)
		cmd.Dir = ".."
		cmd.Env = append(makeEnv(), "REPLAY_HEADERS="+headers)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for headers, want := range map[string]string{
		"authorization=Bearer x":                             "{'authorization': 'Bearer x'}",
		"authorization=Bearer x, x-scope-orgid = team-a,":    "{'authorization': 'Bearer x', 'x-scope-orgid': 'team-a'}",
		"x-note=it's=ok":                                     "{'x-note': 'it''s=ok'}",
		`{authorization: "Bearer x", x-scope-orgid: team-a}`: `{authorization: "Bearer x", x-scope-orgid: team-a}`,
	} {
		out, err := run(headers)
		require.NoError(t, err, "%q:\n%s", headers, out)
		assert.Contains(t, out, "headers<"+want+">\n", "%q", headers)
	}
	for headers, want := range map[string]string{
		"a=b,Bearer s3cret": `REPLAY_HEADERS: pair 2 has no "="`,
		"x scope=s3cret":    `REPLAY_HEADERS: pair 1: "x scope" is not a header name`,
	} {
		out, err := run(headers)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%q:\n%s", headers, out)
		assert.Equal(t, 2, exit.ExitCode(), "%q", headers)
		assert.Contains(t, out, want)
		assert.NotContains(t, out, "s3cret", "%q: the message shows a value", headers)
		assert.NotContains(t, out, "headers<", "%q: the collector ran", headers)
	}
}

// TestMakeBuildsOneAtATime: two builds in one tree at once (two e2e runs
// that each find the binary stale, or `make build` in two terminals) share
// build/ and the binaries' temporary names; the second must wait for the
// first, and a stale-binary build that waited finds the binary fresh and
// does not build again. The tree here is a scratch copy of the Makefile with
// a stand-in builder and go that record when they run.
func TestMakeBuildsOneAtATime(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock (util-linux) is not installed: the Makefile builds without a lock there")
	}
	tree := t.TempDir()
	mk, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "Makefile"), mk, 0o644))
	for _, f := range []string{"go.mod", "go.sum", "builder-config.yaml"} {
		require.NoError(t, os.WriteFile(filepath.Join(tree, f), nil, 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "bin"), 0o755))
	// The stand-in builder notes an overlap if another build is inside,
	// stays a while, and leaves a binary where ocb would.
	builder := `#!/bin/bash
set -e
if ! mkdir build/.inside 2>/dev/null; then echo overlap >> build.log; fi
echo build >> build.log
sleep 1
mkdir -p build/otelcol-recordreplay
echo collector > build/otelcol-recordreplay/otelcol-recordreplay
rmdir build/.inside 2>/dev/null || true
`
	goStub := `#!/bin/bash
# go build ... -o OUT ./cmd/sessionctl: write OUT
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo sessionctl > "$2"; fi; shift; done
`
	require.NoError(t, os.WriteFile(filepath.Join(tree, "bin", "builder"), []byte(builder), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "go-stub"), []byte(goStub), 0o755))

	twoAtOnce := func(target string) {
		var wg sync.WaitGroup
		outs := make([][]byte, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				outs[i], errs[i] = exec.Command("make", "-C", tree, "GO="+filepath.Join(tree, "go-stub"), target).CombinedOutput()
			})
		}
		wg.Wait()
		for i := range 2 {
			require.NoError(t, errs[i], "make %s (%d of 2):\n%s", target, i+1, outs[i])
		}
	}
	log := func() string {
		b, err := os.ReadFile(filepath.Join(tree, "build.log"))
		require.NoError(t, err)
		return string(b)
	}

	twoAtOnce("build")
	assert.Equal(t, "build\nbuild\n", log(), "make build twice at once: each builds, one after the other")
	for _, bin := range []string{"otelcol-recordreplay", "sessionctl"} {
		assert.FileExists(t, filepath.Join(tree, "bin", bin))
		assert.NoFileExists(t, filepath.Join(tree, "bin", bin+".tmp"))
	}

	// Binaries older than a source: both runs find them stale, one builds.
	require.NoError(t, os.Remove(filepath.Join(tree, "build.log")))
	earlier := time.Now().Add(-time.Hour)
	for _, bin := range []string{"otelcol-recordreplay", "sessionctl"} {
		require.NoError(t, os.Chtimes(filepath.Join(tree, "bin", bin), earlier, earlier))
	}
	twoAtOnce(filepath.Join(tree, "bin", "otelcol-recordreplay"))
	assert.Equal(t, "build\n", log(), "two runs with a stale binary: the one that waited finds it built")
}

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

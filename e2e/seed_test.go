package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestSeedIntoCapture runs what `make seed PATTERN=payment-failure` runs —
// scripts/run-until.sh around the binary with configs/seed.yaml — in fast
// mode, and checks the captured seed session and its phase table; then it
// replays that session, picked by `auto` with a seed filter.
func TestSeedIntoCapture(t *testing.T) {
	dir := t.TempDir()
	runSeed(t, "CAPTURE_DIR="+dir)
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	id := checkSeedSession(t, st)

	// Replay it: auto, seed sessions only, as fast as possible.
	replay := otelcoltest.Launch(t, `
receivers:
  session_replay:
    store: {backend: filesystem, directory: `+dir+`}
    filter: {session_type: seed, labels: {pattern: payment-failure}}
    speed: 0
exporters:
  debug: {verbosity: basic}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [debug]}
    metrics: {receivers: [session_replay], exporters: [debug]}
    logs: {receivers: [session_replay], exporters: [debug]}
`)
	replay.WaitLog(t, "Replay finished", time.Minute)
	replay.Stop(t)
	assert.Contains(t, replay.Log(), `"session": "`+id+`"`)
}

// TestSeedIntoS3 is `make seed STORE=s3 …` against the S3 server.
func TestSeedIntoS3(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "seeds")
	runSeed(t, "STORE=s3", "S3_ENDPOINT="+srv.Endpoint, "S3_BUCKET=seeds", "S3_PREFIX=training",
		"AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
	cfg := srv.Config("seeds", "training")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	checkSeedSession(t, st)
}

// runSeed runs scripts/run-until.sh around the binary with
// configs/seed.yaml, payment-failure at 20 traces/s for 30 s, clock fast.
func runSeed(t *testing.T, env ...string) {
	t.Helper()
	bin := otelcoltest.Bin(t)
	cmd := exec.Command("../scripts/run-until.sh", "Seed finished", bin, "--config", "../configs/seed.yaml")
	cmd.Env = append(append(os.Environ(), "SEED_PATTERN=payment-failure", "SEED_DURATION=30s",
		"SEED_RATE=20", "SEED_CLOCK=fast", "SEED_DESCRIPTION=e2e drill"), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", tail(out))
}

// checkSeedSession checks the one seed session in st and returns its id.
func checkSeedSession(t *testing.T, st sessionstore.Store) string {
	t.Helper()
	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1)
	assert.Regexp(t, `^seed-\d{8}T\d{6}Z-[0-9a-f]{8}$`, ids[0])
	s := sessiontest.Read(t, st, ids[0])
	m := s.Meta
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	assert.Equal(t, sessionstore.SessionTypeSeed, m.SessionType)
	assert.Equal(t, "e2e drill", m.Description)
	assert.Equal(t, []string{"paymentFailure"}, m.EnabledFlags)
	sessiontest.CheckCounts(t, s)
	require.NotNil(t, m.Seed)
	require.Len(t, m.Seed.Phases, 3)
	var phaseItems int64
	for i, name := range []string{"startup", "failure", "rampdown"} {
		assert.Equal(t, name, m.Seed.Phases[i].Name)
		assert.Equal(t, 10*time.Second, m.Seed.Phases[i].End.Sub(m.Seed.Phases[i].Start))
		phaseItems += m.Seed.Phases[i].Items
	}
	assert.Equal(t, m.Items(), phaseItems, "every item is in one phase")

	return ids[0]
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

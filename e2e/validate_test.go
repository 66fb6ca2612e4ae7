package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestValidateWorkflow runs `make validate` as a user does, on free ports:
// seed payment-failure (fast clock), capture it, replay it at 4x with current
// timestamps into a collector capturing again, `sessionctl diff --shifted`
// the two sessions, print the seed's phase table. It exits 0 only when the
// replayed copy holds what was recorded.
func TestValidateWorkflow(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	requireBin(t, root, "RECORDREPLAY_REQUIRE_OTELCOL", "run make build", "otelcol-recordreplay", "sessionctl")
	dir := t.TempDir()
	addr := func() string { return "127.0.0.1:" + strconv.Itoa(ports.Free(t)) }
	out, err := runMake(t, root, 5*time.Minute, "validate", "VALIDATE_DIR="+dir,
		"VALIDATE_OTLP_GRPC="+addr(), "VALIDATE_OTLP_HTTP="+addr(), "VALIDATE_HEALTH="+addr(), "VALIDATE_CONTROL="+addr(),
		"VALIDATE_TELEMETRY="+strconv.Itoa(ports.Free(t)), "VALIDATE_REPLAY_TELEMETRY="+strconv.Itoa(ports.Free(t)))
	require.NoError(t, err, "make validate:\n%s", out)
	assert.Contains(t, out, "are equal: ")
	assert.Contains(t, out, "validate: OK: the replay delivered what was recorded")
	for i, phase := range []string{"startup", "failure", "rampdown"} {
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s\s+%d\s+\d{4}-`, phase, i), out, "the phase table is printed")
	}

	// what it compared: the seed session and its replayed copy, both complete
	st, err := sessionstore.OpenFilesystem(filepath.Join(dir, "data"))
	require.NoError(t, err)
	list, err := sessionstore.ListSessions(context.Background(), st)
	require.NoError(t, err)
	require.Len(t, list, 2, "the seed session and the replayed copy")
	seed, replayed := sessiontest.Read(t, st, list[0].ID), sessiontest.Read(t, st, list[1].ID)
	assert.Equal(t, list[0].ID+"-2", list[1].ID)
	for _, s := range []sessiontest.Stored{seed, replayed} {
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, s.Meta.SessionID)
		assert.Equal(t, sessionstore.SessionTypeSeed, s.Meta.SessionType)
	}
	assert.Positive(t, seed.Traces.SpanCount())
	assert.Equal(t, seed.Traces.SpanCount(), replayed.Traces.SpanCount())
	assert.Equal(t, seed.Metrics.DataPointCount(), replayed.Metrics.DataPointCount())
	assert.Equal(t, seed.Logs.LogRecordCount(), replayed.Logs.LogRecordCount())
}

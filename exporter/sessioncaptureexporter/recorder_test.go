package sessioncaptureexporter

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestStartPaused: with session.start: paused the capture is armed, not
// recording: what arrives is counted and dropped, no session opens and
// nothing is written to the store, with a fixed id as with auto, until the
// control API resumes it; then it records as usual.
func TestStartPaused(t *testing.T) {
	for _, id := range []string{"armed", AutoSessionID} {
		t.Run(id, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg, st := fsConfig(t)
				require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"id": id, "start": "paused"}}).Unmarshal(cfg))
				tr, _, c := startControlled(t, cfg)
				ctx := context.Background()
				assert.Equal(t, control.Paused, c.State(ctx).State)
				assert.Nil(t, c.State(ctx).Session, "no session while armed")

				require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(4)))
				synctest.Wait()
				assert.Empty(t, sessiontest.IDs(t, st), "nothing stored while armed")
				assert.Equal(t, int64(4), c.State(ctx).DroppedWhilePaused["traces"])

				_, err := c.Resume(ctx)
				require.NoError(t, err)
				require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(3)))
				tr.shutdown(t)

				ids := sessiontest.IDs(t, st)
				require.Len(t, ids, 1)
				got := sessiontest.Read(t, st, ids[0])
				assert.Equal(t, 3, got.Traces.SpanCount(), "what arrived after the resume")
				sessiontest.CheckCounts(t, got)
			})
		})
	}
}

// TestStartPausedThenNewSession: an armed capture starts recording when
// the control API asks for a new session.
func TestStartPausedThenNewSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "paused"}}).Unmarshal(cfg))
		tr, _, c := startControlled(t, cfg)
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
		state, err := c.NewSession(ctx, control.SessionRequest{ID: "incident-7"})
		require.NoError(t, err)
		assert.Equal(t, control.Recording, state.State, "a new session records")
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(5)))
		tr.shutdown(t)
		assert.Equal(t, []string{"incident-7"}, sessiontest.IDs(t, st))
		assert.Equal(t, 5, sessiontest.Read(t, st, "incident-7").Traces.SpanCount())
	})
}

// TestStartPausedNeedsControl: an armed capture that nothing could resume
// is refused, naming both settings.
func TestStartPausedNeedsControl(t *testing.T) {
	cfg, _ := fsConfig(t)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "paused"}}).Unmarshal(cfg))
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session.start: paused")
	assert.Contains(t, err.Error(), "control")

	require.ErrorContains(t, confmap.NewFromStringMap(map[string]any{"session": map[string]any{"start": "later"}}).Unmarshal(cfg), `"later"`)
}

package sessionreplayreceiver

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// catalog writes sessions with chosen start times, sizes, statuses, types
// and labels.
func catalog(t *testing.T) (sessionstore.Config, sessionstore.Store) {
	t.Helper()
	storeCfg, st := fsStore(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		id     string
		day    int
		spans  int
		status sessionstore.Status
		typ    sessionstore.SessionType
		labels map[string]string
	}{
		{"old-big", 1, 500, sessionstore.StatusCompleted, sessionstore.SessionTypeCapture, map[string]string{"env": "prod"}},
		{"mid-small", 5, 20, sessionstore.StatusCompleted, sessionstore.SessionTypeCapture, map[string]string{"env": "staging"}},
		{"seed-mid", 6, 100, sessionstore.StatusCompleted, sessionstore.SessionTypeSeed, map[string]string{"env": "staging"}},
		{"new-medium", 9, 200, sessionstore.StatusCompleted, sessionstore.SessionTypeCapture, nil},
		{"newest-active", 10, 900, sessionstore.StatusActive, sessionstore.SessionTypeCapture, nil},
		{"newest-failed", 11, 5, sessionstore.StatusFailed, sessionstore.SessionTypeCapture, nil},
		{"empty", 12, 0, sessionstore.StatusCompleted, sessionstore.SessionTypeCapture, nil},
	} {
		start := base.AddDate(0, 0, s.day)
		w := sessiontest.NewWriter(t, st, s.id, start)
		if s.spans > 0 {
			w.Traces(start, sessiontest.Traces("svc", 0, s.spans, start))
		}
		w.Meta.SessionType = s.typ
		w.Meta.Labels = s.labels
		w.Complete()
		w.Meta.Status = s.status
		require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, w.Meta))
	}
	// A directory with unreadable metadata does not break selection.
	require.NoError(t, st.Put(context.Background(), "sessions/broken/metadata.json", []byte("{")))
	return storeCfg, st
}

func TestAutoSelection(t *testing.T) {
	storeCfg, st := catalog(t)
	tests := []struct {
		selection Selection
		filter    FilterConfig
		want      string
	}{
		{selection: SelectionLatest, want: "new-medium"}, // active, failed and empty sessions are skipped
		{selection: SelectionLargest, want: "old-big"},
		{selection: SelectionSmallest, want: "mid-small"},
		{selection: SelectionLatest, filter: FilterConfig{SessionType: "seed"}, want: "seed-mid"},
		{selection: SelectionLargest, filter: FilterConfig{Labels: map[string]string{"env": "staging"}}, want: "seed-mid"},
		{selection: SelectionSmallest, filter: FilterConfig{SessionType: "capture", Labels: map[string]string{"env": "staging"}}, want: "mid-small"},
	}
	for _, tt := range tests {
		t.Run(string(tt.selection)+describeFilter(&tt.filter), func(t *testing.T) {
			cfg := baseConfig(storeCfg, AutoSession)
			cfg.Selection = tt.selection
			cfg.Filter = tt.filter
			m, err := selectSession(context.Background(), st, cfg, rand.New(rand.NewPCG(1, 1)))
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.SessionID)
		})
	}

	t.Run("random", func(t *testing.T) {
		cfg := baseConfig(storeCfg, AutoSession)
		cfg.Selection = SelectionRandom
		seen := map[string]int{}
		rnd := rand.New(rand.NewPCG(1, 2))
		for range 200 {
			m, err := selectSession(context.Background(), st, cfg, rnd)
			require.NoError(t, err)
			seen[m.SessionID]++
		}
		assert.ElementsMatch(t, []string{"old-big", "mid-small", "seed-mid", "new-medium"}, keys(seen))
	})

	t.Run("nothing matches", func(t *testing.T) {
		cfg := baseConfig(storeCfg, AutoSession)
		cfg.Filter = FilterConfig{Labels: map[string]string{"env": "dev"}}
		_, err := selectSession(context.Background(), st, cfg, rand.New(rand.NewPCG(1, 1)))
		require.ErrorIs(t, err, errNoSession)
		assert.Contains(t, err.Error(), "label env=dev")
		assert.Contains(t, err.Error(), "new-medium (completed, 200 items)")
	})
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExplicitSessionMustExist(t *testing.T) {
	storeCfg, _ := catalog(t)
	cfg := baseConfig(storeCfg, "nope")
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `no such session "nope"`)
	for _, id := range []string{"old-big", "new-medium", "newest-active", "broken (unreadable metadata)"} {
		assert.Contains(t, msg, id)
	}
	require.NoError(t, r.Shutdown(context.Background()))

	emptyStore, _ := fsStore(t)
	r, err = NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), baseConfig(emptyStore, AutoSession), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "the store holds no sessions")
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	storeCfg, _ := fsStore(t)
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), baseConfig(storeCfg, "x"), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, 0, receivers.Len())
}

// TestFutureSchemaIsRefused: a session whose metadata.json has a
// schemaVersion this build does not know is not replayed, and says why.
func TestFutureSchemaIsRefused(t *testing.T) {
	storeCfg, st := fsStore(t)
	w := sessiontest.NewWriter(t, st, "next", time.Now())
	w.Traces(time.Now(), testdata.GenerateTraces(2))
	w.Complete()
	future := `{"sessionId": "next", "schemaVersion": 2, "status": "completed", "startTime": "2026-11-28T23:00:00Z"}`
	require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("next"), []byte(future)))
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), baseConfig(storeCfg, "next"), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "schemaVersion 2")
	require.NoError(t, r.Shutdown(context.Background()))

	r, err = NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), baseConfig(storeCfg, AutoSession), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err, "auto selection skips it: nothing else to pick")
	require.NoError(t, r.Shutdown(context.Background()))
}

package sessioncaptureexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// newWriter starts a session_capture with its own component id: for the
// store, another writer (as another collector would be).
func newWriter(t *testing.T, cfg *Config, name string) *trio {
	t.Helper()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
	return startTrio(t, set, cfg, nil)
}

// TestSeveralWritersOfOneSession: two collectors writing one session (one
// fixed id, or seed traffic split between them by a load balancer) end
// with one session whose metadata holds both shares, and that says
// completed only once both have stopped.
func TestSeveralWritersOfOneSession(t *testing.T) {
	for _, mode := range []string{"fixed_id", "from_attribute"} {
		t.Run(mode, func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			batch := func(n int) ptrace.Traces { return testdata.GenerateTraces(n) }
			if mode == "fixed_id" {
				cfg.Session.ID = "shared"
			} else {
				cfg.Session.FromAttribute = "test.session.id"
				batch = func(n int) ptrace.Traces { return tracesForSession("shared", n) }
			}
			ctx := context.Background()
			a := newWriter(t, cfg, mode+"_a")
			b := newWriter(t, cfg, mode+"_b")
			require.NoError(t, a.traces.ConsumeTraces(ctx, batch(3)))
			require.NoError(t, b.traces.ConsumeTraces(ctx, batch(4)))
			require.NoError(t, a.traces.ConsumeTraces(ctx, batch(5)))
			a.shutdown(t)
			m, err := sessionstore.ReadMetadata(ctx, st, "shared")
			require.NoError(t, err)
			assert.Equal(t, sessionstore.StatusActive, m.Status, "b still writes")
			require.NoError(t, b.traces.ConsumeTraces(ctx, batch(6)))
			b.shutdown(t)

			s := sessiontest.Read(t, st, "shared")
			assert.Equal(t, 18, s.Traces.SpanCount())
			assert.Equal(t, int64(18), s.Meta.CapturedTraces, "both shares")
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, "both stopped")
			sessiontest.CheckCounts(t, s)
			assert.Equal(t, []string{"shared"}, sessiontest.IDs(t, st), "writers/ is not a session")
		})
	}
}

// TestAnnotationsSurviveLiveWriters: a session annotated (sessionctl
// annotate) while its writers run keeps its annotations through every
// metadata.json they write afterwards, from their views that know nothing
// of them, and still completes when they stop.
func TestAnnotationsSurviveLiveWriters(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.Session.ID = "annotated"
	ctx := context.Background()
	a := newWriter(t, cfg, "a")
	b := newWriter(t, cfg, "b")
	require.NoError(t, a.traces.ConsumeTraces(ctx, testdata.GenerateTraces(3)))
	require.NoError(t, b.traces.ConsumeTraces(ctx, testdata.GenerateTraces(4)))
	_, err := sessionstore.Annotate(ctx, st, "annotated", sessionstore.AnnotationRequest{
		Phases: []sessionstore.PhaseSpec{{Name: "incident", From: "0s", To: "1h"}},
		Labels: map[string]string{"ticket": "INC-9"},
		Notes:  []string{"annotated while capturing"},
	}, "test")
	require.NoError(t, err)
	check := func(what string, status sessionstore.Status, spans int64) {
		t.Helper()
		m, err := sessionstore.ReadMetadata(ctx, st, "annotated")
		require.NoError(t, err)
		require.NotNil(t, m.Annotations, what)
		assert.Len(t, m.Annotations.Phases, 1, what)
		assert.Equal(t, "INC-9", m.Labels["ticket"], what)
		assert.Equal(t, []string{"annotated while capturing"}, m.Annotations.Notes, what)
		assert.Equal(t, status, m.Status, what)
		if spans >= 0 { // a live writer's view lags its metadata interval
			assert.Equal(t, spans, m.CapturedTraces, what)
		}
	}
	require.NoError(t, b.traces.ConsumeTraces(ctx, testdata.GenerateTraces(5)))
	b.shutdown(t) // rewrites metadata.json from the views
	check("after b's last write, a live", sessionstore.StatusActive, -1)
	require.NoError(t, a.traces.ConsumeTraces(ctx, testdata.GenerateTraces(6)))
	a.shutdown(t)
	check("after both stopped", sessionstore.StatusCompleted, 18)
	views, err := sessionstore.ReadWriters(ctx, st, "annotated")
	require.NoError(t, err)
	assert.Len(t, views, 2, "annotations are no writer")
	for w, v := range views {
		assert.Nil(t, v.Annotations, "view of %s", w)
	}
}

package seedgenreceiver

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// TestCapturedSeedSession runs payment-failure through a real
// session_capture exporter with from_attribute and checks the session's
// metadata: type, pattern parameters, flags and the phase table, whose item
// counts must equal what the stored data says phase by phase.
func TestCapturedSeedSession(t *testing.T) {
	cfg := fastConfig()
	cfg.Pattern = "payment-failure"
	cfg.TracesPerSecond = 20
	cfg.Duration = 30 * time.Second
	cfg.Description = "payment failure for training"
	s := captureSeed(t, cfg)
	m := s.Meta
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	assert.Equal(t, sessionstore.SessionTypeSeed, m.SessionType)
	assert.Equal(t, []string{"paymentFailure"}, m.EnabledFlags)
	assert.Equal(t, "payment failure for training", m.Description)
	assert.Equal(t, "payment-failure", m.Labels["pattern"])
	sessiontest.CheckCounts(t, s)
	require.NotNil(t, m.Seed)
	assert.Equal(t, "payment-failure", m.Seed.Pattern)
	assert.Equal(t, int64(1), m.Seed.Seed)
	assert.Equal(t, 20.0, m.Seed.TracesPerSecond)
	assert.Equal(t, 0.05, m.Seed.ErrorRate)
	assert.Equal(t, "30s", m.Seed.Duration)
	require.Len(t, m.Seed.Phases, 3)
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i, want := range []struct {
		name string
		flag float64
	}{{"startup", 0}, {"failure", 0.75}, {"rampdown", 0}} {
		ph := m.Seed.Phases[i]
		assert.Equal(t, want.name, ph.Name)
		assert.Equal(t, i, ph.Index)
		assert.Equal(t, start.Add(time.Duration(i)*10*time.Second), ph.Start)
		assert.Equal(t, start.Add(time.Duration(i+1)*10*time.Second), ph.End)
		assert.Equal(t, want.flag, ph.Flags["paymentFailure"])
	}

	// Per-phase items from the data itself: every span, data point and log
	// record carries its phase index.
	counted := map[int64]int64{}
	add := func(m pcommon.Map) {
		v, ok := m.Get("test.phase.index")
		require.True(t, ok)
		counted[v.Int()]++
	}
	rss := s.Traces.ResourceSpans()
	for i := range rss.Len() {
		spans := rss.At(i).ScopeSpans().At(0).Spans()
		for k := range spans.Len() {
			add(spans.At(k).Attributes())
		}
	}
	rms := s.Metrics.ResourceMetrics()
	for i := range rms.Len() {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for k := range ms.Len() {
			dps := ms.At(k).Histogram().DataPoints()
			for p := range dps.Len() {
				add(dps.At(p).Attributes())
			}
		}
	}
	rls := s.Logs.ResourceLogs()
	for i := range rls.Len() {
		recs := rls.At(i).ScopeLogs().At(0).LogRecords()
		for k := range recs.Len() {
			add(recs.At(k).Attributes())
		}
	}
	for _, ph := range m.Seed.Phases {
		assert.Equal(t, counted[int64(ph.Index)], ph.Items, "phase %s", ph.Name)
		assert.Positive(t, ph.Items)
	}
}

// captureSeed runs cfg through a real session_capture exporter with
// session.from_attribute: test.session.id into a directory and returns
// its session, checking that it is the only one stored.
func captureSeed(t *testing.T, cfg *Config) sessiontest.Stored {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	ef := sessioncaptureexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"store":   map[string]any{"backend": "filesystem", "directory": dir},
		"session": map[string]any{"from_attribute": "test.session.id"},
	}).Unmarshal(ecfg))
	set := exportertest.NewNopSettings(ef.Type())
	set.ID = component.MustNewIDWithName(ef.Type().String(), "seedcapture")
	ctx := context.Background()
	te, err := ef.CreateTraces(ctx, set, ecfg)
	require.NoError(t, err)
	me, err := ef.CreateMetrics(ctx, set, ecfg)
	require.NoError(t, err)
	le, err := ef.CreateLogs(ctx, set, ecfg)
	require.NoError(t, err)
	for _, c := range []component.Component{te, me, le} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}

	r := runSeed(t, cfg, te, me, le)
	for _, c := range []component.Component{te, me, le} {
		require.NoError(t, c.Shutdown(ctx))
	}

	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	require.Equal(t, []string{r.sessionID}, sessiontest.IDs(t, st), "only the seed session, no empty capture session")
	return sessiontest.Read(t, st, r.sessionID)
}

// TestCapturedSeedLabels: labels and diagnostic_session_id of seed_gen
// reach the captured seed session's metadata.json, beside the pattern
// label, through the resources alone.
func TestCapturedSeedLabels(t *testing.T) {
	cfg := fastConfig()
	cfg.Duration = 5 * time.Second
	cfg.Labels = map[string]string{"team": "payments", "dataset": "train-2026-12"}
	cfg.DiagnosticSessionID = "diag-run-17"
	s := captureSeed(t, cfg)
	assert.Equal(t, sessionstore.SessionTypeSeed, s.Meta.SessionType)
	assert.Equal(t, map[string]string{"pattern": "basic-topology", "team": "payments", "dataset": "train-2026-12"}, s.Meta.Labels)
	assert.Equal(t, "diag-run-17", s.Meta.DiagnosticSessionID)
}

// TestCapturedPhaseTables: the new built-in patterns, captured, give a
// metadata.json phase table with their YAML's phase names and flags, and
// enabledFlags lists exactly the flags some phase turns on.
func TestCapturedPhaseTables(t *testing.T) {
	for _, name := range []string{"high-load", "complex-topology", "training-phases"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Builtin(name)
			require.NoError(t, err)
			cfg := fastConfig()
			cfg.Pattern = name
			cfg.TracesPerSecond = 4
			cfg.Duration = 0 // the pattern's own length
			s := captureSeed(t, cfg)
			m := s.Meta
			assert.Equal(t, sessionstore.StatusCompleted, m.Status)
			assert.Equal(t, name, m.Labels["pattern"])
			sessiontest.CheckCounts(t, s)
			require.NotNil(t, m.Seed)
			assert.Equal(t, sc.Length().String(), m.Seed.Duration)
			require.Len(t, m.Seed.Phases, len(sc.Phases))
			var on []string
			for i, p := range sc.Phases {
				row := m.Seed.Phases[i]
				assert.Equal(t, p.Name, row.Name)
				assert.Equal(t, i, row.Index)
				assert.Positive(t, row.Items, p.Name)
				require.Len(t, row.Flags, len(sc.Flags()), p.Name)
				for _, f := range sc.Flags() {
					assert.Equal(t, p.Flags[f], row.Flags[f], "phase %s flag %s", p.Name, f)
					if p.Flags[f] > 0 && !slices.Contains(on, f) {
						on = append(on, f)
					}
				}
			}
			slices.Sort(on)
			assert.Equal(t, on, m.EnabledFlags)
		})
	}
}

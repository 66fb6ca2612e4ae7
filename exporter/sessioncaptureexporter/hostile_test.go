package sessioncaptureexporter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// attributeConfig files resources by test.session.id, without a queue so
// that each push returns its own error.
func attributeConfig(t *testing.T) (*Config, sessionstore.Store) {
	t.Helper()
	cfg, st := fsConfig(t)
	cfg.Session.ID = "own"
	cfg.Session.FromAttribute = "test.session.id"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	return cfg, st
}

// TestAllowedIDs: ids outside session.allowed_ids are refused, naming the
// id and the pattern; the rest of the batch is stored.
func TestAllowedIDs(t *testing.T) {
	cfg, st := attributeConfig(t)
	cfg.Session.AllowedIDs = `seed-[a-z0-9-]+`
	tr := newTrio(t, cfg, nil)
	td := tracesForSession("seed-ok", 2)
	tracesForSession("payroll-2026", 3).ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	tracesForSession("xseed-ok", 1).ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	err := tr.traces.ConsumeTraces(context.Background(), td)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), `"payroll-2026"`)
	assert.Contains(t, err.Error(), "allowed_ids")
	assert.Contains(t, err.Error(), `"xseed-ok"`, "the whole id must match")
	tr.shutdown(t)
	assert.Equal(t, []string{"seed-ok"}, sessiontest.IDs(t, st))
}

// TestCompletedSessionIsNotReopened: data naming a session that was
// already completed goes to a new session id-2 (a warning says so); with
// reopen_completed it continues the old one.
func TestCompletedSessionIsNotReopened(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprint("reopen_", reopen), func(t *testing.T) {
			cfg, st := attributeConfig(t)
			cfg.Session.ReopenCompleted = reopen
			w := sessiontest.NewWriter(t, st, "seed-old", time.Now().Add(-time.Hour))
			w.Traces(time.Now().Add(-time.Hour), testdata.GenerateTraces(5))
			before := w.Complete()

			tr := newTrio(t, cfg, nil)
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), tracesForSession("seed-old", 2)))
			tr.shutdown(t)
			old := sessiontest.Read(t, st, "seed-old")
			if reopen {
				assert.Equal(t, []string{"seed-old"}, sessiontest.IDs(t, st))
				assert.Equal(t, int64(7), old.Meta.CapturedTraces)
				return
			}
			assert.Equal(t, []string{"seed-old", "seed-old-2"}, sessiontest.IDs(t, st))
			assert.Equal(t, before.CapturedTraces, old.Meta.CapturedTraces, "the completed session is untouched")
			assert.Len(t, old.Objects, 1)
			next := sessiontest.Read(t, st, "seed-old-2")
			assert.Equal(t, int64(2), next.Meta.CapturedTraces)
			sessiontest.CheckCounts(t, next)
		})
	}
}

// TestMaxOpen: beyond session.max_open attribute-named sessions open at
// once, data for a new one is refused, naming it.
func TestMaxOpen(t *testing.T) {
	cfg, st := attributeConfig(t)
	cfg.Session.MaxOpen = 2
	tr := newTrio(t, cfg, nil)
	ctx := context.Background()
	require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-1", 1)))
	require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-2", 1)))
	err := tr.traces.ConsumeTraces(ctx, tracesForSession("seed-3", 1))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), `"seed-3"`)
	assert.Contains(t, err.Error(), "max_open 2")
	require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-1", 1)), "open sessions go on")
	tr.shutdown(t)
	assert.Equal(t, []string{"seed-1", "seed-2"}, sessiontest.IDs(t, st))
}

// TestSeedMetadataIsBounded: a client cannot grow a session's metadata
// without bound through the seed attributes: at most 256 phases, 64 flags
// and 4 KiB of description.
func TestSeedMetadataIsBounded(t *testing.T) {
	cfg, st := attributeConfig(t)
	tr := newTrio(t, cfg, nil)
	td := ptrace.NewTraces()
	for i := range 300 {
		rs := td.ResourceSpans().AppendEmpty()
		a := rs.Resource().Attributes()
		a.PutStr("test.session.id", "seed-big")
		a.PutStr(sessionstore.AttrPattern, "custom")
		a.PutStr(sessionstore.AttrDescription, strings.Repeat("d", 10<<10))
		a.PutInt(sessionstore.AttrPhaseIndex, int64(i))
		a.PutStr(sessionstore.AttrPhaseName, fmt.Sprint("phase-", i))
		a.PutDouble(sessionstore.AttrPhaseFlag+fmt.Sprint("flag", i), 1)
		rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
	}
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), td))
	tr.shutdown(t)
	s := sessiontest.Read(t, st, "seed-big")
	assert.Equal(t, int64(300), s.Meta.CapturedTraces, "every span is stored and counted")
	require.NotNil(t, s.Meta.Seed)
	assert.Len(t, s.Meta.Seed.Phases, 256)
	assert.LessOrEqual(t, len(s.Meta.EnabledFlags), 64)
	for _, ph := range s.Meta.Seed.Phases {
		assert.LessOrEqual(t, len(ph.Flags), 64)
	}
	assert.LessOrEqual(t, len(s.Meta.Description), 4<<10)
}

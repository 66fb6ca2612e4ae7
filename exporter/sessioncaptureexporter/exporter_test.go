package sessioncaptureexporter

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// trio is one session_capture component serving all three pipelines.
type trio struct {
	traces  exporter.Traces
	metrics exporter.Metrics
	logs    exporter.Logs
	shared  *captureExporter
}

func newTrio(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	return newTrioWith(t, exportertest.NewNopSettings(metadata.Type), cfg, wrap)
}

func newTrioWith(t *testing.T, set exporter.Settings, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	set.ID = component.MustNewIDWithName(metadata.Type.String(), t.Name())
	return startTrio(t, set, cfg, wrap)
}

// startTrio creates and starts the three pipelines' exporters of set.ID.
func startTrio(t *testing.T, set exporter.Settings, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	return startTrioOn(t, componenttest.NewNopHost(), set, cfg, wrap)
}

// startTrioOn is startTrio on a host of the test's choosing (one with a
// storage extension, for a persistent queue).
func startTrioOn(t *testing.T, host component.Host, set exporter.Settings, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store) *trio {
	t.Helper()
	f := NewFactory()
	ctx := context.Background()
	tr := &trio{}
	var err error
	tr.traces, err = f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	tr.metrics, err = f.CreateMetrics(ctx, set, cfg)
	require.NoError(t, err)
	tr.logs, err = f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	shared, err := getOrCreate(set, cfg)
	require.NoError(t, err)
	tr.shared = shared.Unwrap()
	if wrap != nil {
		tr.shared.openStore = func(ctx context.Context, c *sessionstore.Config) (sessionstore.Store, error) {
			st, err := sessionstore.Open(ctx, c)
			if err != nil {
				return nil, err
			}
			return wrap(st), nil
		}
	}
	require.NoError(t, tr.traces.Start(ctx, host))
	require.NoError(t, tr.metrics.Start(ctx, host))
	require.NoError(t, tr.logs.Start(ctx, host))
	return tr
}

func (tr *trio) shutdown(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, tr.traces.Shutdown(ctx))
	require.NoError(t, tr.metrics.Shutdown(ctx))
	require.NoError(t, tr.logs.Shutdown(ctx))
}

func fsConfig(t *testing.T) (*Config, sessionstore.Store) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Store.Directory = filepath.Join(t.TempDir(), "data")
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	st, err := sessionstore.OpenFilesystem(cfg.Store.Directory)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return cfg, st
}

func TestCaptureRoundTrip(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.Description = "round trip"
	cfg.Session.Labels = map[string]string{"env": "test"}
	cfg.Session.EnabledFlags = []string{"paymentFailure"}
	cfg.Session.DiagnosticSessionID = "diag-1"
	tr := newTrio(t, cfg, nil)
	ctx := context.Background()

	sentTraces, sentMetrics, sentLogs := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	for i := range 5 {
		td := testdata.GenerateTraces(10 + i)
		for j := range td.ResourceSpans().Len() {
			td.ResourceSpans().At(j).CopyTo(sentTraces.ResourceSpans().AppendEmpty())
		}
		require.NoError(t, tr.traces.ConsumeTraces(ctx, td))
		md := testdata.GenerateMetrics(5 + i)
		appendMetrics(md, sentMetrics)
		require.NoError(t, tr.metrics.ConsumeMetrics(ctx, md))
		ld := testdata.GenerateLogs(7 + i)
		appendLogs(ld, sentLogs)
		require.NoError(t, tr.logs.ConsumeLogs(ctx, ld))
	}
	tr.shutdown(t)

	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1, "one session for all three signals")
	assert.Regexp(t, `^capture-\d{8}T\d{6}Z-[0-9a-f]{8}$`, ids[0])
	s := sessiontest.Read(t, st, ids[0])
	require.NoError(t, ptracetest.CompareTraces(sentTraces, s.Traces, ptracetest.IgnoreResourceSpansOrder()))
	require.NoError(t, pmetrictest.CompareMetrics(sentMetrics, s.Metrics, pmetrictest.IgnoreResourceMetricsOrder()))
	require.NoError(t, plogtest.CompareLogs(sentLogs, s.Logs, plogtest.IgnoreResourceLogsOrder()))

	m := s.Meta
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	require.NotNil(t, m.EndTime)
	assert.False(t, m.EndTime.Before(m.StartTime))
	assert.Equal(t, "sessions/"+ids[0], m.S3Prefix)
	assert.Equal(t, "round trip", m.Description)
	assert.Equal(t, "diag-1", m.DiagnosticSessionID)
	assert.Equal(t, []string{"paymentFailure"}, m.EnabledFlags)
	assert.Equal(t, map[string]string{"env": "test"}, m.Labels)
	assert.Equal(t, sessionstore.SessionTypeCapture, m.SessionType)
	assert.Equal(t, 1, m.SchemaVersion)
	assert.Contains(t, m.CreatedBy, "session_capture")
	require.NotNil(t, m.EventTimeRange)
	sessiontest.CheckCounts(t, s)
	for _, o := range s.Objects {
		assert.Equal(t, ids[0], o.SessionID)
	}
}

func appendMetrics(from, to pmetric.Metrics) {
	for i := range from.ResourceMetrics().Len() {
		from.ResourceMetrics().At(i).CopyTo(to.ResourceMetrics().AppendEmpty())
	}
}

func appendLogs(from, to plog.Logs) {
	for i := range from.ResourceLogs().Len() {
		from.ResourceLogs().At(i).CopyTo(to.ResourceLogs().AppendEmpty())
	}
}

func tracesForSession(id string, spans int) ptrace.Traces {
	td := testdata.GenerateTraces(spans)
	if id != "" {
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", id)
	}
	return td
}

func TestFromAttribute(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "own-session"
	cfg.Session.FromAttribute = "test.session.id"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tr := newTrio(t, cfg, nil)
	ctx := context.Background()

	// One batch, three resources: two sessions named by the attribute and
	// one without it.
	td := ptrace.NewTraces()
	tracesForSession("seed-a", 3).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	tracesForSession("seed-b", 5).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	tracesForSession("", 2).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	before := ptrace.NewTraces()
	td.CopyTo(before)
	require.NoError(t, tr.traces.ConsumeTraces(ctx, td))
	require.NoError(t, ptracetest.CompareTraces(before, td), "the batch is not changed")

	// Hostile ids in the attribute are refused, naming the value; the rest
	// of the batch is stored.
	for _, bad := range []string{"../x", "a/b", "..", "a\x00b", string(make([]byte, 200))} {
		td := ptrace.NewTraces()
		tracesForSession(bad, 1).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		tracesForSession("seed-a", 4).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		err := tr.traces.ConsumeTraces(ctx, td)
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))
		assert.Contains(t, err.Error(), "test.session.id")
		if len(bad) < 64 {
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad))
		}
	}
	tr.shutdown(t)

	assert.Equal(t, []string{"own-session", "seed-a", "seed-b"}, sessiontest.IDs(t, st))
	a := sessiontest.Read(t, st, "seed-a")
	assert.Equal(t, 3+5*4, a.Traces.SpanCount())
	b := sessiontest.Read(t, st, "seed-b")
	assert.Equal(t, 5, b.Traces.SpanCount())
	own := sessiontest.Read(t, st, "own-session")
	assert.Equal(t, 2, own.Traces.SpanCount())
	for _, s := range []sessiontest.Stored{a, b, own} {
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
		sessiontest.CheckCounts(t, s)
	}
	require.NoError(t, ptracetest.CompareTraces(tracesForSession("seed-b", 5), b.Traces))
	var keys []string
	for info, err := range st.List(ctx, "") {
		require.NoError(t, err)
		keys = append(keys, info.Key)
	}
	for _, k := range keys {
		assert.Regexp(t, `^sessions/(own-session|seed-a|seed-b)/`, k, "nothing outside a valid session")
	}
}

func TestRetryOverwritesSameKey(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	var fs *faultstore.Store
	tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		fs = faultstore.New(s, faultstore.Data(faultstore.Put, func(c faultstore.Call) faultstore.Fault {
			switch c.Attempt {
			case 0:
				return faultstore.Fault{Err: errors.New("timeout after the write landed"), Land: true} // ambiguous
			case 1:
				return faultstore.Fault{Err: errors.New("connection refused")}
			}
			return faultstore.Fault{}
		}))
		return fs
	})
	td := testdata.GenerateTraces(25)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), td))
	tr.shutdown(t)

	var puts []string
	for _, c := range fs.Calls(faultstore.Put) {
		if !c.IsMetadata() {
			puts = append(puts, c.Key)
		}
	}
	require.Len(t, puts, 3, "two failures, then success")
	assert.Equal(t, puts[0], puts[1])
	assert.Equal(t, puts[0], puts[2], "every retry uses the key chosen first")
	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1)
	s := sessiontest.Read(t, st, ids[0])
	require.Len(t, s.Objects, 1, "no duplicate object")
	require.NoError(t, ptracetest.CompareTraces(td, s.Traces))
	sessiontest.CheckCounts(t, s)
}

func TestPermanentStoreErrorFailsSession(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	var calls atomic.Int32
	tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		return faultstore.New(s, faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
			calls.Add(1)
			return faultstore.Fault{Err: sessionstore.Permanent(errors.New("AccessDenied"))}
		}))
	})
	err := tr.logs.ConsumeLogs(context.Background(), testdata.GenerateLogs(3))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "AccessDenied")
	assert.Equal(t, int32(1), calls.Load(), "a permanent error is not retried")
	tr.shutdown(t)
	ids := sessiontest.IDs(t, st)
	require.Len(t, ids, 1)
	m, err := sessionstore.ReadMetadata(context.Background(), st, ids[0])
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusFailed, m.Status)
	require.NotNil(t, m.LostItems)
	assert.Equal(t, int64(3), m.LostItems.Logs, "the items lost, per signal")
}

// TestRotationByDuration runs on a virtual clock (testing/synctest): the
// subject is when rotation happens, not the machine's timers.
func TestRotationByDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "soak"
		cfg.Session.MaxDuration = time.Second
		tr := newTrio(t, cfg, nil)
		ctx := context.Background()
		sent := 0
		deadline := time.Now().Add(2500 * time.Millisecond)
		for time.Now().Before(deadline) {
			require.NoError(t, tr.logs.ConsumeLogs(ctx, testdata.GenerateLogs(3)))
			sent += 3
			time.Sleep(50 * time.Millisecond)
		}
		tr.shutdown(t)
		ids := sessiontest.IDs(t, st)
		assert.Equal(t, []string{"soak", "soak-2", "soak-3"}, ids)
		got := 0
		for _, id := range ids {
			s := sessiontest.Read(t, st, id)
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, id)
			sessiontest.CheckCounts(t, s)
			got += s.Logs.LogRecordCount()
		}
		assert.Equal(t, sent, got, "rotation loses nothing")
	})
}

func TestRotationBySize(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.MaxBytes = 600 // a batch of 20 spans stores in about 300 bytes
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tr := newTrio(t, cfg, nil)
	ctx := context.Background()
	for range 10 {
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(20)))
		// Rotation happens in the background, prompted by the write.
		require.Eventually(t, func() bool { return tr.shared.sessions.rotationDue() == "" }, 5*time.Second, 5*time.Millisecond)
	}
	tr.shutdown(t)
	ids := sessiontest.IDs(t, st)
	assert.Len(t, ids, 4, "rotated after every third batch")
	total := 0
	for _, id := range ids {
		s := sessiontest.Read(t, st, id)
		sessiontest.CheckCounts(t, s)
		total += s.Traces.SpanCount()
	}
	assert.Equal(t, 200, total)
}

func TestFixedIDContinuesAfterRestart(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "nightly"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	for range 2 {
		tr := newTrio(t, cfg, nil)
		require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(4)))
		tr.shutdown(t)
	}
	s := sessiontest.Read(t, st, "nightly")
	assert.Equal(t, 8, s.Traces.SpanCount())
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	sessiontest.CheckCounts(t, s)
}

// TestUnreadableMetadataIsRecounted: continuing a session whose
// metadata.json is unreadable counts what its objects already hold instead
// of starting at zero.
func TestUnreadableMetadataIsRecounted(t *testing.T) {
	for _, writers := range []bool{true, false} {
		t.Run(fmt.Sprint("writer_files_", writers), func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.Session.ID = "nightly"
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			tr := newTrio(t, cfg, nil)
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(4)))
			require.NoError(t, tr.logs.ConsumeLogs(context.Background(), testdata.GenerateLogs(3)))
			tr.shutdown(t)
			first := sessiontest.Read(t, st, "nightly").Meta

			require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("nightly"), []byte("{not json")))
			if !writers {
				dropWriters(t, st, "nightly") // as a session from before writer files
			}
			tr = newTrio(t, cfg, nil)
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(5)))
			tr.shutdown(t)

			s := sessiontest.Read(t, st, "nightly")
			assert.Equal(t, 9, s.Traces.SpanCount())
			assert.Equal(t, int64(9), s.Meta.CapturedTraces)
			assert.Equal(t, int64(3), s.Meta.CapturedLogs)
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			if writers {
				assert.Equal(t, first.StartTime, s.Meta.StartTime, "the writer's own file keeps the start")
			} else {
				assert.Equal(t, *first.Signals[sessionstore.SignalTraces].FirstCaptureTime, s.Meta.StartTime,
					"the recounted session starts at its first object")
			}
			sessiontest.CheckCounts(t, s)
		})
	}
}

// dropWriters deletes a session's writer files: what a session written
// before writer files looks like.
func dropWriters(t *testing.T, st sessionstore.Store, id string) {
	t.Helper()
	for info, err := range st.List(context.Background(), sessionstore.SessionPrefix(id)+"writers/") {
		require.NoError(t, err)
		require.NoError(t, st.Delete(context.Background(), info.Key))
	}
}

// corruptSession captures 4 spans into session "nightly" and then breaks
// its metadata.json.
func corruptSession(t *testing.T, cfg *Config, st sessionstore.Store) {
	t.Helper()
	tr := newTrio(t, cfg, nil)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(4)))
	tr.shutdown(t)
	require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("nightly"), []byte("{not json")))
	dropWriters(t, st, "nightly") // nothing left to go on but the objects
}

// TestRecountUnderFaults: a store failure while recounting is retried
// with the batch; a recount that cannot finish within the push's timeout
// gives way, and capture goes on counting afresh.
func TestRecountUnderFaults(t *testing.T) {
	t.Run("store_fails_once", func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "nightly"
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		corruptSession(t, cfg, st)
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s, faultstore.Once(faultstore.List, faultstore.Fault{Err: errors.New("connection reset"), After: 0}))
			return fs
		})
		require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(5)))
		tr.shutdown(t)
		require.GreaterOrEqual(t, len(fs.Calls(faultstore.List)), 2, "the recount was tried again")
		s := sessiontest.Read(t, st, "nightly")
		assert.Equal(t, int64(9), s.Meta.CapturedTraces, "recounted on the retry")
		sessiontest.CheckCounts(t, s)
	})
	t.Run("too_slow", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.Session.ID = "nightly"
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			cfg.TimeoutConfig.Timeout = time.Second
			corruptSession(t, cfg, st)
			tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
				// Listing the session's objects takes longer than a push may.
				return faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
					if c.Op == faultstore.List && c.Key == sessionstore.RawPrefix("nightly") {
						return faultstore.Fault{Delay: time.Hour}
					}
					return faultstore.Fault{}
				})
			})
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(5)))
			tr.shutdown(t)
			m, err := sessionstore.ReadMetadata(context.Background(), st, "nightly")
			require.NoError(t, err)
			assert.Equal(t, int64(5), m.CapturedTraces, "counted afresh: the new batch only")
			assert.Equal(t, sessionstore.StatusCompleted, m.Status)
		})
	})
}

// TestFutureSchemaIsNeverRewritten: a session whose metadata.json has a
// schemaVersion this build does not know is not written to: the push fails
// permanently, naming the version, and the file stays as it was.
func TestFutureSchemaIsNeverRewritten(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.ID = "next"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	future := []byte(`{"sessionId": "next", "schemaVersion": 2, "status": "completed", "startTime": "2026-11-28T23:00:00Z", "fancy": {"x": 1}}`)
	require.NoError(t, st.Put(context.Background(), sessionstore.MetadataKey("next"), future))
	tr := newTrio(t, cfg, nil)
	err := tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "no retry can help: %v", err)
	assert.Contains(t, err.Error(), "schemaVersion 2")
	tr.shutdown(t)
	rc, err := st.Get(context.Background(), sessionstore.MetadataKey("next"))
	require.NoError(t, err)
	got, err := sessionstore.ReadAll(rc, 1<<20)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, string(future), string(got), "never rewritten")
}

// TestContinuingUnfinishedSessionRecounts: a session left active by a
// crash, or failed, may hold more than its metadata says; continuing it
// recounts it from its objects first.
func TestContinuingUnfinishedSessionRecounts(t *testing.T) {
	for _, status := range []sessionstore.Status{sessionstore.StatusActive, sessionstore.StatusFailed} {
		t.Run(string(status), func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.Session.ID = "nightly"
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			tr := newTrio(t, cfg, nil)
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(4)))
			tr.shutdown(t)
			// As a crash leaves it: objects stored after the last metadata
			// write, in metadata.json and in the writer's own file.
			m, err := sessionstore.ReadMetadata(context.Background(), st, "nightly")
			require.NoError(t, err)
			m.Status, m.EndTime = status, nil
			m.CapturedTraces, m.TotalSizeBytes, m.Signals = 0, 0, map[sessionstore.Signal]*sessionstore.SignalStats{}
			require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))
			views, err := sessionstore.ReadWriters(context.Background(), st, "nightly")
			require.NoError(t, err)
			require.Len(t, views, 1)
			for w := range views {
				require.NoError(t, sessionstore.WriteWriter(context.Background(), st, w, m))
			}

			tr = newTrio(t, cfg, nil)
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(5)))
			tr.shutdown(t)
			s := sessiontest.Read(t, st, "nightly")
			assert.Equal(t, int64(9), s.Meta.CapturedTraces)
			sessiontest.CheckCounts(t, s)
			want := sessionstore.StatusCompleted
			if status == sessionstore.StatusFailed {
				want = sessionstore.StatusFailed // it lost data once: continuing does not undo that
			}
			assert.Equal(t, want, s.Meta.Status)
		})
	}
}

// TestHungStoreDoesNotFreezeRotation: a metadata write that never answers
// (a half-open connection) must not freeze housekeeping: every store call
// is bounded by store.timeout, so rotation by max_duration goes on and the
// data lands in successive sessions.
func TestHungStoreDoesNotFreezeRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "soak"
		cfg.Session.MaxDuration = 10 * time.Second
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			// Every metadata.json write hangs until its context ends.
			fs = faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
				if c.Op == faultstore.Put && c.IsMetadata() {
					return faultstore.Fault{Delay: 24 * time.Hour}
				}
				return faultstore.Fault{}
			})
			return fs
		})
		for range 24 { // two minutes of traffic, one batch every 5 s
			require.NoError(t, tr.logs.ConsumeLogs(context.Background(), testdata.GenerateLogs(1)))
			time.Sleep(5 * time.Second)
		}
		sessions := map[string]bool{}
		for _, c := range fs.Calls(faultstore.Put) {
			if !c.IsMetadata() {
				k, err := sessionstore.ParseObjectKey(c.Key)
				require.NoError(t, err)
				sessions[k.SessionID] = true
			}
		}
		assert.GreaterOrEqual(t, len(sessions), 3, "rotated every 10 s despite the hung store: %v", sessions)
		fs.Heal()
		tr.shutdown(t)
		_ = st
	})
}

// TestHungSessionDoesNotHoldUpOthers: while the metadata writes of one
// session hang, a push that continues another session (completed for
// idleness, its final metadata not yet written) does not wait for them: no
// lock is held across another session's store call.
func TestHungSessionDoesNotHoldUpOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, _ := fsConfig(t)
		cfg.Session.FromAttribute = "test.session.id"
		cfg.Session.IdleTimeout = 5 * time.Second
		cfg.MetadataInterval = 100 * time.Millisecond
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s)
			return fs
		})
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-a", 2)))
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-b", 2)))
		time.Sleep(500 * time.Millisecond)
		// From now on every write of seed-a's metadata hangs (until
		// store.timeout, 30 s), and seed-a has news to write.
		fs.Inject(func(c faultstore.Call) faultstore.Fault {
			if c.Op == faultstore.Put && c.Key == sessionstore.MetadataKey("seed-a") {
				return faultstore.Fault{Delay: 24 * time.Hour}
			}
			return faultstore.Fault{}
		})
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-a", 1)))
		// Housekeeping: stuck on seed-a until 31 s; then it completes seed-b
		// for idleness and is stuck on seed-a again, before seed-b's turn.
		time.Sleep(35 * time.Second)
		start := time.Now()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-b", 3)))
		assert.Zero(t, time.Since(start), "the push to seed-b did not wait for seed-a's store calls")
		fs.Heal()
		tr.shutdown(t)
	})
}

// TestSessionIDsDifferingOnlyByCase: on a case-insensitive filesystem
// (macOS, Windows, some NAS mounts) "Run1" and "run1" are one directory;
// a new session whose id differs only by case from an existing one is
// refused, naming both, instead of mixing two sessions.
func TestSessionIDsDifferingOnlyByCase(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.Session.FromAttribute = "test.session.id"
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tr := newTrio(t, cfg, nil)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), tracesForSession("run1", 2)))
	err := tr.traces.ConsumeTraces(context.Background(), tracesForSession("Run1", 2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), `"Run1"`)
	assert.Contains(t, err.Error(), `"run1"`)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), tracesForSession("run1", 1)), "the existing session goes on")
	tr.shutdown(t)
	assert.Equal(t, []string{"run1"}, sessiontest.IDs(t, st))
}

// TestOutageDoesNotCompleteSessions: an outage longer than idle_timeout
// does not complete a session whose batch is still being retried, nor any
// other while writes fail; the batch lands in the session once the store is
// back, and the session completes only after it.
func TestOutageDoesNotCompleteSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.FromAttribute = "test.session.id"
		cfg.Session.IdleTimeout = 30 * time.Second
		cfg.RetryConfig.MaxElapsedTime = 0 // retry until the store is back
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s)
			return fs
		})
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-x", 2)))
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-y", 2)))
		time.Sleep(time.Second)
		fs.Inject(func(faultstore.Call) faultstore.Fault { return faultstore.Fault{Err: errors.New("connection refused")} })
		done := make(chan error, 1)
		go func() { done <- tr.traces.ConsumeTraces(ctx, tracesForSession("seed-x", 3)) }()
		time.Sleep(90 * time.Second) // the outage, three idle timeouts long
		for _, id := range []string{"seed-x", "seed-y"} {
			s := tr.shared.sessions.set.get(id)
			require.NotNil(t, s, id)
			assert.False(t, s.isClosed(), "%s completed during the outage", id)
		}
		fs.Heal()
		require.NoError(t, <-done)
		time.Sleep(2 * time.Minute) // now idle for real
		tr.shutdown(t)
		s := sessiontest.Read(t, st, "seed-x")
		assert.Equal(t, int64(5), s.Meta.CapturedTraces)
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
		sessiontest.CheckCounts(t, s)
	})
}

// TestShutdownWithUndeliveredBatchSaysFailed: a batch still waiting for
// a retry when the collector stops is lost; the session says so: status
// failed with the items lost per signal, and the items it does hold.
func TestShutdownWithUndeliveredBatchSaysFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "drill"
		cfg.RetryConfig.MaxElapsedTime = 0
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s)
			return fs
		})
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
		// Data objects can no longer be written; metadata still can.
		fs.Inject(faultstore.Data(faultstore.Put, func(faultstore.Call) faultstore.Fault {
			return faultstore.Fault{Err: errors.New("connection refused")}
		}))
		done := make(chan error, 1)
		go func() { done <- tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(3)) }()
		time.Sleep(10 * time.Second)
		tr.shutdown(t)
		require.Error(t, <-done, "the batch was not delivered")
		m, err := sessionstore.ReadMetadata(ctx, st, "drill")
		require.NoError(t, err)
		assert.Equal(t, sessionstore.StatusFailed, m.Status, "it lost data: not completed")
		require.NotNil(t, m.LostItems)
		assert.Equal(t, int64(3), m.LostItems.Traces)
		assert.Equal(t, int64(2), m.CapturedTraces, "what it holds")
	})
}

// TestShutdownKeepsRetrying: the store is away when the collector is told
// to stop, and back 3 s later: the batches exporterhelper gave up on at
// shutdown and the final metadata are stored within shutdown_timeout, and
// the session says completed with everything accepted.
func TestShutdownKeepsRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "drill"
		cfg.RetryConfig.MaxElapsedTime = 0
		var fs *faultstore.Store
		tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s)
			return fs
		})
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(2)))
		time.Sleep(time.Second)
		fs.Inject(func(faultstore.Call) faultstore.Fault { return faultstore.Fault{Err: errors.New("connection refused")} })
		for range 5 { // accepted into the queue while the store is away
			require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(100)))
		}
		time.Sleep(2 * time.Second)
		time.AfterFunc(3*time.Second, fs.Heal) // the store comes back during shutdown
		start := time.Now()
		tr.shutdown(t)
		assert.Less(t, time.Since(start), cfg.ShutdownTimeout, "within shutdown_timeout")
		s := sessiontest.Read(t, st, "drill")
		assert.Equal(t, 502, s.Traces.SpanCount(), "nothing lost")
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
		assert.Nil(t, s.Meta.LostItems)
		sessiontest.CheckCounts(t, s)
	})
}

func TestMetadataWrittenWhileActive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.ID = "live"
		cfg.MetadataInterval = 100 * time.Millisecond
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		tr := newTrio(t, cfg, nil)
		defer tr.shutdown(t)
		ctx := context.Background()
		assert.Empty(t, sessiontest.IDs(t, st), "an idle exporter leaves no empty session")
		require.NoError(t, tr.metrics.ConsumeMetrics(ctx, testdata.GenerateMetrics(4)))
		// The first data opens the session and its metadata.json says active;
		// the counts follow within metadata_interval.
		require.Eventually(t, func() bool {
			m, err := sessionstore.ReadMetadata(ctx, st, "live")
			return err == nil && m.Status == sessionstore.StatusActive && m.EndTime == nil && m.CapturedMetrics == 8
		}, 5*time.Second, 20*time.Millisecond)
		require.NoError(t, tr.metrics.ConsumeMetrics(ctx, testdata.GenerateMetrics(1)))
		require.Eventually(t, func() bool {
			m, err := sessionstore.ReadMetadata(ctx, st, "live")
			return err == nil && m.CapturedMetrics == 10
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func TestLifecycle(t *testing.T) {
	cfg, _ := fsConfig(t)
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	exp, err := f.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()), "shutdown without start")
	// (A second Shutdown of an exporterhelper exporter panics inside
	// exporterhelper itself; the shared instance below it tolerates it, see
	// internal/sharedcomponent.)

	bad, _ := fsConfig(t)
	bad.Store.Backend = sessionstore.BackendS3
	bad.Store.S3.Bucket = ""
	lexp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), bad)
	require.NoError(t, err, "no I/O and no validation surprises in create")
	err = lexp.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bucket")
	require.NoError(t, lexp.Shutdown(context.Background()))
	assert.Equal(t, 0, exporters.Len(), "no instance left behind")
}

func TestKeysFollowLayout(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tr := newTrio(t, cfg, nil)
	before := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(1)))
	require.NoError(t, tr.metrics.ConsumeMetrics(context.Background(), testdata.GenerateMetrics(1)))
	require.NoError(t, tr.logs.ConsumeLogs(context.Background(), testdata.GenerateLogs(1)))
	after := time.Now().UTC()
	tr.shutdown(t)
	var signals []string
	for info, err := range st.List(context.Background(), "sessions/") {
		require.NoError(t, err)
		if filepath.Base(info.Key) == "metadata.json" {
			continue
		}
		if filepath.Base(filepath.Dir(info.Key)) == "writers" {
			assert.Regexp(t, `^sessions/[^/]+/writers/[A-Za-z0-9][A-Za-z0-9._-]*\.json$`, info.Key)
			continue
		}
		k, err := sessionstore.ParseObjectKey(info.Key)
		require.NoError(t, err)
		assert.False(t, k.CaptureTime.Before(before) || k.CaptureTime.After(after), "capture time is when the batch was stored")
		signals = append(signals, string(k.Signal))
	}
	slices.Sort(signals)
	assert.Equal(t, []string{"logs", "metrics", "traces"}, signals)
}

func TestOwnTelemetry(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	tr := newTrioWith(t, set, cfg, nil)
	ctx := context.Background()
	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(7)))
	require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(5)))
	require.NoError(t, tr.logs.ConsumeLogs(ctx, testdata.GenerateLogs(4)))
	tr.shutdown(t)
	s := sessiontest.Read(t, st, sessiontest.IDs(t, st)[0])

	// sum adds up the points of a counter, those of one signal if signal
	// is set.
	sum := func(name, signal string) int64 {
		t.Helper()
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		data, ok := m.Data.(metricdata.Sum[int64])
		require.True(t, ok, name)
		var total int64
		for _, dp := range data.DataPoints {
			if v, ok := dp.Attributes.Value("signal"); signal == "" || ok && v.AsString() == signal {
				total += dp.Value
			}
		}
		return total
	}
	assert.Equal(t, int64(2), sum("otelcol_exporter_session_capture_objects", "traces"))
	// Items stored are exporterhelper's to count: the exporter keeps no twin.
	assert.Equal(t, int64(12), sum("otelcol_exporter_sent_spans", ""))
	assert.Equal(t, int64(4), sum("otelcol_exporter_sent_log_records", ""))
	_, err := tel.GetMetric("otelcol_exporter_session_capture_items")
	require.Error(t, err, "no own items counter")
	assert.Equal(t, s.Meta.TotalSizeBytes,
		sum("otelcol_exporter_session_capture_compressed_bytes", "traces")+sum("otelcol_exporter_session_capture_compressed_bytes", "logs"))
	assert.Equal(t, s.Raw[sessionstore.SignalTraces], sum("otelcol_exporter_session_capture_bytes", "traces"))
}

func TestEmptyBatchesStoreNothing(t *testing.T) {
	cfg, st := fsConfig(t)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	tr := newTrio(t, cfg, nil)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", "idle")
	require.NoError(t, tr.traces.ConsumeTraces(context.Background(), td))
	require.NoError(t, tr.logs.ConsumeLogs(context.Background(), plog.NewLogs()))
	tr.shutdown(t)
	assert.Empty(t, sessiontest.IDs(t, st), "no object and no empty session")
}

func TestIdleAttributeSessionsComplete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, st := fsConfig(t)
		cfg.Session.FromAttribute = "test.session.id"
		cfg.Session.IdleTimeout = 300 * time.Millisecond
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		tr := newTrio(t, cfg, nil)
		ctx := context.Background()
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-idle", 3)))
		// No more data: the session completes by itself while the collector runs,
		// so that replay's auto selection can pick it.
		require.Eventually(t, func() bool {
			m, err := sessionstore.ReadMetadata(ctx, st, "seed-idle")
			return err == nil && m.Status == sessionstore.StatusCompleted && m.CapturedTraces == 3
		}, 10*time.Second, 50*time.Millisecond)
		// More data for the same id continues it.
		require.NoError(t, tr.traces.ConsumeTraces(ctx, tracesForSession("seed-idle", 4)))
		require.Eventually(t, func() bool {
			m, err := sessionstore.ReadMetadata(ctx, st, "seed-idle")
			return err == nil && m.CapturedTraces == 7
		}, 10*time.Second, 50*time.Millisecond)
		tr.shutdown(t)
		s := sessiontest.Read(t, st, "seed-idle")
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
		sessiontest.CheckCounts(t, s)
	})
}

// TestShutdownBeforeSessionOpened: the store is away from the first batch
// on, so the session was never opened, and comes back only in the last
// quarter of shutdown_timeout, when no data write is tried any more. The
// loss is still recorded: the session's metadata.json says failed with
// the items lost, and an error log names them. If the store never comes
// back, the error log still names them.
func TestShutdownBeforeSessionOpened(t *testing.T) {
	for _, back := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			cfg, st := fsConfig(t)
			cfg.Session.ID = "drill"
			cfg.RetryConfig.MaxElapsedTime = 0
			cfg.ShutdownTimeout = 8 * time.Second
			core, logs := observer.New(zap.InfoLevel)
			set := exportertest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			var fs *faultstore.Store
			tr := newTrioWith(t, set, cfg, func(s sessionstore.Store) sessionstore.Store {
				fs = faultstore.New(s, func(faultstore.Call) faultstore.Fault { return faultstore.Fault{Err: errors.New("connection refused")} })
				return fs
			})
			require.NoError(t, tr.traces.ConsumeTraces(context.Background(), testdata.GenerateTraces(5)))
			time.Sleep(2 * time.Second)
			if back {
				go func() {
					time.Sleep(6500 * time.Millisecond) // past 3/4 of shutdown_timeout
					fs.Heal()
				}()
			}
			_ = tr.traces.Shutdown(context.Background())
			_ = tr.metrics.Shutdown(context.Background())
			_ = tr.logs.Shutdown(context.Background())

			lost := logs.FilterLevelExact(zap.ErrorLevel).FilterMessageSnippet("lost").All()
			require.NotEmpty(t, lost, "an error log names the loss")
			assert.EqualValues(t, 5, lost[len(lost)-1].ContextMap()["lost_spans"])
			assert.Equal(t, "drill", lost[len(lost)-1].ContextMap()["session"])
			if !back {
				return
			}
			m, err := sessionstore.ReadMetadata(context.Background(), st, "drill")
			require.NoError(t, err, "the session's metadata.json is written once the store is back")
			assert.Equal(t, sessionstore.StatusFailed, m.Status)
			require.NotNil(t, m.LostItems)
			assert.Equal(t, int64(5), m.LostItems.Traces)
			assert.Equal(t, int64(0), m.CapturedTraces)
		})
	}
}

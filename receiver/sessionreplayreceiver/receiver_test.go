package sessionreplayreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// sinks collect what the receiver emits, with arrival times.
type sinks struct {
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	logs    *consumertest.LogsSink
}

func newSinks() *sinks {
	return &sinks{traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink)}
}

// started is one session_replay instance wired to the given consumers.
type started struct {
	r    *replayReceiver
	comp component.Component
	logs *observer.ObservedLogs
}

var instances atomic.Int64

// startReplayWith starts a traces-only replay whose store is wrapped.
func startReplayWith(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store, nt consumer.Traces) *started {
	t.Helper()
	return startReplayOpts(t, cfg, wrap, nt, nil, nil)
}

func startReplay(t *testing.T, cfg *Config, nt consumer.Traces, nm consumer.Metrics, nl consumer.Logs) *started {
	t.Helper()
	return startReplayOpts(t, cfg, nil, nt, nm, nl)
}

func startReplayOpts(t *testing.T, cfg *Config, wrap func(sessionstore.Store) sessionstore.Store, nt consumer.Traces, nm consumer.Metrics, nl consumer.Logs) *started {
	t.Helper()
	var prepare func(*replayReceiver)
	if wrap != nil {
		prepare = func(r *replayReceiver) {
			r.openStore = func(ctx context.Context, c *sessionstore.Config) (sessionstore.Store, error) {
				st, err := sessionstore.Open(ctx, c)
				if err != nil {
					return nil, err
				}
				return wrap(st), nil
			}
		}
	}
	return startReplayOn(t, cfg, componenttest.NewNopHost(), prepare, nt, nm, nl)
}

// startReplayOn starts a replay on host, after prepare (if not nil) has
// adjusted the receiver.
func startReplayOn(t *testing.T, cfg *Config, host component.Host, prepare func(*replayReceiver), nt consumer.Traces, nm consumer.Metrics, nl consumer.Logs) *started {
	t.Helper()
	s := createReplay(t, cfg, prepare, nt, nm, nl)
	require.NoError(t, s.comp.Start(context.Background(), host))
	return s
}

// createReplay creates a replay (not started), adjusted by prepare; it is
// shut down when the test ends.
func createReplay(t *testing.T, cfg *Config, prepare func(*replayReceiver), nt consumer.Traces, nm consumer.Metrics, nl consumer.Logs) *started {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprintf("%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), instances.Add(1)))
	set.Logger = zap.New(core)
	f := NewFactory()
	ctx := context.Background()
	var comp component.Component
	if nt != nil {
		c, err := f.CreateTraces(ctx, set, cfg, nt)
		require.NoError(t, err)
		comp = c
	}
	if nm != nil {
		c, err := f.CreateMetrics(ctx, set, cfg, nm)
		require.NoError(t, err)
		comp = c
	}
	if nl != nil {
		c, err := f.CreateLogs(ctx, set, cfg, nl)
		require.NoError(t, err)
		comp = c
	}
	shared, err := receivers.Get(set, cfg)
	require.NoError(t, err)
	if prepare != nil {
		prepare(shared.Unwrap())
	}
	t.Cleanup(func() { require.NoError(t, comp.Shutdown(context.Background())) })
	return &started{r: shared.Unwrap(), comp: comp, logs: logs}
}

func (s *started) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.r.current().done:
	case <-time.After(d):
		t.Fatalf("replay did not finish within %s", d)
	}
}

func fsStore(t *testing.T) (sessionstore.Config, sessionstore.Store) {
	t.Helper()
	cfg := sessionstore.NewDefaultConfig()
	cfg.Directory = filepath.Join(t.TempDir(), "data")
	st, err := sessionstore.OpenFilesystem(cfg.Directory)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return cfg, st
}

func baseConfig(store sessionstore.Config, session string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Store = store
	cfg.Session = session
	cfg.Speed = 0
	cfg.Timestamps = TimestampsNone
	return cfg
}

// mixedSession writes traces, metrics and logs objects 10 ms apart and
// returns what it wrote per signal, in order.
func mixedSession(t *testing.T, st sessionstore.Store, id string, n int) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	t.Helper()
	c0 := time.Date(2026, 11, 28, 23, 59, 59, 0, time.UTC) // crosses an hour and a day
	w := sessiontest.NewWriter(t, st, id, c0)
	at, am, al := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	for i := range n {
		base := c0.Add(time.Duration(i*30) * time.Millisecond)
		td := sessiontest.Traces("svc-"+fmt.Sprint(i%3), i, 5+i, base)
		td.ResourceSpans().At(0).CopyTo(at.ResourceSpans().AppendEmpty())
		w.Traces(base, td)
		md := testdata.GenerateMetrics(2 + i%4)
		md.ResourceMetrics().At(0).Resource().Attributes().PutStr("service.name", "svc-"+fmt.Sprint(i%3))
		md.ResourceMetrics().At(0).CopyTo(am.ResourceMetrics().AppendEmpty())
		w.Metrics(base.Add(10*time.Millisecond), md)
		ld := testdata.GenerateLogs(3 + i%5)
		ld.ResourceLogs().At(0).Resource().Attributes().PutStr("service.name", "svc-"+fmt.Sprint(i%3))
		ld.ResourceLogs().At(0).CopyTo(al.ResourceLogs().AppendEmpty())
		w.Logs(base.Add(20*time.Millisecond), ld)
	}
	w.Complete()
	return at, am, al
}

func merged(s *sinks) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	td, md, ld := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	for _, b := range s.traces.AllTraces() {
		b.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	for _, b := range s.metrics.AllMetrics() {
		b.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	for _, b := range s.logs.AllLogs() {
		b.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	}
	return td, md, ld
}

func TestRoundTripFilesystem(t *testing.T) {
	storeCfg, st := fsStore(t)
	wantT, wantM, wantL := mixedSession(t, st, "rt", 12)
	s := newSinks()
	rep := startReplay(t, baseConfig(storeCfg, "rt"), s.traces, s.metrics, s.logs)
	rep.wait(t, 30*time.Second)
	gotT, gotM, gotL := merged(s)
	// Objects arrive in capture order, so even resource order is identical.
	require.NoError(t, ptracetest.CompareTraces(wantT, gotT))
	require.NoError(t, pmetrictest.CompareMetrics(wantM, gotM))
	require.NoError(t, plogtest.CompareLogs(wantL, gotL))
	assert.Equal(t, 1, rep.r.lastSummary().passes)
	assert.Equal(t, int64(36), rep.r.lastSummary().objects)
}

func TestOnlyWiredSignalsAreRead(t *testing.T) {
	storeCfg, st := fsStore(t)
	_, _, wantL := mixedSession(t, st, "logs-only", 5)
	// Make every non-log object unreadable: reading one would be reported.
	for o, err := range sessionstore.ListObjects(context.Background(), st, "logs-only") {
		require.NoError(t, err)
		if o.Signal != sessionstore.SignalLogs {
			require.NoError(t, st.Put(context.Background(), o.Key, []byte("garbage")))
		}
	}
	s := newSinks()
	rep := startReplay(t, baseConfig(storeCfg, "logs-only"), nil, nil, s.logs)
	rep.wait(t, 30*time.Second)
	_, _, gotL := merged(s)
	require.NoError(t, plogtest.CompareLogs(wantL, gotL))
	assert.Equal(t, int64(0), rep.r.lastSummary().badObjects)
}

func TestServicesFilterAndShards(t *testing.T) {
	storeCfg, st := fsStore(t)
	wantT, _, _ := mixedSession(t, st, "svc", 30)

	cfg := baseConfig(storeCfg, "svc")
	cfg.Services = []string{"svc-1"}
	s := newSinks()
	startReplay(t, cfg, s.traces, nil, nil).wait(t, 30*time.Second)
	got, _, _ := merged(s)
	want := ptrace.NewTraces()
	wantT.CopyTo(want)
	want.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		v, _ := rs.Resource().Attributes().Get("service.name")
		return v.Str() != "svc-1"
	})
	require.NoError(t, ptracetest.CompareTraces(want, got))

	// Three shards together replay everything exactly once.
	all := map[pcommon.SpanID]int{}
	for i := range 3 {
		cfg := baseConfig(storeCfg, "svc")
		cfg.Shard = ShardConfig{Index: i, Count: 3}
		s := newSinks()
		t.Run(fmt.Sprint("shard", i), func(t *testing.T) {
			startReplay(t, cfg, s.traces, nil, nil).wait(t, 30*time.Second)
		})
		got, _, _ := merged(s)
		assert.Positive(t, got.SpanCount(), "shard %d has some objects", i)
		for id, n := range sessiontest.SpanIDs(got) {
			all[id] += n
		}
	}
	assert.Equal(t, sessiontest.SpanIDs(wantT), all)
}

// TestDuplicateObjectsReplayOnce: objects of one session with the same
// uuid hold the same batch (a redelivery after a crash, stored under a
// later millisecond); a pass delivers it once, the first copy.
func TestDuplicateObjectsReplayOnce(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)
	enc, err := sessionstore.NewEncoder(sessionstore.CompressionBestSpeed)
	require.NoError(t, err)
	put := func(at time.Time, id string, td ptrace.Traces) {
		e, err := enc.EncodeTraces(td)
		require.NoError(t, err)
		defer e.Release()
		key := sessionstore.ObjectKey{SessionID: "dups", Signal: sessionstore.SignalTraces, CaptureTime: at, ID: id}.String()
		require.NoError(t, st.Put(context.Background(), key, e.Data))
	}
	first, other := sessiontest.Traces("svc", 0, 3, c0), sessiontest.Traces("svc", 1, 2, c0)
	put(c0, "6f1c3a52-9d4e-5b8a-9c21-3e7f0a1b2c3d", first)
	put(c0.Add(time.Second), "0b9e2d41-7c3f-5a6b-8d10-2f4e6a8c0e1f", other)
	put(c0.Add(2*time.Hour), "6f1c3a52-9d4e-5b8a-9c21-3e7f0a1b2c3d", first) // the redelivery, another hour
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, func() *sessionstore.Metadata {
		m := sessionstore.NewMetadata("dups", sessionstore.SessionTypeCapture, c0, "test")
		m.Status = sessionstore.StatusCompleted
		return m
	}()))
	sink := new(consumertest.TracesSink)
	startReplay(t, baseConfig(storeCfg, "dups"), sink, nil, nil).wait(t, 30*time.Second)
	require.Len(t, sink.AllTraces(), 2, "the duplicate is delivered once")
	require.NoError(t, ptracetest.CompareTraces(first, sink.AllTraces()[0]))
	require.NoError(t, ptracetest.CompareTraces(other, sink.AllTraces()[1]))
}

func TestBadObjectsAreSkippedAndReported(t *testing.T) {
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "bad", c0)
	good := ptrace.NewTraces()
	var badKeys []string
	enc, err := sessionstore.NewEncoder(sessionstore.CompressionDefault)
	require.NoError(t, err)
	valid, err := enc.EncodeTraces(sessiontest.Traces("svc", 99, 50, c0))
	require.NoError(t, err)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(make([]byte, 8<<20)) // inflates past the 1 MiB cap below
	require.NoError(t, zw.Close())
	bad := [][]byte{
		[]byte("not gzip at all"),      // not gzip
		valid.Data[:len(valid.Data)/2], // truncated
		{},                             // empty
		bomb.Bytes(),                   // gzip bomb
		gzipped(t, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}), // gzip, but not an export request
	}
	for i := range 10 {
		at := c0.Add(time.Duration(i) * time.Second)
		td := sessiontest.Traces("svc", i, 3, at)
		td.ResourceSpans().At(0).CopyTo(good.ResourceSpans().AppendEmpty())
		w.Traces(at, td)
		if i < len(bad) {
			badKeys = append(badKeys, w.Raw(sessionstore.SignalTraces, at.Add(time.Millisecond), bad[i]))
		}
	}
	// A stray file that is not an object at all.
	require.NoError(t, st.Put(context.Background(), "sessions/bad/raw/2026-11-28/12/README.txt", []byte("hi")))
	w.Complete()

	cfg := baseConfig(storeCfg, "bad")
	cfg.MaxObjectBytes = 1 << 20
	s := newSinks()
	rep := startReplay(t, cfg, s.traces, nil, nil)
	rep.wait(t, 30*time.Second)
	got, _, _ := merged(s)
	require.NoError(t, ptracetest.CompareTraces(good, got), "everything else replays")
	reported := map[string]string{}
	for _, e := range rep.logs.FilterMessage("Skipping bad object").All() {
		reported[e.ContextMap()["key"].(string)] = e.ContextMap()["error"].(string)
	}
	for _, k := range badKeys {
		assert.Contains(t, reported, k)
	}
	assert.Contains(t, reported, "sessions/bad/raw/2026-11-28/12/README.txt")
	assert.Contains(t, reported[badKeys[3]], "too large")
	assert.Len(t, reported, len(badKeys)+1)
	assert.Equal(t, int64(len(badKeys)+1), rep.r.lastSummary().badObjects)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// flaky fails every other call: non-permanent errors must be retried.
type flaky struct {
	mu        sync.Mutex
	calls     int
	permanent bool
	sink      consumertest.TracesSink
}

func (f *flaky) Capabilities() consumer.Capabilities { return consumer.Capabilities{MutatesData: true} }
func (f *flaky) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls%2 == 1
	f.mu.Unlock()
	if fail {
		// Scribble on the data first, as a mutating processor might.
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("scribbled", "yes")
		if f.permanent {
			return consumererror.NewPermanent(errors.New("refused"))
		}
		return errors.New("try again")
	}
	return f.sink.ConsumeTraces(ctx, td)
}

func TestDownstreamErrors(t *testing.T) {
	storeCfg, st := fsStore(t)
	wantT, _, _ := mixedSession(t, st, "errs", 6)

	f := &flaky{}
	startReplay(t, baseConfig(storeCfg, "errs"), f, nil, nil).wait(t, 60*time.Second)
	got := ptrace.NewTraces()
	for _, b := range f.sink.AllTraces() {
		b.ResourceSpans().MoveAndAppendTo(got.ResourceSpans())
	}
	require.NoError(t, ptracetest.CompareTraces(wantT, got), "retried with the original data, nothing lost")

	p := &flaky{permanent: true}
	rep := startReplay(t, baseConfig(storeCfg, "errs"), p, nil, nil)
	rep.wait(t, 60*time.Second)
	assert.Equal(t, 3, len(p.sink.AllTraces()), "permanent refusals are skipped")
	assert.Equal(t, int64(wantT.SpanCount()-p.sink.SpanCount()), rep.r.lastSummary().dropped)
}

func TestContract(t *testing.T) {
	storeCfg, st := fsStore(t)
	w := sessiontest.NewWriter(t, st, "contract", time.Now())
	w.Complete()
	cfg := baseConfig(storeCfg, "contract")
	// The generator writes objects after Start; the pass begins after them.
	// (Real time: the contract checker runs subtests, which synctest does
	// not allow inside a bubble.)
	cfg.StartDelay = time.Second
	// Half of all deliveries fail in two scenarios: keep retries short so
	// the checker's 5 s window is never the limit.
	cfg.RetryOnFailure.InitialInterval = time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 10 * time.Millisecond
	gen := &contractGenerator{t: t, st: st}
	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       NewFactory(),
		Signal:        pipeline.SignalLogs,
		Config:        cfg,
		Generator:     gen,
		GenerateCount: 30,
	})
}

// contractGenerator writes each generated log record as an object of the
// session the receiver replays; Start empties the session for a new scenario.
type contractGenerator struct {
	t  *testing.T
	st sessionstore.Store
	mu sync.Mutex
	n  int
	w  *sessiontest.Writer
}

func (g *contractGenerator) Start() {
	ctx := context.Background()
	for o, err := range sessionstore.ListObjects(ctx, g.st, "contract") {
		require.NoError(g.t, err)
		require.NoError(g.t, g.st.Delete(ctx, o.Key))
	}
	g.w = sessiontest.NewWriter(g.t, g.st, "contract", time.Now())
}

func (g *contractGenerator) Stop() {}

func (g *contractGenerator) Generate() []receivertest.UniqueIDAttrVal {
	g.mu.Lock()
	g.n++
	id := receivertest.UniqueIDAttrVal(fmt.Sprint("id-", g.n))
	g.w.Logs(time.Now(), receivertest.CreateOneLogWithID(id))
	g.mu.Unlock()
	return []receivertest.UniqueIDAttrVal{id}
}

func TestAllBadSessionStopsLooping(t *testing.T) {
	storeCfg, st := fsStore(t)
	w := sessiontest.NewWriter(t, st, "allbad", time.Now())
	w.Raw(sessionstore.SignalLogs, time.Now(), []byte("junk"))
	w.Complete()
	cfg := baseConfig(storeCfg, "allbad")
	cfg.Loops = 0 // forever, but there is nothing to replay
	rep := startReplay(t, cfg, nil, nil, new(consumertest.LogsSink))
	rep.wait(t, 10*time.Second)
	assert.Equal(t, int64(1), rep.r.lastSummary().badObjects)
	assert.Len(t, rep.logs.FilterMessage("Session has nothing to replay for the configured pipelines").All(), 1)
}

// TestEveryReadAheadFinishes: every read_ahead the config allows replays
// the whole session (1 decodes one object ahead of the one delivered).
func TestEveryReadAheadFinishes(t *testing.T) {
	for _, ra := range []int{1, 2, 4, 64} {
		t.Run(fmt.Sprint(ra), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				storeCfg, st := fsStore(t)
				want := writeNumbered(t, st, "ra", 12, time.Second)
				cfg := baseConfig(storeCfg, "ra")
				cfg.ReadAhead = ra
				sink := &arrivals{}
				startReplay(t, cfg, sink, nil, nil).wait(t, time.Hour)
				assert.Equal(t, want, spanOrder(sink))
			})
		})
	}
}

// lastSummary is what the current (or last) run has done so far.
func (r *replayReceiver) lastSummary() *summary {
	s := r.current().tally.summary()
	return &s
}

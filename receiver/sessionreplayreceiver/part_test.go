package sessionreplayreceiver

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// minuteSession writes one object a minute for ten minutes (two hours
// directories: 12:55 to 13:04), each of 3 spans whose event times are
// its capture time, and returns the object keys.
func minuteSession(t *testing.T, st sessionstore.Store, id string, c0 time.Time) []string {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	var keys []string
	for i := range 10 {
		at := c0.Add(time.Duration(i) * time.Minute)
		keys = append(keys, w.Traces(at, sessiontest.Traces("svc", i, 3, at)))
	}
	w.Complete()
	return keys
}

// TestTimeRange: time_range (offsets from the session start, or RFC
// 3339) replays only the items whose event time is inside it, paced from
// the part's own start; with relative timestamps the part's first item
// lands at the replay's start; objects captured before the range are not
// read.
func TestTimeRange(t *testing.T) {
	for _, tr := range []TimeRangeConfig{
		{Start: "3m", End: "6m"},
		{Start: "2026-11-28T12:58:00Z", End: "2026-11-28T13:01:00Z"},
	} {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, st := fsStore(t)
			c0 := time.Date(2026, 11, 28, 12, 55, 0, 0, time.UTC)
			keys := minuteSession(t, st, "range", c0)
			cfg := baseConfig(storeCfg, "range")
			cfg.Speed = 1
			cfg.Timestamps = TimestampsRelative
			cfg.TimeRange = tr
			require.NoError(t, cfg.Validate())
			var fs *faultstore.Store
			sink := &arrivals{}
			start := time.Now()
			rep := startReplayWith(t, cfg, func(s sessionstore.Store) sessionstore.Store {
				fs = faultstore.New(s)
				return fs
			}, sink)
			rep.wait(t, time.Hour)

			spans := replayedSpans(sink)
			require.Len(t, spans, 9, "the objects of minutes 3, 4 and 5")
			first := spans[0]
			for _, s := range spans {
				if s.start < first.start {
					first = s
				}
			}
			assert.Equal(t, start.UTC(), first.start.AsTime(), "relative: the part's first item lands at the start")
			sink.mu.Lock()
			assert.Equal(t, start, sink.got[0].at, "paced from the part's own start")
			assert.Equal(t, 2*time.Minute, sink.got[len(sink.got)-1].at.Sub(sink.got[0].at))
			sink.mu.Unlock()
			for _, c := range fs.Calls(faultstore.Get) {
				assert.NotContains(t, keys[:3], c.Key, "an object captured before the range is not read")
			}
		})
	}
}

// TestPhases: phases [failure] replays only the failure phase of a seed
// session, paced from its own start; a phase the session does not have
// fails the start, naming the ones it has.
func TestPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		sessiontest.SeedPhases(t, st, "seed-pf", c0)
		cfg := baseConfig(storeCfg, "seed-pf")
		cfg.Speed = 1
		cfg.Phases = []string{"failure"}
		sink := &arrivals{}
		start := time.Now()
		startReplay(t, cfg, sink, nil, nil).wait(t, time.Hour)
		spans := replayedSpans(sink)
		require.Len(t, spans, 6)
		sink.mu.Lock()
		for _, g := range sink.got {
			v, _ := g.td.ResourceSpans().At(0).Resource().Attributes().Get(sessionstore.AttrPhaseName)
			assert.Equal(t, "failure", v.Str())
		}
		assert.Equal(t, start, sink.got[0].at, "paced from the phase's own start")
		assert.Equal(t, 20*time.Second, sink.got[2].at.Sub(sink.got[0].at))
		sink.mu.Unlock()

		cfg = baseConfig(storeCfg, "seed-pf")
		cfg.Phases = []string{"outage"}
		r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		err = r.Start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), `"outage"`) && strings.Contains(err.Error(), "baseline") && strings.Contains(err.Error(), "failure"), "%v", err)
		require.NoError(t, r.Shutdown(context.Background()))
	})
}

func TestTimeRangeConfig(t *testing.T) {
	for _, tc := range []struct {
		tr  TimeRangeConfig
		bad string
	}{
		{TimeRangeConfig{Start: "5m"}, ""},
		{TimeRangeConfig{End: "2026-11-28T13:00:00Z"}, ""},
		{TimeRangeConfig{Start: "soon"}, "time_range.start"},
		{TimeRangeConfig{Start: "-1m"}, "time_range.start"},
		{TimeRangeConfig{Start: "6m", End: "5m"}, "before"},
		{TimeRangeConfig{Start: "2026-11-28T13:00:00Z", End: "2026-11-28T12:00:00Z"}, "before"},
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.TimeRange = tc.tr
		err := cfg.Validate()
		if tc.bad == "" {
			assert.NoError(t, err, "%+v", tc.tr)
		} else {
			assert.ErrorContains(t, err, tc.bad, "%+v", tc.tr)
		}
	}
}

// TestTimeRangeEventTimeApartFromCaptureTime: time_range selects by event
// time, counted from the session's first event, also in sessions whose
// capture times do not follow their event times: a seed made with clock:
// fast stores 30 s of events within 30 ms of capture time, and a seed
// anchored in the past stores events long before their capture. The
// range [10s, 20s) holds the objects whose events are 10 to 19 s in, and
// the replay delivers exactly their items.
func TestTimeRangeEventTimeApartFromCaptureTime(t *testing.T) {
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		events time.Time // the first object's event time; object i's is i s later
		tr     TimeRangeConfig
	}{
		{"clock fast: events run ahead of capture", c0, TimeRangeConfig{Start: "10s", End: "20s"}},
		{"clock fast, RFC 3339", c0, TimeRangeConfig{Start: "2026-11-28T12:00:10Z", End: "2026-11-28T12:00:20Z"}},
		{"anchored two hours before capture", c0.Add(-2 * time.Hour), TimeRangeConfig{Start: "10s", End: "20s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				storeCfg, st := fsStore(t)
				w := sessiontest.NewWriter(t, st, "compressed", c0)
				w.Meta.SessionType = sessionstore.SessionTypeSeed
				for i := range 30 { // captured 1 ms apart, events 1 s apart
					w.Traces(c0.Add(time.Duration(i)*time.Millisecond), sessiontest.Traces("svc", i, 5, tc.events.Add(time.Duration(i)*time.Second)))
				}
				w.Complete()
				cfg := baseConfig(storeCfg, "compressed")
				cfg.TimeRange = tc.tr
				require.NoError(t, cfg.Validate())
				sink := new(consumertest.TracesSink)
				rep := startReplay(t, cfg, sink, nil, nil)
				rep.wait(t, time.Hour)

				got := map[int64]int{}
				for _, td := range sink.AllTraces() {
					for _, sp := range pdatawalk.Spans(td) {
						b, _ := sp.Attributes().Get("batch")
						got[b.Int()]++
					}
				}
				want := map[int64]int{}
				for i := int64(10); i < 20; i++ {
					want[i] = 5
				}
				assert.Equal(t, want, got, "the spans of the objects 10 to 19 s into the session's event time")
				assert.Empty(t, rep.logs.FilterMessage("Session has nothing to replay for the configured pipelines").All())
			})
		})
	}
}

// TestPartApply: what a part keeps of a decoded object, each signal. With
// no time range every item of a kept resource stays, unset times too;
// scopes and resources left empty go either way.
func TestPartApply(t *testing.T) {
	at := func(s int) pcommon.Timestamp { return pcommon.Timestamp(int64(s) * int64(time.Second)) }
	// Per signal: service a with items at 0 s (unset), 10 s and 20 s, an
	// empty scope and an empty resource, and service b with one at 20 s.
	traces := func() sessionstore.Batch {
		td := ptrace.NewTraces()
		for _, svc := range []string{"a", "b"} {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", svc)
			ss := rs.ScopeSpans().AppendEmpty()
			for _, s := range map[string][]int{"a": {0, 10, 20}, "b": {20}}[svc] {
				ss.Spans().AppendEmpty().SetStartTimestamp(at(s))
			}
			rs.ScopeSpans().AppendEmpty()
		}
		td.ResourceSpans().AppendEmpty()
		return sessionstore.Batch{Signal: sessionstore.SignalTraces, Traces: td}
	}
	logs := func() sessionstore.Batch {
		ld := plog.NewLogs()
		for _, svc := range []string{"a", "b"} {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", svc)
			sl := rl.ScopeLogs().AppendEmpty()
			for _, s := range map[string][]int{"a": {0, 10, 20}, "b": {20}}[svc] {
				sl.LogRecords().AppendEmpty().SetTimestamp(at(s))
			}
			rl.ScopeLogs().AppendEmpty()
		}
		ld.ResourceLogs().AppendEmpty()
		return sessionstore.Batch{Signal: sessionstore.SignalLogs, Logs: ld}
	}
	metrics := func() sessionstore.Batch {
		md := pmetric.NewMetrics()
		for _, svc := range []string{"a", "b"} {
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("service.name", svc)
			sm := rm.ScopeMetrics().AppendEmpty()
			g := sm.Metrics().AppendEmpty().SetEmptyGauge()
			for _, s := range map[string][]int{"a": {0, 10, 20}, "b": {20}}[svc] {
				g.DataPoints().AppendEmpty().SetTimestamp(at(s))
			}
			sm.Metrics().AppendEmpty().SetEmptySum() // a metric of no points
			rm.ScopeMetrics().AppendEmpty()
		}
		md.ResourceMetrics().AppendEmpty()
		return sessionstore.Batch{Signal: sessionstore.SignalMetrics, Metrics: md}
	}
	shape := func(b sessionstore.Batch) (resources, scopes int) {
		switch b.Signal {
		case sessionstore.SignalTraces:
			for _, rs := range b.Traces.ResourceSpans().All() {
				resources, scopes = resources+1, scopes+rs.ScopeSpans().Len()
			}
		case sessionstore.SignalLogs:
			for _, rl := range b.Logs.ResourceLogs().All() {
				resources, scopes = resources+1, scopes+rl.ScopeLogs().Len()
			}
		case sessionstore.SignalMetrics:
			for _, rm := range b.Metrics.ResourceMetrics().All() {
				resources, scopes = resources+1, scopes+rm.ScopeMetrics().Len()
				for _, sm := range rm.ScopeMetrics().All() {
					assert.Equal(t, 1, sm.Metrics().Len(), "a metric left without points goes")
				}
			}
		}
		return resources, scopes
	}
	base := time.Unix(0, 0).UTC()
	for _, tt := range []struct {
		name                          string
		part                          part
		items, resources, scopesAfter int
	}{
		{"whole", part{}, 4, 2, 2},
		{"services", part{services: []string{"a"}}, 3, 1, 1},
		{"from 10s", part{start: base.Add(10 * time.Second)}, 3, 2, 2},
		{"until 15s", part{end: base.Add(15 * time.Second)}, 1, 1, 1},
	} {
		for _, batch := range []func() sessionstore.Batch{traces, logs, metrics} {
			b := batch()
			t.Run(tt.name+"/"+string(b.Signal), func(t *testing.T) {
				p := tt.part
				assert.Equal(t, tt.items, p.apply(b))
				assert.Equal(t, tt.items, b.ItemCount())
				r, s := shape(b)
				assert.Equal(t, tt.resources, r, "resources")
				assert.Equal(t, tt.scopesAfter, s, "scopes")
			})
		}
	}
}

// TestAnnotatedPhases: on a captured (non-seed) session, phases [name]
// replays the items whose event time is in the annotated phase's range
// (start inclusive, end exclusive), as time_range would; several phases
// replay the union of their ranges; a name the session lacks fails the
// start, naming the phases it has.
func TestAnnotatedPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 55, 0, 0, time.UTC)
		minuteSession(t, st, "cap", c0)
		_, err := sessionstore.Annotate(context.Background(), st, "cap", sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{
			{Name: "incident", From: "3m", To: "6m"},
			{Name: "late", From: c0.Add(8 * time.Minute).Format(time.RFC3339), To: "9m"},
		}}, "test")
		require.NoError(t, err)

		for _, tt := range []struct {
			phases []string
			want   int
		}{
			{phases: []string{"incident"}, want: 9},
			{phases: []string{"incident", "late"}, want: 12},
		} {
			cfg := baseConfig(storeCfg, "cap")
			cfg.Phases = tt.phases
			sink := &arrivals{}
			startReplay(t, cfg, sink, nil, nil).wait(t, time.Hour)
			spans := replayedSpans(sink)
			require.Len(t, spans, tt.want, "%v", tt.phases)
			for _, s := range spans {
				at := s.start.AsTime()
				in := !at.Before(c0.Add(3*time.Minute)) && at.Before(c0.Add(6*time.Minute)) ||
					!at.Before(c0.Add(8*time.Minute)) && at.Before(c0.Add(9*time.Minute))
				assert.True(t, in, "span at %s is in no phase of %v", at, tt.phases)
			}
		}

		cfg := baseConfig(storeCfg, "cap")
		cfg.Phases = []string{"outage"}
		r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		err = r.Start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), `"outage"`) && strings.Contains(err.Error(), `"incident"`) && strings.Contains(err.Error(), `"late"`), "%v", err)
		require.NoError(t, r.Shutdown(context.Background()))
	})
}

// TestNarrowedReplayStatus: a replay of part of a session by event time
// (an annotated phase, a time_range) cannot know its items before it has
// read them: its status says so (no total) while it runs, and when it is
// over it says 100 % of the items it delivered, not a share of the whole
// session's.
func TestNarrowedReplayStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 55, 0, 0, time.UTC)
		minuteSession(t, st, "cap", c0)
		_, err := sessionstore.Annotate(context.Background(), st, "cap", sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{
			{Name: "incident", From: "3m", To: "6m"},
		}}, "test")
		require.NoError(t, err)
		for name, mutate := range map[string]func(*Config){
			"annotated phase": func(c *Config) { c.Phases = []string{"incident"} },
			"time_range":      func(c *Config) { c.TimeRange = TimeRangeConfig{Start: "3m", End: "6m"} },
		} {
			cfg := baseConfig(storeCfg, "cap")
			mutate(cfg)
			rep := startReplay(t, cfg, &arrivals{}, nil, nil)
			rep.wait(t, time.Hour)
			st := rep.r.Status()
			assert.Equal(t, control.Finished, st.State, name)
			assert.EqualValues(t, 9, st.ItemsDone, name)
			assert.EqualValues(t, 9, st.ItemsTotal, "%s: what it delivered, once over", name)
			assert.EqualValues(t, 100, st.Percent, name)
		}
	})
}

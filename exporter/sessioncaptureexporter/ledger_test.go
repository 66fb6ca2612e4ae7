package sessioncaptureexporter

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// The tests of capture's accounting send items that each carry a unique
// number (itemAttr) and then read back every object of every session, so
// that "stored once, in the session it was accepted into, and counted" is
// checked item by item rather than by totals.

const itemAttr = "rr.test.item"

// itemBatch builds n items of signal, numbered from first, spread over
// resources resources; a non-empty route is set as test.session.id on
// every resource.
func itemBatch(signal sessionstore.Signal, first, n, resources int, route string) any {
	resources = max(1, min(resources, n))
	per := (n + resources - 1) / resources
	newRes := func(r pcommon.Resource, i int) {
		r.Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", i))
		if route != "" {
			r.Attributes().PutStr("test.session.id", route)
		}
	}
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	switch signal {
	case sessionstore.SignalTraces:
		td := ptrace.NewTraces()
		for i := 0; i < n; {
			rs := td.ResourceSpans().AppendEmpty()
			newRes(rs.Resource(), i/per)
			ss := rs.ScopeSpans().AppendEmpty()
			for j := 0; j < per && i < n; j, i = j+1, i+1 {
				s := ss.Spans().AppendEmpty()
				s.SetName("op")
				id := uint64(first + i + 1)
				s.SetTraceID(pcommon.TraceID{0: 1, 8: byte(id >> 56), 9: byte(id >> 48), 10: byte(id >> 40), 11: byte(id >> 32), 12: byte(id >> 24), 13: byte(id >> 16), 14: byte(id >> 8), 15: byte(id)})
				s.SetSpanID(pcommon.SpanID{0: byte(id >> 56), 1: byte(id >> 48), 2: byte(id >> 40), 3: byte(id >> 32), 4: byte(id >> 24), 5: byte(id >> 16), 6: byte(id >> 8), 7: byte(id)})
				s.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
				s.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i+1) * time.Microsecond)))
				s.Attributes().PutInt(itemAttr, int64(first+i))
			}
		}
		return td
	case sessionstore.SignalMetrics:
		md := pmetric.NewMetrics()
		for i := 0; i < n; {
			rm := md.ResourceMetrics().AppendEmpty()
			newRes(rm.Resource(), i/per)
			m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			m.SetName("requests")
			g := m.SetEmptyGauge()
			for j := 0; j < per && i < n; j, i = j+1, i+1 {
				dp := g.DataPoints().AppendEmpty()
				dp.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
				dp.SetIntValue(int64(i))
				dp.Attributes().PutInt(itemAttr, int64(first+i))
			}
		}
		return md
	default:
		ld := plog.NewLogs()
		for i := 0; i < n; {
			rl := ld.ResourceLogs().AppendEmpty()
			newRes(rl.Resource(), i/per)
			sl := rl.ScopeLogs().AppendEmpty()
			for j := 0; j < per && i < n; j, i = j+1, i+1 {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
				lr.Body().SetStr("same body")
				lr.Attributes().PutInt(itemAttr, int64(first+i))
			}
		}
		return ld
	}
}

// consumeItems sends a batch built by itemBatch through the trio.
func (tr *trio) consumeItems(ctx context.Context, signal sessionstore.Signal, batch any) error {
	switch signal {
	case sessionstore.SignalTraces:
		return tr.traces.ConsumeTraces(ctx, batch.(ptrace.Traces))
	case sessionstore.SignalMetrics:
		return tr.metrics.ConsumeMetrics(ctx, batch.(pmetric.Metrics))
	default:
		return tr.logs.ConsumeLogs(ctx, batch.(plog.Logs))
	}
}

// itemKey names one item: its signal and number.
type itemKey struct {
	signal sessionstore.Signal
	n      int64
}

// where says in which sessions and objects one item was found.
type where struct {
	sessions []string
	objects  []string
}

// storeAudit is what a store holds, item by item, and each session's
// metadata.
type storeAudit struct {
	items map[itemKey]*where
	meta  map[string]*sessionstore.Metadata
	// objectItems counts the items the objects of each session hold, per
	// signal.
	objectItems map[string]map[sessionstore.Signal]int64
}

// audit reads every object of every session in st.
func audit(t *testing.T, st sessionstore.Store) storeAudit {
	t.Helper()
	a := storeAudit{items: map[itemKey]*where{}, meta: map[string]*sessionstore.Metadata{}, objectItems: map[string]map[sessionstore.Signal]int64{}}
	ctx := context.Background()
	for _, id := range sessiontest.IDs(t, st) {
		m, err := sessionstore.ReadMetadata(ctx, st, id)
		require.NoError(t, err)
		a.meta[id] = m
		a.objectItems[id] = map[sessionstore.Signal]int64{}
		for o, err := range sessionstore.ListObjects(ctx, st, id) {
			require.NoError(t, err)
			b, _, err := sessionstore.ReadObject(ctx, st, o, 256<<20)
			require.NoError(t, err, "object %s", o.Key)
			note := func(v pcommon.Value, ok bool) {
				require.True(t, ok, "an item without %s in %s", itemAttr, o.Key)
				k := itemKey{signal: o.Signal, n: v.Int()}
				w := a.items[k]
				if w == nil {
					w = &where{}
					a.items[k] = w
				}
				w.sessions = append(w.sessions, id)
				w.objects = append(w.objects, o.Key)
				a.objectItems[id][o.Signal]++
			}
			switch o.Signal {
			case sessionstore.SignalTraces:
				for _, rs := range b.Traces.ResourceSpans().All() {
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							note(s.Attributes().Get(itemAttr))
						}
					}
				}
			case sessionstore.SignalMetrics:
				for _, rm := range b.Metrics.ResourceMetrics().All() {
					for _, sm := range rm.ScopeMetrics().All() {
						for _, m := range sm.Metrics().All() {
							for _, dp := range m.Gauge().DataPoints().All() {
								note(dp.Attributes().Get(itemAttr))
							}
						}
					}
				}
			case sessionstore.SignalLogs:
				for _, rl := range b.Logs.ResourceLogs().All() {
					for _, sl := range rl.ScopeLogs().All() {
						for _, lr := range sl.LogRecords().All() {
							note(lr.Attributes().Get(itemAttr))
						}
					}
				}
			}
		}
	}
	return a
}

// sessionOf returns the one session holding every item of signal numbered
// [first, first+n), failing if they are spread or missing.
func (a storeAudit) sessionsOf(signal sessionstore.Signal, first, n int) map[string]int {
	out := map[string]int{}
	for i := first; i < first+n; i++ {
		if w := a.items[itemKey{signal, int64(i)}]; w != nil {
			for _, s := range w.sessions {
				out[s]++
			}
		}
	}
	return out
}

// checkLedger asserts the accounting rule for every session in the store:
// the objects' items equal the metadata's counts, no item is in two
// objects (nor two sessions), lost and dropped are counted, and a session
// is completed only when nothing was lost or dropped. It returns how many
// distinct items of each signal the store holds.
func (a storeAudit) checkLedger(t *testing.T) map[sessionstore.Signal]int {
	t.Helper()
	for id, m := range a.meta {
		got := a.objectItems[id]
		assert.Equal(t, got[sessionstore.SignalTraces], m.CapturedTraces, "session %s: capturedTraces against its objects", id)
		assert.Equal(t, got[sessionstore.SignalMetrics], m.CapturedMetrics, "session %s: capturedMetrics against its objects", id)
		assert.Equal(t, got[sessionstore.SignalLogs], m.CapturedLogs, "session %s: capturedLogs against its objects", id)
		lost := m.LostItems.Total() > 0
		dropped := m.DroppedItems.Total() > 0
		if m.Status == sessionstore.StatusCompleted {
			assert.False(t, lost, "session %s says completed and lost %+v", id, m.LostItems)
			assert.False(t, dropped, "session %s says completed and dropped %+v", id, m.DroppedItems)
		}
		if lost || dropped {
			assert.Equal(t, sessionstore.StatusFailed, m.Status, "session %s lost %+v, dropped %+v", id, m.LostItems, m.DroppedItems)
		}
	}
	distinct := map[sessionstore.Signal]int{}
	var dups []string
	for k, w := range a.items {
		distinct[k.signal]++
		// A snapshot holds copies of its recorder's objects by design:
		// each session on its own holds every item at most once.
		perSession := map[string]int{}
		for _, id := range w.sessions {
			perSession[id]++
		}
		for id, n := range perSession {
			if m := a.meta[id]; n > 1 || (m != nil && m.Snapshot == nil && len(perSession) > 1 && !copiedBySnapshot(a, id, perSession)) {
				dups = append(dups, fmt.Sprintf("%s %d in %v", k.signal, k.n, w.objects))
				break
			}
		}
	}
	slices.Sort(dups)
	if len(dups) > 0 {
		t.Errorf("%d items stored more than once, e.g. %v", len(dups), dups[:min(3, len(dups))])
	}
	return distinct
}

// copiedBySnapshot reports whether every other session holding an item of
// session id is a snapshot of it.
func copiedBySnapshot(a storeAudit, id string, holders map[string]int) bool {
	for other := range holders {
		if other == id {
			continue
		}
		m := a.meta[other]
		if m == nil || m.Snapshot == nil || m.Snapshot.Recorder != id {
			return false
		}
	}
	return true
}

// lostOf returns a session's lost items of signal.
func lostOf(m *sessionstore.Metadata, signal sessionstore.Signal) int64 {
	if m == nil || m.LostItems == nil {
		return 0
	}
	switch signal {
	case sessionstore.SignalTraces:
		return m.LostItems.Traces
	case sessionstore.SignalMetrics:
		return m.LostItems.Metrics
	default:
		return m.LostItems.Logs
	}
}

// capturedOf returns a session's captured items of signal.
func capturedOf(m *sessionstore.Metadata, signal sessionstore.Signal) int64 {
	switch signal {
	case sessionstore.SignalTraces:
		return m.CapturedTraces
	case sessionstore.SignalMetrics:
		return m.CapturedMetrics
	default:
		return m.CapturedLogs
	}
}

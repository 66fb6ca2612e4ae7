package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// arrivalAttr is the resource attribute with which the exporter stamps
// each request as it accepts it, before the sending queue: "{unix
// millis}-{request id in hex}". A persistent queue stores it with the
// data, so a batch delivered again after a restart carries the same
// stamp. It is removed before anything is stored.
const arrivalAttr = "recordreplay.capture.arrival"

// arrivalResolution is how finely a batch gathered from many requests is
// split by arrival: requests that arrived within it of each other share an
// object. The sending queue's batches of a healthy pipeline span at most
// its flush timeout (200 ms) and stay one object; a backlog gathered during
// an outage becomes one object per second of arrival.
const arrivalResolution = time.Second

// arrival is when one accepted request arrived, and its id.
type arrival struct {
	at time.Time // millisecond precision, UTC
	id uint64    // 0: not stamped
}

func (a arrival) String() string {
	return strconv.FormatInt(a.at.UnixMilli(), 10) + "-" + strconv.FormatUint(a.id, 16)
}

func parseArrival(s string) (arrival, bool) {
	ms, idHex, ok := strings.Cut(s, "-")
	if !ok {
		return arrival{}, false
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	id, err2 := strconv.ParseUint(idHex, 16, 64)
	if err1 != nil || err2 != nil || m < 0 || id == 0 {
		return arrival{}, false
	}
	return arrival{at: time.UnixMilli(m).UTC(), id: id}, true
}

// arrivals stamps accepted requests and keeps the ones not pushed yet:
// they wait in the sending queue, so no session is idle.
type arrivals struct {
	now    func() time.Time
	mu     sync.Mutex
	queued map[uint64]struct{}
}

func newArrivals(now func() time.Time) *arrivals {
	return &arrivals{now: now, queued: map[uint64]struct{}{}}
}

// accept returns the stamp of a request accepted now, queued from now on.
func (a *arrivals) accept() arrival {
	st := arrival{at: a.now().UTC().Truncate(time.Millisecond)}
	for st.id == 0 {
		st.id = rand.Uint64()
	}
	a.mu.Lock()
	a.queued[st.id] = struct{}{}
	a.mu.Unlock()
	return st
}

// pushed records that the requests ids reached a push (or never will).
func (a *arrivals) pushed(ids ...uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		delete(a.queued, id)
	}
}

// queuedIDs returns the ids of the requests waiting in the queue now.
func (a *arrivals) queuedIDs() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Collect(maps.Keys(a.queued))
}

// drained waits until none of ids waits in the queue any more (they
// reached a push), or ctx ends; it returns how many still wait.
func (a *arrivals) drained(ctx context.Context, ids []uint64) int {
	left := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		n := 0
		for _, id := range ids {
			if _, ok := a.queued[id]; ok {
				n++
			}
		}
		return n
	}
	waitutil.Poll(ctx, 5*time.Millisecond, func() bool { return left() == 0 })
	return left()
}

// waiting reports whether accepted requests wait in the queue.
func (a *arrivals) waiting() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queued) > 0
}

// stamp sets the arrival on every resource of a request.
func stamp[D, R any](data D, sig *signalOps[D, R], a arrival) {
	v := a.String()
	rs := sig.resources(data)
	for i := range rs.Len() {
		sig.resource(rs.At(i)).Attributes().PutStr(arrivalAttr, v)
	}
}

// takeArrivals returns the arrival of each resource of a batch (zero for
// a resource without one) and removes the stamps.
func takeArrivals[D, R any](data D, sig *signalOps[D, R]) []arrival {
	rs := sig.resources(data)
	out := make([]arrival, rs.Len())
	for i := range rs.Len() {
		attrs := sig.resource(rs.At(i)).Attributes()
		if v, ok := attrs.Get(arrivalAttr); ok {
			out[i], _ = parseArrival(v.AsString())
			attrs.Remove(arrivalAttr)
		}
	}
	return out
}

// requestIDs returns the distinct request ids of arrivals, sorted.
func requestIDs(as []arrival) []uint64 {
	ids := make([]uint64, 0, len(as))
	for _, a := range as {
		if a.id != 0 {
			ids = append(ids, a.id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// idName is the name an object's uuid derives from: its requests' ids.
func idName(ids []uint64) []byte {
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	return b
}

// The exporters the pipelines see: each drops the request while the
// capture is paused (control API), else stamps its arrival and hands it to
// exporterhelper (queue, batching, retry, push).
type (
	arrivingTraces struct {
		exporter.Traces
		a *arrivals
		g *gate
	}
	arrivingMetrics struct {
		exporter.Metrics
		a *arrivals
		g *gate
	}
	arrivingLogs struct {
		exporter.Logs
		a *arrivals
		g *gate
	}
)

func (w arrivingTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if w.g.drop(sessionstore.SignalTraces, td.SpanCount()) {
		return nil
	}
	return consumeArriving(ctx, w.a, td, &tracesSignal, td.SpanCount(), w.Traces.ConsumeTraces)
}

func (w arrivingMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if w.g.drop(sessionstore.SignalMetrics, md.DataPointCount()) {
		return nil
	}
	return consumeArriving(ctx, w.a, md, &metricsSignal, md.DataPointCount(), w.Metrics.ConsumeMetrics)
}

func (w arrivingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if w.g.drop(sessionstore.SignalLogs, ld.LogRecordCount()) {
		return nil
	}
	return consumeArriving(ctx, w.a, ld, &logsSignal, ld.LogRecordCount(), w.Logs.ConsumeLogs)
}

// consumeArriving stamps a request (one with items: an empty one stores
// nothing and may never reach a push) and hands it on.
func consumeArriving[D, R any](ctx context.Context, a *arrivals, data D, sig *signalOps[D, R], items int, next func(context.Context, D) error) error {
	if items == 0 {
		return next(ctx, data)
	}
	st := a.accept()
	stamp(data, sig, st)
	err := next(ctx, data)
	if err != nil {
		a.pushed(st.id) // refused (a full queue), or pushed and failed: not waiting
	}
	return err
}

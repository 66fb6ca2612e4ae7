package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// backpressure: drop. A request the sending queue has no room for is
// accepted (the pipeline sees success) and dropped: counted in its
// session's ledger (droppedItems: the session says failed), in the
// dropped_items counter, and in a warning at most once per dropWarnEvery.

// dropWarnEvery is the least time between two warnings about drops.
const dropWarnEvery = 10 * time.Second

// dropReport gathers the drops since the last warning.
type dropReport struct {
	mu     sync.Mutex
	total  counts    // dropped since the collector started
	since  counts    // dropped since the last warning
	warned time.Time // when the last warning was logged
	cause  error     // the queue's last refusal
}

// dropped records n items of signal, accepted into session ownID (own of
// them) and the routes (routed), that the queue refused with cause.
func (e *captureExporter) dropped(signal sessionstore.Signal, ownID string, own int64, routed map[string]int64, cause error) {
	if e.sessions != nil {
		e.sessions.drop(ownID, signal, own, routed)
	}
	n := own
	for _, r := range routed {
		n += r
	}
	e.telemetry.ExporterSessionCaptureDroppedItems.Add(context.Background(), n,
		metric.WithAttributes(attribute.String("signal", string(signal))))
	now := e.now()
	r := &e.drops
	r.mu.Lock()
	r.total.add(signal, n)
	r.since.add(signal, n)
	r.cause = cause
	if now.Sub(r.warned) < dropWarnEvery {
		r.mu.Unlock()
		return
	}
	c, err := r.since, r.cause
	r.since, r.warned = counts{}, now
	r.mu.Unlock()
	e.warnDropped("Sending queue full: items dropped (backpressure: drop); the pipeline goes on without them", c, err)
}

// droppedCounts returns the items dropped since the collector started, per
// signal.
func (r *dropReport) droppedCounts() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(signals))
	for i, s := range signals {
		out[string(s)] = r.total[i]
	}
	return out
}

// flushDrops warns about the drops since the last warning (the collector
// stops).
func (e *captureExporter) flushDrops() {
	r := &e.drops
	r.mu.Lock()
	c, err := r.since, r.cause
	r.since = counts{}
	r.mu.Unlock()
	if c.total() > 0 {
		e.warnDropped("Items dropped since the last warning (backpressure: drop)", c, err)
	}
}

func (e *captureExporter) warnDropped(msg string, c counts, cause error) {
	e.set.Logger.Warn(msg,
		zap.Int64("dropped_spans", c[0]), zap.Int64("dropped_data_points", c[1]), zap.Int64("dropped_log_records", c[2]),
		zap.Duration("warning_interval", dropWarnEvery), zap.Error(cause))
}

// drop records items of a request accepted into session ownID (own of
// them) and the routes that were dropped instead of queued.
func (m *sessionManager) drop(ownID string, signal sessionstore.Signal, own int64, routed map[string]int64) {
	for route, n := range routed {
		m.route.take(route, signal, n)
		m.dropRouted(route, signal, n)
	}
	if s := m.set.get(ownID); s != nil && own > 0 {
		s.recordDropped(signal, own, true)
	}
}

// dropRouted records items of a route that were dropped: in its session if
// it is open, else they wait for it to open (the metadata writer opens it:
// recordDroppedRoutes).
func (m *sessionManager) dropRouted(route string, signal sessionstore.Signal, n int64) {
	if sessionstore.ValidateSessionID(route) != nil || m.allowed != nil && !m.allowed.MatchString(route) {
		return // no session would take them: counted in telemetry only
	}
	m.route.mu.Lock()
	defer m.route.mu.Unlock()
	id := route
	if alias, ok := m.route.aliases[route]; ok {
		id = alias
	}
	if s := m.set.get(id); s != nil && s.isOpen() {
		s.recordDropped(signal, n, false)
		return
	}
	addTo(m.route.dropped, route, signal, n)
}

// takeDropped records in s, just opened for route, the items of the route
// dropped while it was not open.
func (m *sessionManager) takeDropped(route string, s *session) {
	m.route.mu.Lock()
	defer m.route.mu.Unlock()
	c := m.route.dropped[route]
	if c == nil {
		return
	}
	delete(m.route.dropped, route)
	for i, n := range c {
		s.recordDropped(signals[i], n, false)
	}
}

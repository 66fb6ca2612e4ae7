package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Sessions named by the routing attribute (session.from_attribute):
// opened on first sight, aliased when completed elsewhere, completed when
// idle.

// routeState is what the exporter keeps of the routes (ids named by the
// attribute), behind its own lock.
type routeState struct {
	mu sync.Mutex
	// aliases sends the data of a route whose stored session was completed
	// before this exporter saw it to the session that takes its place,
	// id-2, id-3, ...
	aliases map[string]string
	// completedHere are the sessions named by the attribute that this
	// exporter completed itself (idle): later data continues them.
	completedHere map[string]bool
	// queued counts the routed items accepted in this run that have not
	// reached a push yet, by route: such a session is not idle.
	queued map[string]*counts
	// lost counts items lost for routes whose session could not even be
	// opened; atStop, at shutdown, the items of routes whose session was
	// not opened in this run that still wait in a persistent queue. Both
	// are recorded in their sessions with the final metadata (see
	// recordUnopened).
	lost, atStop map[string]*counts
	// dropped counts items of routes whose session was not open when the
	// sending queue had no room for them (backpressure: drop): recorded
	// when it opens.
	dropped map[string]*counts
}

func newRouteState() routeState {
	return routeState{
		aliases: map[string]string{}, completedHere: map[string]bool{},
		queued: map[string]*counts{}, lost: map[string]*counts{}, atStop: map[string]*counts{}, dropped: map[string]*counts{},
	}
}

// addTo adds n items of signal to route's count in counts.
func addTo(byRoute map[string]*counts, route string, signal sessionstore.Signal, n int64) {
	c := byRoute[route]
	if c == nil {
		c = &counts{}
		byRoute[route] = c
	}
	c.add(signal, n)
}

// queue counts routed items accepted now.
func (r *routeState) queue(route string, signal sessionstore.Signal, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	addTo(r.queued, route, signal, n)
}

// take ends the wait of routed items that reached a push (or that the
// sending queue refused).
func (r *routeState) take(route string, signal sessionstore.Signal, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.queued[route]
	if c == nil {
		return
	}
	i := signalIndex(signal)
	c[i] = max(0, c[i]-n)
	if c.total() == 0 {
		delete(r.queued, route)
	}
}

// drain returns, and forgets, the routed items still waiting, with the
// aliases (the collector stops).
func (r *routeState) drain() (map[string]*counts, map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queued
	r.queued = map[string]*counts{}
	return q, maps.Clone(r.aliases)
}

// queuedAtStop notes items of a route whose session this run did not
// open that wait in the persistent queue.
func (r *routeState) queuedAtStop(route string, c *counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.atStop[route] = c
}

// routeFate is what became of items of a route whose session was not
// opened.
type routeFate int

const (
	fateLost   routeFate = iota // could not be stored
	fateQueued                  // wait in the persistent queue at the stop
)

func (f routeFate) String() string { return [...]string{"lost", "queued"}[f] }

// unrecorded returns, and forgets, what waits to be recorded in sessions
// not opened yet: items lost, and items queued at the stop.
func (r *routeState) unrecorded() (lost, atStop map[string]*counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lost, atStop = r.lost, r.atStop
	r.lost, r.atStop = map[string]*counts{}, map[string]*counts{}
	return lost, atStop
}

// droppedRoutes returns the routes with dropped items not yet recorded in
// their sessions.
func (r *routeState) droppedRoutes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.dropped))
}

// forgetDropped forgets, and returns, the dropped items of a route.
func (r *routeState) forgetDropped(route string) counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.dropped[route]
	delete(r.dropped, route)
	if c == nil {
		return counts{}
	}
	return *c
}

// keep puts back what could not be recorded yet.
func (r *routeState) keep(route string, c *counts, fate routeFate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch fate {
	case fateLost:
		r.lost[route] = c
	case fateQueued:
		r.atStop[route] = c
	}
}

// unrecordedCounts returns a copy of the items lost and dropped for
// unopened routes.
func (r *routeState) unrecordedCounts() (lost, dropped map[string]counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lost, dropped = map[string]counts{}, map[string]counts{}
	for route, c := range r.lost {
		lost[route] = *c
	}
	for route, c := range r.dropped {
		dropped[route] = *c
	}
	return lost, dropped
}

// waiting returns the sessions (aliases resolved) whose data waits in the
// sending queue.
func (r *routeState) waiting() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for route := range r.queued {
		if alias, ok := r.aliases[route]; ok {
			route = alias
		}
		out[route] = true
	}
	return out
}

// takeQueued ends the wait of routed items that reached a push.
func (m *sessionManager) takeQueued(route string, signal sessionstore.Signal, n int64) {
	m.route.take(route, signal, n)
}

// errCompletedElsewhere says that a session named by the attribute was
// completed before this exporter saw it, and is not to be reopened.
var errCompletedElsewhere = errors.New("session completed before this exporter saw it")

// wasCompletedHere reports whether this exporter completed session id
// itself (for idleness): later data continues it.
func (m *sessionManager) wasCompletedHere(id string) bool {
	m.route.mu.Lock()
	defer m.route.mu.Unlock()
	return m.route.completedHere[id]
}

// routed returns the session named by a routing attribute, opening it on
// first sight; items of the route dropped while it was not open are
// recorded in it.
func (m *sessionManager) routed(ctx context.Context, route string, res pcommon.Resource) (*session, error) {
	s, err := m.routedSession(ctx, route, res)
	if err == nil {
		m.takeDropped(route, s)
	}
	return s, err
}

func (m *sessionManager) routedSession(ctx context.Context, route string, res pcommon.Resource) (*session, error) {
	if err := sessionstore.ValidateSessionID(route); err != nil {
		return nil, sessionstore.Permanent(fmt.Errorf("resource attribute %s: %w", m.cfg.FromAttribute, err))
	}
	if m.allowed != nil && !m.allowed.MatchString(route) {
		return nil, sessionstore.Permanent(fmt.Errorf("session id %q is not allowed by session.allowed_ids %q", route, m.cfg.AllowedIDs))
	}
	m.route.mu.Lock()
	id := route
	if alias, ok := m.route.aliases[route]; ok {
		id = alias
	}
	m.route.mu.Unlock()
	s := m.set.get(id)
	ok := s != nil
	if ok && !s.isClosed() {
		return s, m.open(ctx, s, res)
	}
	if ok {
		// Completed for idleness but not yet forgotten: write it out first,
		// so that continuing it starts from its final counts.
		if _, err := m.write(ctx, s, 0, true); err != nil {
			return nil, err
		}
	}
	if n := m.openRouted(); n >= m.cfg.MaxOpen {
		return nil, sessionstore.Permanent(fmt.Errorf("session %q refused: %d sessions named by the attribute are open (session.max_open %d)",
			route, n, m.cfg.MaxOpen))
	}
	// A session completed before this exporter saw it is not reopened
	// (unless session.reopen_completed): its data goes to id-2, id-3, ...
	for n := 2; ; n++ {
		s = newSession(id, kindRouted, m.now())
		err := m.load(ctx, s, res)
		if err == nil {
			break
		}
		if !errors.Is(err, errCompletedElsewhere) {
			return nil, err
		}
		next := route + "-" + strconv.Itoa(n)
		if verr := sessionstore.ValidateSessionID(next); verr != nil {
			return nil, sessionstore.Permanent(fmt.Errorf("session %q is completed and no successor id is possible: %w", route, verr))
		}
		m.logger.Warn("Data names a session that is already completed; it goes to a new session (session.reopen_completed is off)",
			zap.String("session", id), zap.String("new_session", next))
		id = next
	}
	if existing := m.set.putIfOpen(s); existing != s {
		return existing, m.open(ctx, existing, res) // opened meanwhile by another batch
	}
	if id != route {
		m.route.mu.Lock()
		m.route.aliases[route] = id
		m.route.mu.Unlock()
	}
	m.logger.Info("Opened session from attribute", zap.String("session", id))
	m.onOpen("attribute")
	return s, nil
}

// openRouted counts the open sessions named by the attribute.
func (m *sessionManager) openRouted() int {
	n := 0
	for _, s := range m.set.values() {
		if s.kind == kindRouted && !s.isClosed() {
			n++
		}
	}
	return n
}

// lostRoute records items lost for a route whose session could not be
// opened.
func (m *sessionManager) lostRoute(route string, signal sessionstore.Signal, n int64) {
	m.route.mu.Lock()
	defer m.route.mu.Unlock()
	addTo(m.route.lost, route, signal, n)
}

// closeIdle completes sessions named by the attribute, and earlier runs'
// sessions, that saw no data for the idle timeout; an earlier run's
// session also completes as soon as nothing more is to come for it. A
// later batch for the same id continues the stored session.
func (m *sessionManager) closeIdle() {
	now := m.now()
	failing, recovered := m.health.state()
	waiting := m.route.waiting()
	var candidates []*session
	for _, s := range m.set.values() {
		if s.kind != kindOwn && !waiting[s.id] {
			candidates = append(candidates, s)
		}
	}
	for _, s := range candidates {
		s.mu.Lock()
		done := s.kind == kindEarlier && s.opened && s.ledger.queued().total() == 0
		idle := m.cfg.IdleTimeout > 0 && !failing && s.ledger.pending.total() == 0 &&
			now.Sub(latest(s.lastData, s.created, recovered)) >= m.cfg.IdleTimeout
		closed := s.closed
		s.mu.Unlock()
		if closed || !(done || idle) {
			continue
		}
		if idle {
			m.logger.Info("Session idle; completing it", zap.String("session", s.id), zap.Duration("idle_timeout", m.cfg.IdleTimeout))
		}
		s.close(now, false, m.persistent)
		m.route.mu.Lock()
		m.route.completedHere[s.id] = true
		m.route.mu.Unlock()
	}
}

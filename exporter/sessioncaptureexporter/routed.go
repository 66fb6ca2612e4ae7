package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Sessions named by the routing attribute (session.from_attribute):
// opened on first sight, aliased when completed elsewhere, completed when
// idle. Their state is the manager's (sessionManager.mu).

// takeQueued ends the wait of routed items that reached a push.
func (m *sessionManager) takeQueued(route string, signal sessionstore.Signal, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.takeQueuedLocked(route, signal, n)
}

func (m *sessionManager) takeQueuedLocked(route string, signal sessionstore.Signal, n int64) {
	c := m.queued[route]
	if c == nil {
		return
	}
	i := signalIndex(signal)
	c[i] = max(0, c[i]-n)
	if c.total() == 0 {
		delete(m.queued, route)
	}
}

// errCompletedElsewhere says that a session named by the attribute was
// completed before this exporter saw it, and is not to be reopened.
var errCompletedElsewhere = errors.New("session completed before this exporter saw it")

// wasCompletedHere reports whether this exporter completed session id
// itself (for idleness): later data continues it.
func (m *sessionManager) wasCompletedHere(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.completedHere[id]
}

// routed returns the session named by a routing attribute, opening it on
// first sight.
func (m *sessionManager) routed(ctx context.Context, route string, res pcommon.Resource) (*session, error) {
	if err := sessionstore.ValidateSessionID(route); err != nil {
		return nil, sessionstore.Permanent(fmt.Errorf("resource attribute %s: %w", m.cfg.FromAttribute, err))
	}
	if m.allowed != nil && !m.allowed.MatchString(route) {
		return nil, sessionstore.Permanent(fmt.Errorf("session id %q is not allowed by session.allowed_ids %q", route, m.cfg.AllowedIDs))
	}
	m.mu.Lock()
	id := route
	if alias, ok := m.aliases[route]; ok {
		id = alias
	}
	s, ok := m.sessions[id]
	m.mu.Unlock()
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
	m.mu.Lock()
	if existing, ok := m.sessions[id]; ok && !existing.isClosed() {
		m.mu.Unlock()
		return existing, m.open(ctx, existing, res) // opened meanwhile by another batch
	}
	m.sessions[id] = s
	if id != route {
		m.aliases[route] = id
	}
	m.mu.Unlock()
	m.logger.Info("Opened session from attribute", zap.String("session", id))
	m.onOpen("attribute")
	return s, nil
}

// openRouted counts the open sessions named by the attribute.
func (m *sessionManager) openRouted() int {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.sessions))
	m.mu.Unlock()
	n := 0
	for _, s := range all {
		if s.kind == kindRouted && !s.isClosed() {
			n++
		}
	}
	return n
}

// lostRoute records items lost for a route whose session could not be
// opened.
func (m *sessionManager) lostRoute(route string, signal sessionstore.Signal, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.lostRoutes[route]
	if c == nil {
		c = &counts{}
		m.lostRoutes[route] = c
	}
	c.add(signal, n)
}

// closeIdle completes sessions named by the attribute, and earlier runs'
// sessions, that saw no data for the idle timeout; an earlier run's
// session also completes as soon as nothing more is to come for it. A
// later batch for the same id continues the stored session.
func (m *sessionManager) closeIdle() {
	now := m.now()
	m.mu.Lock()
	failing, recovered := m.storeFailing, m.recoveredAt
	waiting := map[string]bool{} // sessions whose data waits in the sending queue
	for route := range m.queued {
		if alias, ok := m.aliases[route]; ok {
			route = alias
		}
		waiting[route] = true
	}
	var candidates []*session
	for _, s := range m.sessions {
		if s.kind != kindOwn && !waiting[s.id] {
			candidates = append(candidates, s)
		}
	}
	m.mu.Unlock()
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
		m.mu.Lock()
		m.completedHere[s.id] = true
		m.mu.Unlock()
	}
}

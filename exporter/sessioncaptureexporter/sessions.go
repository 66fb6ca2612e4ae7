package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// sessionManager owns every session of one exporter instance: the own
// session (rotated on size or age, or by the control API; own.go), the
// sessions named by the routing attribute (routed.go), and sessions of
// earlier runs that a persistent queue delivers data to again. A session is
// chosen when data is accepted (the own session current then) or named by
// the data (the attribute), never by when the data happens to be stored.
// Each part keeps its state behind its own lock: set (every session in
// memory, by id), own, route, health and writer; when two are taken, own
// or route comes before set.
type sessionManager struct {
	store      sessionstore.Store
	cfg        *SessionConfig
	createdBy  string
	instance   string // this run, in the views it writes
	persistent bool   // the sending queue is persistent: what is left in it at shutdown is kept
	logger     *zap.Logger
	now        func() time.Time
	onOpen     func(reason string)
	allowed    *regexp.Regexp // session.allowed_ids, nil: any

	set    sessionSet
	own    ownState
	route  routeState
	health storeHealth
	writer writerName
}

// sessionSet is every session in memory, by id.
type sessionSet struct {
	mu sync.Mutex
	m  map[string]*session
}

func (ss *sessionSet) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

func (ss *sessionSet) put(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m[s.id] = s
}

// putIfOpen adds s unless an open session of its id is there, which it
// returns instead.
func (ss *sessionSet) putIfOpen(s *session) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if existing, ok := ss.m[s.id]; ok && !existing.isClosed() {
		return existing
	}
	ss.m[s.id] = s
	return s
}

// getOrAdd returns the session of id, adding the one make makes if none.
func (ss *sessionSet) getOrAdd(id string, make func() *session) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[id]; ok {
		return s
	}
	s := make()
	ss.m[id] = s
	return s
}

// remove drops s (not another session of its id).
func (ss *sessionSet) remove(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m[s.id] == s {
		delete(ss.m, s.id)
	}
}

func (ss *sessionSet) values() []*session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return slices.Collect(maps.Values(ss.m))
}

// forgetSettled drops the closed sessions whose final metadata is stored,
// but keep.
func (ss *sessionSet) forgetSettled(keep *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.m {
		if s != keep && s.settled() {
			delete(ss.m, id)
		}
	}
}

// storeHealth is whether writes to the store fail: idleness is not
// counted then, and counts again from recoveredAt.
type storeHealth struct {
	mu          sync.Mutex
	failing     bool
	recoveredAt time.Time
}

func (h *storeHealth) state() (failing bool, recoveredAt time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing, h.recoveredAt
}

// ownDesc is what names and describes the exporter's own sessions.
type ownDesc struct {
	id                  string // a fixed id, or AutoSessionID
	description         string
	labels              map[string]string
	enabledFlags        []string
	diagnosticSessionID string
}

func descOf(cfg *SessionConfig) ownDesc {
	return ownDesc{
		id: cfg.ID, description: cfg.Description, labels: cfg.Labels,
		enabledFlags: cfg.EnabledFlags, diagnosticSessionID: cfg.DiagnosticSessionID,
	}
}

type managerSettings struct {
	store      sessionstore.Store
	cfg        *SessionConfig
	writer     string
	instance   string
	createdBy  string
	persistent bool
	logger     *zap.Logger
	now        func() time.Time
	onOpen     func(reason string)
}

func newSessionManager(set managerSettings) *sessionManager {
	m := &sessionManager{
		store: set.store, cfg: set.cfg, instance: set.instance, createdBy: set.createdBy,
		persistent: set.persistent, logger: set.logger, now: set.now, onOpen: set.onOpen,
		set:    sessionSet{m: map[string]*session{}},
		route:  newRouteState(),
		writer: writerName{id: set.writer},
	}
	if set.cfg.AllowedIDs != "" {
		m.allowed = regexp.MustCompile(anchored(set.cfg.AllowedIDs)) // Validate compiled it
	}
	m.own.desc, m.own.seq = descOf(set.cfg), 1
	m.own.cur = m.newOwn(m.ownID(m.own.desc, 1), m.own.desc, "start")
	return m
}

// anchored makes a pattern match whole ids only.
func anchored(pattern string) string { return `^(?:` + pattern + `)$` }

// accept counts the items of a request accepted now: own of them (no
// route) in the current own session, whose id it returns for the request's
// stamp; the routed ones, by route, wait for their sessions (see
// routeState.queued).
func (m *sessionManager) accept(signal sessionstore.Signal, own int64, routed map[string]int64) string {
	for route, n := range routed {
		m.route.queue(route, signal, n)
	}
	return m.acceptOwn(signal, own)
}

// refuse takes back the counts of a request that the sending queue
// refused (the sender saw the error: nothing was accepted).
func (m *sessionManager) refuse(ownID string, signal sessionstore.Signal, own int64, routed map[string]int64) {
	for route, n := range routed {
		m.route.take(route, signal, n)
	}
	if s := m.set.get(ownID); s != nil && own > 0 {
		s.refuse(signal, own)
	}
}

// byID returns the session of an own session id stamped on accepted data:
// this run's, or one of an earlier run (a persistent queue delivered its
// data again), which is continued. "" is the current own session.
func (m *sessionManager) byID(id string) *session {
	if id == "" {
		return m.current()
	}
	return m.set.getOrAdd(id, func() *session { return newSession(id, kindEarlier, m.now()) })
}

// writerID is this exporter's name among the writers of a session.
func (m *sessionManager) writerID() string { return m.writer.get() }

// latest returns the latest of ts.
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// closeAll ends every session: the collector stops. Routed items still
// waiting in a persistent queue stay queued in their session (opened for
// the record with the final metadata if this run did not open it).
func (m *sessionManager) closeAll() {
	queued, aliases := m.route.drain()
	for route, c := range queued {
		if !m.persistent {
			break
		}
		id := route
		if alias, ok := aliases[route]; ok {
			id = alias
		}
		if s := m.set.get(id); s != nil {
			for i, n := range c {
				s.arrived(signals[i], n, false)
			}
			continue
		}
		m.route.queuedAtStop(route, c)
	}
	now := m.now()
	for _, s := range m.set.values() {
		s.close(now, true, m.persistent)
	}
}

// all returns the sessions in memory, oldest first.
func (m *sessionManager) all() []*session {
	all := m.set.values()
	slices.SortFunc(all, func(a, b *session) int { return a.created.Compare(b.created) })
	return all
}

// forgetSettled drops closed sessions whose final metadata is stored.
func (m *sessionManager) forgetSettled() { m.set.forgetSettled(m.current()) }

// writeFailed notes a failed write: the store is in trouble.
func (m *sessionManager) writeFailed() {
	m.health.mu.Lock()
	defer m.health.mu.Unlock()
	m.health.failing = true
}

// writeSucceeded notes a successful write, ending any trouble.
func (m *sessionManager) writeSucceeded() {
	m.health.mu.Lock()
	defer m.health.mu.Unlock()
	if m.health.failing {
		m.health.failing = false
		m.health.recoveredAt = m.now()
	}
}

// forget drops a session that can never be written (its metadata is of a
// newer schema, or its id collides): the error log says what it lost.
func (m *sessionManager) forget(s *session) {
	if s != m.current() {
		m.set.remove(s)
	}
}

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
// session (rotated on size or age, or by the control API), the sessions
// named by the routing attribute, and sessions of earlier runs that a
// persistent queue delivers data to again. A session is chosen when data
// is accepted (the own session current then) or named by the data (the
// attribute), never by when the data happens to be stored.
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

	// ownMu orders the choice of the next own session (rotation, the
	// control API): it reads the store to skip ids that exist.
	ownMu sync.Mutex

	mu       sync.Mutex
	writer   string  // this exporter's name among a session's writers
	desc     ownDesc // what names and describes the own sessions
	own      *session
	ownSeq   int // own sessions of desc opened: id, id-2, id-3, ...
	sessions map[string]*session
	// aliases sends the data of a route (an id named by the attribute)
	// whose stored session was completed before this exporter saw it to
	// the session that takes its place, id-2, id-3, ...
	aliases map[string]string
	// completedHere are the sessions named by the attribute that this
	// exporter completed itself (idle): later data continues them.
	completedHere map[string]bool
	// queued counts the routed items accepted in this run that have not
	// reached a push yet, by route: such a session is not idle.
	queued map[string]*counts
	// lostRoutes counts items lost for routes whose session could not even
	// be opened; queuedRoutes, at shutdown, the items of routes whose session
	// was not opened in this run that still wait in a persistent queue. Both
	// are recorded in their sessions with the final metadata (see
	// recordUnopened).
	lostRoutes, queuedRoutes map[string]*counts
	// storeFailing is set while writes fail; idleness is not counted
	// then, and counts again from recoveredAt.
	storeFailing bool
	recoveredAt  time.Time
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
		store: set.store, cfg: set.cfg, writer: set.writer, instance: set.instance, createdBy: set.createdBy,
		persistent: set.persistent, logger: set.logger, now: set.now, onOpen: set.onOpen,
		desc:     descOf(set.cfg),
		sessions: map[string]*session{}, aliases: map[string]string{}, completedHere: map[string]bool{},
		queued: map[string]*counts{}, lostRoutes: map[string]*counts{}, queuedRoutes: map[string]*counts{},
	}
	if set.cfg.AllowedIDs != "" {
		m.allowed = regexp.MustCompile(anchored(set.cfg.AllowedIDs)) // Validate compiled it
	}
	m.ownSeq = 1
	m.own = m.newOwn(m.ownID(m.desc, 1), m.desc, "start")
	return m
}

// anchored makes a pattern match whole ids only.
func anchored(pattern string) string { return `^(?:` + pattern + `)$` }

// accept counts items of a request accepted now: those without a route go
// to the current own session, whose id it returns for the request's stamp.
func (m *sessionManager) accept(signal sessionstore.Signal, byRoute map[string]int64) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := byRoute[""]; ok && m.desc.id == AutoSessionID && !m.own.hasData() {
		// A generated id names the time of the session's first data.
		delete(m.sessions, m.own.id)
		m.own = m.newOwn(m.ownID(m.desc, m.ownSeq), m.desc, m.own.own.reason)
	}
	for route, n := range byRoute {
		if route == "" {
			m.own.accept(signal, n, m.now())
			continue
		}
		c := m.queued[route]
		if c == nil {
			c = &counts{}
			m.queued[route] = c
		}
		c.add(signal, n)
	}
	return m.own.id
}

// refuse takes back the counts of a request that the sending queue
// refused (the sender saw the error: nothing was accepted).
func (m *sessionManager) refuse(ownID string, signal sessionstore.Signal, byRoute map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for route, n := range byRoute {
		if route == "" {
			if s := m.sessions[ownID]; s != nil {
				s.refuse(signal, n)
			}
			continue
		}
		m.takeQueuedLocked(route, signal, n)
	}
}

// byID returns the session of an own session id stamped on accepted data:
// this run's, or one of an earlier run (a persistent queue delivered its
// data again), which is continued. "" is the current own session.
func (m *sessionManager) byID(id string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" {
		return m.own
	}
	if s, ok := m.sessions[id]; ok {
		return s
	}
	s := newSession(id, kindEarlier, m.now())
	m.sessions[id] = s
	return s
}

// writerID is this exporter's name among the writers of a session.
func (m *sessionManager) writerID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writer
}

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
// waiting in a persistent queue stay queued in their session, if this run
// opened it.
func (m *sessionManager) closeAll() {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.sessions))
	for route, c := range m.queued {
		id := route
		if alias, ok := m.aliases[route]; ok {
			id = alias
		}
		switch s := m.sessions[id]; {
		case !m.persistent:
		case s != nil:
			s.mu.Lock()
			for i, n := range c {
				s.ledger.pending[i] += n
			}
			s.dirty = true
			s.mu.Unlock()
		default:
			// Nothing of the session reached the store in this run: it is
			// opened for the record with the final metadata.
			m.queuedRoutes[route] = c
		}
	}
	m.queued = map[string]*counts{}
	m.mu.Unlock()
	now := m.now()
	for _, s := range all {
		s.close(now, true, m.persistent)
	}
}

// all returns the sessions in memory, oldest first.
func (m *sessionManager) all() []*session {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.sessions))
	m.mu.Unlock()
	slices.SortFunc(all, func(a, b *session) int { return a.created.Compare(b.created) })
	return all
}

// forgetSettled drops closed sessions whose final metadata is stored.
func (m *sessionManager) forgetSettled() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sessions {
		if s != m.own && s.settled() {
			delete(m.sessions, id)
		}
	}
}

// writeFailed notes a failed write: the store is in trouble.
func (m *sessionManager) writeFailed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storeFailing = true
}

// writeSucceeded notes a successful write, ending any trouble.
func (m *sessionManager) writeSucceeded() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.storeFailing {
		m.storeFailing = false
		m.recoveredAt = m.now()
	}
}

// forget drops a session that can never be written (its metadata is of a
// newer schema, or its id collides): the error log says what it lost.
func (m *sessionManager) forget(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.id] == s && s != m.own {
		delete(m.sessions, s.id)
	}
}

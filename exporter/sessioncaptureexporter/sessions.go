package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
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
	// be opened; they are recorded when it can be (see recordUnopened).
	lostRoutes map[string]*counts
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
		queued: map[string]*counts{}, lostRoutes: map[string]*counts{},
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

// ownID returns the id of the seq-th own session of desc (1-based).
func (m *sessionManager) ownID(desc ownDesc, seq int) string {
	if desc.id == AutoSessionID {
		return sessionstore.NewSessionID("capture", m.now())
	}
	if seq <= 1 {
		return desc.id
	}
	return desc.id + "-" + strconv.Itoa(seq)
}

// ownSession is an own session and what opening it needs to know.
type ownSession struct {
	desc   ownDesc
	reason string
}

// newOwn makes (without store I/O) the own session id; the caller holds
// mu or is the constructor.
func (m *sessionManager) newOwn(id string, desc ownDesc, reason string) *session {
	s := newSession(id, kindOwn, m.now())
	s.own = &ownSession{desc: desc, reason: reason}
	m.sessions[id] = s
	return s
}

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

// current returns the current own session.
func (m *sessionManager) current() *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.own
}

// writerID is this exporter's name among the writers of a session.
func (m *sessionManager) writerID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writer
}

// open reads or creates a session in the store, once; res describes a
// session named by the attribute (its first resource).
func (m *sessionManager) open(ctx context.Context, s *session, res pcommon.Resource) error {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	if s.isOpened() {
		return nil
	}
	if err := m.load(ctx, s, res); err != nil {
		return err
	}
	reason := "attribute"
	switch s.kind {
	case kindOwn:
		reason = s.own.reason
		m.logger.Info("Opened capture session", zap.String("session", s.id), zap.String("reason", reason))
	case kindEarlier:
		reason = "redelivery"
		m.logger.Info("Data accepted by an earlier run of the collector arrived from the persistent queue; it goes to the session it was accepted into",
			zap.String("session", s.id))
	default:
		m.logger.Info("Opened session from attribute", zap.String("session", s.id))
	}
	m.onOpen(reason)
	return nil
}

// errCompletedElsewhere says that a session named by the attribute was
// completed before this exporter saw it, and is not to be reopened.
var errCompletedElsewhere = errors.New("session completed before this exporter saw it")

// load sets up s from the store: a new session, or the stored one
// continued (a fixed id across restarts, a seed session that several
// collectors write, an earlier run's session).
func (m *sessionManager) load(ctx context.Context, s *session, res pcommon.Resource) error {
	now := m.now()
	var existing *sessionstore.Metadata
	err := sessionstore.ErrNotFound
	if s.kind != kindOwn || s.own.desc.id != AutoSessionID {
		// Generated ids are new by construction; named ones may exist, or
		// collide by case with one that does.
		if cerr := sessionstore.CheckCaseConflict(ctx, m.store, s.id); cerr != nil {
			return fmt.Errorf("session %s: %w", s.id, cerr)
		}
		existing, err = sessionstore.ReadMetadata(ctx, m.store, s.id)
	}
	var (
		meta   *sessionstore.Metadata
		cont   continued
		writer = m.writerID()
	)
	switch {
	case err == nil, errors.Is(err, sessionstore.ErrCorrupt):
		views, verr := sessionstore.ReadWriters(ctx, m.store, s.id)
		if verr != nil && !errors.Is(verr, sessionstore.ErrCorrupt) {
			return fmt.Errorf("session %s: read writers: %w", s.id, verr)
		}
		// (A session whose writer left items of it in its persistent queue
		// is active: they come back to it.)
		if s.kind == kindRouted && existing != nil && existing.Status == sessionstore.StatusCompleted &&
			!m.cfg.ReopenCompleted && !m.wasCompletedHere(s.id) {
			return errCompletedElsewhere
		}
		if cont, err = m.continueSession(ctx, s.id, writer, existing, err, views); err != nil {
			return err
		}
		meta = cont.meta
	case errors.Is(err, sessionstore.ErrNotFound):
		meta = sessionstore.NewMetadata(s.id, sessionstore.SessionTypeCapture, now, m.createdBy)
	default:
		return fmt.Errorf("session %s: read metadata: %w", s.id, err)
	}
	meta.Instance = m.instance
	switch s.kind {
	case kindOwn:
		d := s.own.desc
		meta.Description, meta.DiagnosticSessionID = d.description, d.diagnosticSessionID
		meta.EnabledFlags = slices.Clone(d.enabledFlags)
		if meta.EnabledFlags == nil {
			meta.EnabledFlags = []string{}
		}
		if len(d.labels) > 0 {
			meta.Labels = maps.Clone(d.labels)
		}
	case kindRouted:
		meta.ApplySeedResource(res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta, s.opened, s.dirty = meta, true, true
	s.writer = writer
	s.stored = cont.mine
	s.recount = cont.recount
	s.inheritedFrom, s.inherited = cont.inheritedFrom, cont.inherited
	if len(cont.lostPieces) > 0 {
		s.lostPieces = map[string]sessionstore.LostPiece{}
		for _, p := range cont.lostPieces {
			s.lostPieces[p.Name] = p
		}
	}
	for i, n := range countsOf(cont.lost) {
		s.ledger.lost[i] += n // beside what this run lost before the session could be opened
	}
	s.ledger.lostUncounted = cont.lostUncounted
	for i, n := range countsOf(cont.queued) {
		s.ledger.expected[i] += n
	}
	return nil
}

// continued is a stored session as this writer goes on with it.
type continued struct {
	meta         *sessionstore.Metadata
	mine         bool                     // this writer has a view in it
	lost, queued *sessionstore.ItemCounts // from this writer's view
	recount      bool                     // this writer's share could not be recounted now
	// lostUncounted: it said failed without counting what it lost.
	lostUncounted bool
	// inheritedFrom: this writer's view was left open by another run with
	// this writer id, taken over as a crashed earlier run's; if that run
	// turns out to be alive (it moves to a writer id of its own, see
	// viewWriter), its counts, inherited, go back to it.
	inheritedFrom string
	inherited     *sessionstore.Metadata
	// lostPieces: the pieces this writer counted lost (see giveUp).
	lostPieces []sessionstore.LostPiece
}

// continueSession sets up going on writing a stored session: existing is
// its metadata.json (nil, with readErr, when unreadable), views its
// writers' views. This writer goes on from its own view; a writer new to
// the session starts from zero counts (the merge adds the others'); a
// session from before writer files is taken over with its counts.
//
// A view that did not end (its run was killed) may lack objects that
// landed after it was written. Alone in the session, the writer recounts
// the objects now; the items its view said were still queued and that the
// recount finds stored no longer wait. Beside other writers its share
// cannot be told from theirs: the session is marked for a recount by the
// writer that completes it.
func (m *sessionManager) continueSession(ctx context.Context, id, writer string, existing *sessionstore.Metadata, readErr error, views map[string]*sessionstore.Metadata) (continued, error) {
	now := m.now()
	mine, isMine := views[writer]
	others := len(views)
	if isMine {
		others--
	}
	var base *sessionstore.Metadata
	switch {
	case isMine:
		base = mine
	case len(views) > 0 || existing == nil:
		base = sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, now, m.createdBy)
		if existing != nil {
			base.SessionType, base.Description, base.DiagnosticSessionID = existing.SessionType, existing.Description, existing.DiagnosticSessionID
			base.Labels, base.EnabledFlags = maps.Clone(existing.Labels), slices.Clone(existing.EnabledFlags)
			if existing.Seed != nil {
				seed := *existing.Seed
				seed.Phases = []sessionstore.Phase{}
				base.Seed = &seed
			}
		}
	default:
		base = existing // written before writer files: this writer takes it over
	}
	out := continued{meta: base, mine: isMine, lost: base.LostItems, queued: base.QueuedItems, lostPieces: base.LostPieces,
		lostUncounted: base.Status == sessionstore.StatusFailed && base.LostItems.Total() == 0}
	unclean := existing == nil || (base.Status == sessionstore.StatusActive && base.EndTime == nil)
	switch {
	case others == 0 && (existing == nil || base.Status != sessionstore.StatusCompleted):
		// Left active by a crash, stopped with items queued, failed, or
		// unreadable: objects may have landed after the last metadata
		// write. Count what it holds.
		rc, err := m.recount(ctx, id)
		if err != nil {
			return continued{}, fmt.Errorf("session %s: recount before continuing it: %w", id, err)
		}
		if rc != nil {
			m.logger.Info("Recounted the session before continuing it", zap.String("session", id),
				zap.String("status", string(base.Status)), zap.Int64("items_in_metadata", base.Items()),
				zap.Int64("items_in_objects", rc.Counts.Items()), zap.NamedError("metadata_error", readErr))
			before := counts{base.CapturedTraces, base.CapturedMetrics, base.CapturedLogs}
			base.TakeCounts(rc.Counts)
			if first, _ := rc.Counts.CaptureRange(); !isMine && existing == nil && !first.IsZero() {
				base.StartTime = first
			}
			// Queued items found stored were stored before the crash.
			q := countsOf(out.queued)
			after := counts{base.CapturedTraces, base.CapturedMetrics, base.CapturedLogs}
			for i := range q {
				q[i] = max(0, q[i]-max(0, after[i]-before[i]))
			}
			out.queued = q.itemCounts()
		}
	case isMine && unclean:
		m.logger.Warn("Continuing a session this writer did not stop cleanly while other writers have views in it: its counts are recounted when the session completes",
			zap.String("session", id), zap.String("writer", writer), zap.Int("other_writers", others))
		out.recount = true
		out.queued = nil // unknown: what comes back is counted as it comes
	}
	if base.NeedsRecount && isMine {
		out.recount = true
	}
	if isMine && unclean && base.Instance != "" && base.Instance != m.instance {
		out.inheritedFrom, out.inherited = base.Instance, base.Clone()
	}
	base.Status, base.EndTime = sessionstore.StatusActive, nil
	base.LostItems, base.QueuedItems, base.NeedsRecount, base.LostPieces = nil, nil, false, nil
	m.logger.Info("Continuing existing session", zap.String("session", id), zap.String("writer", writer),
		zap.Int("other_writers", others), zap.Int64("items", base.Items()))
	return out, nil
}

// recount counts what a session's objects hold. A store failure is
// returned (the batch that opens the session is retried). A session too
// large to recount within the push's timeout is not recounted (nil, nil,
// and a warning): capture goes on from the counts at hand, and `sessionctl
// verify --repair` recounts it later, so that a recount never holds data
// back.
func (m *sessionManager) recount(ctx context.Context, id string) (*sessionstore.Recount, error) {
	rc, err := sessionstore.RecountSession(ctx, m.store, id, sessionstore.DefaultRecountObjectBytes)
	if err != nil && ctx.Err() != nil {
		m.logger.Warn("Could not recount the session in time; its counts may be short (sessionctl verify --repair recounts it)",
			zap.String("session", id), zap.Error(err))
		return nil, nil
	}
	return rc, err
}

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

// rotationDue reports why the own session should rotate, or "": it never
// rotates before it had data.
func (m *sessionManager) rotationDue() string {
	s := m.current()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started.IsZero() {
		return ""
	}
	if m.cfg.MaxDuration > 0 && m.now().Sub(started) >= m.cfg.MaxDuration {
		return "max_duration"
	}
	if m.cfg.MaxBytes > 0 && s.storedBytes() >= m.cfg.MaxBytes {
		return "max_bytes"
	}
	return ""
}

// untilRotation returns how long until the own session reaches
// max_duration, or -1 without a duration limit or before it had data.
func (m *sessionManager) untilRotation() time.Duration {
	s := m.current()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started.IsZero() || m.cfg.MaxDuration <= 0 {
		return -1
	}
	return max(0, started.Add(m.cfg.MaxDuration).Sub(m.now()))
}

// rotate closes the own session and makes the next one current (opened in
// the store with its first data). A fixed id's successor skips ids that
// exist, so a restarted collector never mixes two runs in one rotated id;
// if the store cannot say, the rotation waits for the next round.
func (m *sessionManager) rotate(ctx context.Context, reason string) error {
	m.ownMu.Lock()
	defer m.ownMu.Unlock()
	m.mu.Lock()
	desc, seq := m.desc, m.ownSeq+1
	m.mu.Unlock()
	id := m.ownID(desc, seq)
	if desc.id != AutoSessionID {
		for {
			_, err := sessionstore.ReadMetadata(ctx, m.store, id)
			if errors.Is(err, sessionstore.ErrNotFound) {
				break
			}
			if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
				return fmt.Errorf("session %s: read metadata: %w", id, err)
			}
			seq++
			id = m.ownID(desc, seq)
		}
	}
	m.mu.Lock()
	prev := m.own
	m.own, m.ownSeq = m.newOwn(id, desc, reason), seq
	m.mu.Unlock()
	prev.close(m.now(), false, m.persistent)
	return nil
}

// openNew makes a new own session described by desc current at once, for
// the control API, and returns it and the one it replaces (completed). A
// fixed id that exists already is refused: the API opens new sessions, it
// never continues one. The new session is opened in the store before
// anything changes, so a failure changes nothing.
func (m *sessionManager) openNew(ctx context.Context, desc ownDesc) (s, prev *session, err error) {
	m.ownMu.Lock()
	defer m.ownMu.Unlock()
	if desc.id != AutoSessionID {
		if cur := m.current(); cur.id == desc.id {
			return nil, nil, control.Conflict("session %s is the current session", desc.id)
		}
		_, err := sessionstore.ReadMetadata(ctx, m.store, desc.id)
		switch {
		case err == nil || errors.Is(err, sessionstore.ErrCorrupt):
			return nil, nil, control.Conflict("session %s exists already", desc.id)
		case !errors.Is(err, sessionstore.ErrNotFound):
			return nil, nil, fmt.Errorf("session %s: read metadata: %w", desc.id, err)
		}
		if err := sessionstore.CheckCaseConflict(ctx, m.store, desc.id); err != nil {
			return nil, nil, control.Conflict("session %s: %v", desc.id, err)
		}
	}
	id := m.ownID(desc, 1)
	s = newSession(id, kindOwn, m.now())
	s.own = &ownSession{desc: desc, reason: "control"}
	if err := m.open(ctx, s, pcommon.NewResource()); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.started = m.now() // a session asked for is a session, with or without data
	s.mu.Unlock()
	m.mu.Lock()
	prev = m.own
	m.sessions[id] = s
	m.own, m.ownSeq, m.desc = s, 1, desc
	m.mu.Unlock()
	prev.close(m.now(), false, m.persistent)
	return s, prev, nil
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
		if s := m.sessions[id]; s != nil && m.persistent {
			s.mu.Lock()
			for i, n := range c {
				s.ledger.pending[i] += n
			}
			s.mu.Unlock()
			continue
		}
		if m.persistent {
			m.logger.Warn("Items for a session wait in the persistent queue; they are stored when the collector runs again",
				zap.String("session", route), zap.Int64("spans", c[0]), zap.Int64("data_points", c[1]), zap.Int64("log_records", c[2]))
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

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// session is the state of one session this exporter writes to: its
// metadata, kept current as objects land, and whether the stored
// metadata.json is behind.
type session struct {
	id     string
	own    bool // the exporter's own session, as opposed to one named by an attribute
	opened time.Time

	// writeMu orders the metadata writes of this session (so its snapshots
	// land in order); no other session's writes wait on it.
	writeMu sync.Mutex

	mu        sync.Mutex
	meta      *sessionstore.Metadata
	dirty     bool // meta changed since it was last stored
	stored    bool // metadata.json was written at least once
	closed    bool
	failed    bool // some data could not be stored
	lastWrite time.Time
	lastData  time.Time
	// pending counts the batches planned for this session that are not
	// stored yet (waiting for a retry), and pendingItems their items per
	// signal: a session with pending batches is never idle, and a closed
	// one says completed only once they are stored.
	pending      int
	pendingItems map[sessionstore.Signal]int64
	// final is set when the collector stops: what is pending then is lost.
	final bool
}

func (s *session) beginPending(signal sessionstore.Signal, items int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending++
	if s.pendingItems == nil {
		s.pendingItems = map[sessionstore.Signal]int64{}
	}
	s.pendingItems[signal] += items
}

func (s *session) endPending(signal sessionstore.Signal, items int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == 0 {
		return // counted as lost already: the collector stopped
	}
	s.pending--
	s.pendingItems[signal] -= items
	if s.closed {
		s.dirty = true // its status can change now
	}
}

func (s *session) add(signal sessionstore.Signal, captureTime time.Time, p *part, raw, compressed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta.Add(signal, captureTime, p.items, raw, compressed)
	s.meta.ExtendEventTime(p.eventStart, p.eventEnd)
	s.lastData = captureTime
	if s.meta.Seed != nil {
		for idx, ph := range p.phases {
			addPhase(s.meta, idx, ph)
		}
	}
	s.dirty = true
}

// markLost records items that could never be stored (a permanent store
// error): the session ends failed and says how many.
func (s *session) markLost(signal sessionstore.Signal, items int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = true
	s.dirty = true
	if s.meta.LostItems == nil {
		s.meta.LostItems = &sessionstore.LostItems{}
	}
	switch signal {
	case sessionstore.SignalTraces:
		s.meta.LostItems.Traces += items
	case sessionstore.SignalMetrics:
		s.meta.LostItems.Metrics += items
	case sessionstore.SignalLogs:
		s.meta.LostItems.Logs += items
	}
}

// delivered records that items a persistent queue delivered again after a
// restart are stored: the items an earlier run counted as lost (they were
// in the queue when it stopped) are not lost any more.
func (s *session) delivered(signal sessionstore.Signal, items int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.meta.LostItems
	if l == nil {
		return
	}
	switch signal {
	case sessionstore.SignalTraces:
		l.Traces = max(0, l.Traces-items)
	case sessionstore.SignalMetrics:
		l.Metrics = max(0, l.Metrics-items)
	case sessionstore.SignalLogs:
		l.Logs = max(0, l.Logs-items)
	}
	if l.Traces+l.Metrics+l.Logs == 0 {
		s.meta.LostItems = nil
		s.failed = false
	}
	s.dirty = true
}

// pendingCount is the number of batches planned for the session and not
// stored yet.
func (s *session) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *session) storedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.TotalSizeBytes
}

// close marks the session ended at t; final says the collector stops, so
// that batches still pending will not be stored.
func (s *session) close(t time.Time, final bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if final {
		s.final = true
		s.dirty = true
	}
	if s.closed {
		return
	}
	s.closed = true
	end := t.UTC()
	s.meta.EndTime = &end
	s.dirty = true
}

// snapshot returns a copy of the metadata to write if a write is due, with
// the status the session has at this moment.
func (s *session) snapshot(now time.Time, interval time.Duration, force bool) *sessionstore.Metadata {
	s.mu.Lock()
	defer s.mu.Unlock()
	due := !s.stored || (s.dirty && (force || s.closed || now.Sub(s.lastWrite) >= interval))
	if !due {
		return nil
	}
	switch {
	case s.closed && s.final && s.pending > 0:
		// Accepted and never stored: the session lost them, and says so.
		lost := s.meta.LostItems
		if lost == nil {
			lost = &sessionstore.LostItems{}
		}
		lost.Traces += s.pendingItems[sessionstore.SignalTraces]
		lost.Metrics += s.pendingItems[sessionstore.SignalMetrics]
		lost.Logs += s.pendingItems[sessionstore.SignalLogs]
		s.meta.LostItems = lost
		s.pendingItems = nil
		s.pending = 0
		s.failed = true
		s.meta.Status = sessionstore.StatusFailed
	case s.closed && s.pending > 0:
		s.meta.Status = sessionstore.StatusActive // waits for its pending batches
	case s.closed && s.failed:
		s.meta.Status = sessionstore.StatusFailed
	case s.closed:
		s.meta.Status = sessionstore.StatusCompleted
	default:
		s.meta.Status = sessionstore.StatusActive
	}
	s.meta.UpdatedTime = now.UTC()
	s.dirty = false
	return s.meta.Clone()
}

// written records a successful write of a snapshot; a failed write leaves
// the session dirty so that the next round retries.
func (s *session) written(now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.dirty = true
		return
	}
	s.stored = true
	s.lastWrite = now
}

// settled reports whether the session is closed and its final metadata
// stored, so the manager can forget it. (Not "idle": idle_timeout's idle
// means no data for a while, see closeIdle.)
func (s *session) settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed && !s.dirty && s.stored && s.pending == 0
}

// sessionManager owns every session of one exporter instance: the own
// session (rotated on size or age) and the sessions named by the routing
// attribute. The writes of one session's metadata are ordered by its own
// lock, so its snapshots never race, and no push waits on another
// session's store call.
type sessionManager struct {
	store     sessionstore.Store
	writer    string // this exporter's name among the writers of a session
	cfg       *SessionConfig
	createdBy string
	logger    *zap.Logger
	now       func() time.Time
	onOpen    func(reason string)

	openMu sync.Mutex // serializes opening the own session

	// desc describes the own sessions: the configured session block, or
	// what the control API asked for last (under mu).
	desc ownDesc

	allowed *regexp.Regexp // session.allowed_ids, nil: any

	mu         sync.Mutex
	own        *session // nil between a rotation and the next batch
	ownSeq     int      // own sessions opened: id, id-2, id-3, ...
	nextReason string   // why the next own session opens
	sessions   map[string]*session
	// aliases sends the data of a route (an id named by the attribute)
	// whose stored session was completed before this exporter saw it to
	// the session that takes its place, id-2, id-3, ...
	aliases map[string]string
	// completedHere are the sessions named by the attribute that this
	// exporter completed itself (idle): later data continues them.
	completedHere map[string]bool
	// storeFailing is set while writes fail; idleness is not counted
	// then, and counts again from recoveredAt.
	storeFailing bool
	recoveredAt  time.Time
	// queued reports whether accepted data waits in the sending queue
	// (nil: never); no session is idle then.
	queued func() bool
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

// ownDesc is what names and describes the exporter's own sessions.
type ownDesc struct {
	id                  string // a fixed id, or AutoSessionID
	description         string
	labels              map[string]string
	enabledFlags        []string
	diagnosticSessionID string
}

func newSessionManager(store sessionstore.Store, cfg *SessionConfig, writer, createdBy string, logger *zap.Logger, now func() time.Time, onOpen func(string)) *sessionManager {
	m := &sessionManager{
		store: store, cfg: cfg, writer: writer, createdBy: createdBy, logger: logger, now: now, onOpen: onOpen,
		sessions: map[string]*session{}, aliases: map[string]string{}, completedHere: map[string]bool{},
		desc: ownDesc{
			id: cfg.ID, description: cfg.Description, labels: cfg.Labels,
			enabledFlags: cfg.EnabledFlags, diagnosticSessionID: cfg.DiagnosticSessionID,
		},
	}
	if cfg.AllowedIDs != "" {
		m.allowed = regexp.MustCompile(anchored(cfg.AllowedIDs)) // Validate compiled it
	}
	return m
}

// anchored makes a pattern match whole ids only.
func anchored(pattern string) string { return `^(?:` + pattern + `)$` }

// newSession builds the state of a session, continuing the stored one if
// the id already exists (a fixed id across collector restarts, or a seed
// session that several collectors write).
func (m *sessionManager) newSession(ctx context.Context, id string, own bool, res pcommon.Resource) (*session, error) {
	return m.newSessionWith(ctx, id, own, res, m.ownDesc())
}

// newSessionWith is newSession with desc describing an own session.
func (m *sessionManager) newSessionWith(ctx context.Context, id string, own bool, res pcommon.Resource, desc ownDesc) (*session, error) {
	now := m.now()
	s := &session{id: id, own: own, opened: now}
	var existing *sessionstore.Metadata
	err := sessionstore.ErrNotFound
	if !own || desc.id != AutoSessionID {
		// Generated ids are new by construction; named ones may exist, or
		// collide by case with one that does.
		if cerr := sessionstore.CheckCaseConflict(ctx, m.store, id); cerr != nil {
			return nil, fmt.Errorf("session %s: %w", id, cerr)
		}
		existing, err = sessionstore.ReadMetadata(ctx, m.store, id)
	}
	switch {
	case err == nil && !own && existing.Status == sessionstore.StatusCompleted && !m.cfg.ReopenCompleted && !m.wasCompletedHere(id):
		return nil, errCompletedElsewhere
	case err == nil, errors.Is(err, sessionstore.ErrCorrupt):
		if cerr := m.continueSession(ctx, s, existing, err); cerr != nil {
			return nil, cerr
		}
	case errors.Is(err, sessionstore.ErrNotFound):
		s.meta = sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, now, m.createdBy)
	default:
		return nil, fmt.Errorf("session %s: read metadata: %w", id, err)
	}
	if own {
		s.meta.Description = desc.description
		s.meta.DiagnosticSessionID = desc.diagnosticSessionID
		s.meta.EnabledFlags = slices.Clone(desc.enabledFlags)
		if len(desc.labels) > 0 {
			s.meta.Labels = maps.Clone(desc.labels)
		}
	} else {
		applyResourceMetadata(s.meta, res)
	}
	return s, nil
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

// continueSession sets up s to go on writing a session that exists:
// existing is its metadata.json (nil, with readErr, when unreadable). This
// writer goes on from its own file; a writer new to the session starts
// from zero counts (the merge adds the others'); a session from before
// writer files is taken over with its counts. With no other writer, an
// unfinished (crash, failed) or unreadable session is recounted from its
// objects first.
func (m *sessionManager) continueSession(ctx context.Context, s *session, existing *sessionstore.Metadata, readErr error) error {
	id, now := s.id, m.now()
	views, verr := sessionstore.ReadWriters(ctx, m.store, id)
	if verr != nil && !errors.Is(verr, sessionstore.ErrCorrupt) {
		return fmt.Errorf("session %s: read writers: %w", id, verr)
	}
	mine, isMine := views[m.writer]
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
	if others == 0 && (existing == nil || base.Status != sessionstore.StatusCompleted) {
		// Left active by a crash, failed, or unreadable: objects may have
		// landed after the last metadata write. Count what it holds.
		rc, rerr := m.recount(ctx, id)
		if rerr != nil {
			return fmt.Errorf("session %s: recount before continuing it: %w", id, rerr)
		}
		if rc != nil {
			m.logger.Info("Recounted the session before continuing it", zap.String("session", id),
				zap.String("status", string(base.Status)), zap.Int64("items_in_metadata", base.Items()),
				zap.Int64("items_in_objects", rc.Counts.Items()), zap.NamedError("metadata_error", readErr))
			base.TakeCounts(rc.Counts)
			if first, _ := rc.Counts.CaptureRange(); !isMine && existing == nil && !first.IsZero() {
				base.StartTime = first
			}
		}
	}
	// A writer that lost data stays failed however it goes on.
	s.failed = base.Status == sessionstore.StatusFailed
	base.Status = sessionstore.StatusActive
	base.EndTime = nil
	s.meta = base
	s.stored = isMine
	s.dirty = true
	m.logger.Info("Continuing existing session", zap.String("session", id), zap.String("writer", m.writer),
		zap.Int("other_writers", others), zap.Int64("items", base.Items()))
	return nil
}

// recount counts what a session's objects hold. A store failure is
// returned, and the batch that opens the session is retried. A session too
// large to recount within the push's timeout is not recounted (nil, nil,
// and a warning): capture goes on from the counts at hand, and `sessionctl
// verify --repair` recounts it later, so that a recount never holds data
// back.
func (m *sessionManager) recount(ctx context.Context, id string) (*sessionstore.Recount, error) {
	rc, err := sessionstore.RecountSession(ctx, m.store, id, sessionstore.DefaultRecountObjectBytes)
	if err != nil && ctx.Err() != nil {
		m.logger.Warn("Could not recount the session within the push timeout; its counts may be short (sessionctl verify --repair recounts it)",
			zap.String("session", id), zap.Error(err))
		return nil, nil
	}
	return rc, err
}

// nextOwnID names the own session the next batch would open (for logs).
func (m *sessionManager) nextOwnID() string {
	m.mu.Lock()
	seq := m.ownSeq + 1
	m.mu.Unlock()
	if m.ownDesc().id == AutoSessionID {
		return "(the exporter's next own session)"
	}
	return m.ownID(seq)
}

func (m *sessionManager) ownDesc() ownDesc {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.desc
}

// ownID returns the id of the seq-th own session (1-based).
func (m *sessionManager) ownID(seq int) string {
	base := m.ownDesc().id
	if base == AutoSessionID {
		return sessionstore.NewSessionID("capture", m.now())
	}
	if seq <= 1 {
		return base
	}
	return base + "-" + strconv.Itoa(seq)
}

// ownSession returns the exporter's own session, opening the next one if
// there is none: sessions open with their first data, so an idle exporter
// leaves no empty sessions behind. Rotation to a fixed-id suffix that
// already exists skips ahead, so a restarted collector never mixes two runs
// in one rotated id.
func (m *sessionManager) ownSession(ctx context.Context) (*session, error) {
	if s := m.current(); s != nil {
		return s, nil
	}
	m.openMu.Lock()
	defer m.openMu.Unlock()
	if s := m.current(); s != nil {
		return s, nil // opened while we waited
	}
	return m.openOwn(ctx)
}

// openOwn opens the next own session; the caller holds openMu.
func (m *sessionManager) openOwn(ctx context.Context) (*session, error) {
	seq := m.ownSeq + 1
	id := m.ownID(seq)
	if seq > 1 && m.ownDesc().id != AutoSessionID {
		for {
			_, err := sessionstore.ReadMetadata(ctx, m.store, id)
			if errors.Is(err, sessionstore.ErrNotFound) {
				break
			}
			if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
				return nil, fmt.Errorf("session %s: read metadata: %w", id, err)
			}
			seq++
			id = m.ownID(seq)
		}
	}
	s, err := m.newSession(ctx, id, true, pcommon.NewResource())
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	reason := m.nextReason
	m.mu.Unlock()
	if reason == "" {
		reason = "start"
	}
	m.adopt(s, seq, reason)
	return s, nil
}

// adopt makes s the own session, the seq-th of its description, and
// reports it opened for reason.
func (m *sessionManager) adopt(s *session, seq int, reason string) {
	m.mu.Lock()
	m.ownSeq, m.own = seq, s
	m.sessions[s.id] = s
	m.mu.Unlock()
	m.logger.Info("Opened capture session", zap.String("session", s.id), zap.String("reason", reason))
	m.onOpen(reason)
}

// openNew completes the own session (if one is open) and opens a new one
// described by desc at once, for the control API. A fixed id that exists
// already is refused: the API opens new sessions, it never continues one.
func (m *sessionManager) openNew(ctx context.Context, desc ownDesc) (*session, error) {
	m.openMu.Lock()
	defer m.openMu.Unlock()
	if desc.id != AutoSessionID {
		if cur := m.current(); cur != nil && cur.id == desc.id {
			return nil, control.Conflict("session %s is the current session", desc.id)
		}
		_, err := sessionstore.ReadMetadata(ctx, m.store, desc.id)
		switch {
		case err == nil || errors.Is(err, sessionstore.ErrCorrupt):
			return nil, control.Conflict("session %s exists already", desc.id)
		case !errors.Is(err, sessionstore.ErrNotFound):
			return nil, fmt.Errorf("session %s: read metadata: %w", desc.id, err)
		}
		if err := sessionstore.CheckCaseConflict(ctx, m.store, desc.id); err != nil {
			return nil, control.Conflict("session %s: %v", desc.id, err)
		}
	}
	// Set up first: if that fails, nothing has changed.
	id := desc.id
	if id == AutoSessionID {
		id = sessionstore.NewSessionID("capture", m.now())
	}
	s, err := m.newSessionWith(ctx, id, true, pcommon.NewResource(), desc)
	if err != nil {
		return nil, err
	}
	m.rotate("control")
	m.mu.Lock()
	m.desc, m.nextReason = desc, ""
	m.mu.Unlock()
	m.adopt(s, 1, "control")
	return s, nil
}

// rotate closes the own session; the next batch opens its successor.
func (m *sessionManager) rotate(reason string) {
	m.mu.Lock()
	prev := m.own
	m.own = nil
	m.nextReason = reason
	m.mu.Unlock()
	if prev != nil {
		prev.close(m.now(), false)
	}
}

// current returns the open own session, or nil.
func (m *sessionManager) current() *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.own
}

// routed returns the session named by a routing attribute, opening it on
// first sight.
func (m *sessionManager) routed(ctx context.Context, route string, res pcommon.Resource) (*session, error) {
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
		return s, nil
	}
	if ok {
		// Completed for idleness but not yet forgotten: write it out first,
		// so that continuing it starts from its final counts.
		if err := m.flushOne(ctx, s); err != nil {
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
		var err error
		s, err = m.newSession(ctx, id, false, res)
		if !errors.Is(err, errCompletedElsewhere) {
			if err != nil {
				return nil, err
			}
			break
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
	defer m.mu.Unlock()
	if existing, ok := m.sessions[id]; ok && !existing.isClosed() {
		return existing, nil // opened meanwhile by another batch
	}
	m.sessions[id] = s
	if id != route {
		m.aliases[route] = id
	}
	m.logger.Info("Opened session from attribute", zap.String("session", id))
	m.onOpen("attribute")
	return s, nil
}

// openRouted counts the open sessions named by the attribute.
func (m *sessionManager) openRouted() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.sessions {
		if !s.own && !s.isClosed() {
			n++
		}
	}
	return n
}

// rotationDue reports why the own session should rotate, or "".
func (m *sessionManager) rotationDue() string {
	s := m.current()
	if s == nil {
		return ""
	}
	if m.cfg.MaxDuration > 0 && m.now().Sub(s.opened) >= m.cfg.MaxDuration {
		return "max_duration"
	}
	if m.cfg.MaxBytes > 0 && s.storedBytes() >= m.cfg.MaxBytes {
		return "max_bytes"
	}
	return ""
}

// untilRotation returns how long until the own session reaches
// max_duration, or -1 without a duration limit.
func (m *sessionManager) untilRotation() time.Duration {
	s := m.current()
	if s == nil || m.cfg.MaxDuration <= 0 {
		return -1
	}
	return max(0, s.opened.Add(m.cfg.MaxDuration).Sub(m.now()))
}

// closeIdle completes attribute-named sessions that saw no data for the
// idle timeout; a later batch for the same id continues the stored session.
func (m *sessionManager) closeIdle() {
	if m.cfg.IdleTimeout <= 0 {
		return
	}
	now := m.now()
	m.mu.Lock()
	if m.storeFailing || (m.queued != nil && m.queued()) {
		// An outage is not idleness: batches may be queued or retried.
		// Nor is a queue still holding data: it may be for any session.
		m.mu.Unlock()
		return
	}
	var idle []*session
	for _, s := range m.sessions {
		if s.own {
			continue
		}
		s.mu.Lock()
		last := latest(s.lastData, s.opened, m.recoveredAt)
		if !s.closed && s.pending == 0 && now.Sub(last) >= m.cfg.IdleTimeout {
			idle = append(idle, s)
		}
		s.mu.Unlock()
	}
	m.mu.Unlock()
	for _, s := range idle {
		m.logger.Info("Session idle; completing it", zap.String("session", s.id), zap.Duration("idle_timeout", m.cfg.IdleTimeout))
		s.close(now, false)
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

// closeAll ends every session: the collector stops.
func (m *sessionManager) closeAll() {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.sessions))
	m.mu.Unlock()
	now := m.now()
	for _, s := range all {
		s.close(now, true)
	}
}

// flush writes the metadata of every session whose write is due (force:
// every changed one) and forgets closed sessions that are fully written.
func (m *sessionManager) flush(ctx context.Context, interval time.Duration, force bool) error {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.sessions))
	m.mu.Unlock()
	slices.SortFunc(all, func(a, b *session) int { return a.opened.Compare(b.opened) })
	var errs []error
	for _, s := range all {
		snap, err := m.write(ctx, s, interval, force)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if snap != nil && snap.Status == sessionstore.StatusFailed && snap.LostItems != nil {
			m.logger.Error("Session lost data: accepted items that could not be stored", zap.String("session", s.id),
				zap.Int64("lost_spans", snap.LostItems.Traces), zap.Int64("lost_data_points", snap.LostItems.Metrics),
				zap.Int64("lost_log_records", snap.LostItems.Logs))
		}
		if snap != nil && snap.Status != sessionstore.StatusActive {
			m.logger.Info("Closed session", zap.String("session", s.id), zap.String("status", string(snap.Status)),
				zap.Int64("spans", snap.CapturedTraces), zap.Int64("data_points", snap.CapturedMetrics),
				zap.Int64("log_records", snap.CapturedLogs), zap.Int64("stored_bytes", snap.TotalSizeBytes))
		}
	}
	m.mu.Lock()
	for id, s := range m.sessions {
		if s != m.own && s.settled() {
			delete(m.sessions, id)
		}
	}
	m.mu.Unlock()
	return errors.Join(errs...)
}

// flushOne writes a session's metadata now if it changed.
func (m *sessionManager) flushOne(ctx context.Context, s *session) error {
	_, err := m.write(ctx, s, 0, true)
	return err
}

// write stores s's metadata if a write is due and returns what it wrote
// (nil if nothing was due). Only the writes of s wait on each other: a
// push never waits for another session's store call.
func (m *sessionManager) write(ctx context.Context, s *session, interval time.Duration, force bool) (*sessionstore.Metadata, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := m.now()
	snap := s.snapshot(now, interval, force)
	if snap == nil {
		return nil, nil
	}
	err := m.writeViews(ctx, snap)
	s.written(now, err)
	if err != nil {
		m.writeFailed()
		return nil, fmt.Errorf("write metadata of session %s: %w", s.id, err)
	}
	m.writeSucceeded()
	return snap, nil
}

// writeViews stores this writer's view of a session, then the session's
// metadata.json: the merge of every writer's view.
func (m *sessionManager) writeViews(ctx context.Context, view *sessionstore.Metadata) error {
	if err := sessionstore.WriteWriter(ctx, m.store, m.writer, view); err != nil {
		return err
	}
	views, err := sessionstore.ReadWriters(ctx, m.store, view.SessionID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return err
	}
	if err != nil {
		m.logger.Warn("A writer's file of the session is unreadable; metadata.json merges the others", zap.String("session", view.SessionID), zap.Error(err))
	}
	views[m.writer] = view // what was just written, whatever the listing saw
	return sessionstore.WriteMetadata(ctx, m.store, sessionstore.Merge(views))
}

// liveFor returns the session that now stands for s's id: s itself, or the
// session that continued it after it was completed for idleness (a retry
// of a batch planned before then counts in the continuation, so two
// objects never write one metadata.json).
func (m *sessionManager) liveFor(s *session) *session {
	if !s.isClosed() || s.own {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.sessions[s.id]; ok && cur != s && !cur.isClosed() {
		return cur
	}
	return s
}

// remember puts a closed session back in the manager when a late write (a
// retry of a batch planned before rotation) changes it after it was
// forgotten, so that its metadata is rewritten.
func (m *sessionManager) remember(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.id]; !ok {
		m.sessions[s.id] = s
	}
}

// applyResourceMetadata fills what a session named by an attribute can
// learn from the data itself: a resource of the seed generator makes it a
// seed session with the pattern's parameters.
func applyResourceMetadata(meta *sessionstore.Metadata, res pcommon.Resource) {
	a := res.Attributes()
	pattern, ok := a.Get(sessionstore.AttrPattern)
	if !ok {
		return
	}
	meta.SessionType = sessionstore.SessionTypeSeed
	if meta.Labels == nil {
		meta.Labels = map[string]string{}
	}
	meta.Labels["pattern"] = truncate(pattern.AsString(), maxNameBytes)
	if d, ok := a.Get(sessionstore.AttrDescription); ok && meta.Description == "" {
		meta.Description = truncate(d.AsString(), maxDescriptionBytes)
	}
	if meta.Seed != nil {
		return // continuing a session that already has its table
	}
	seed := &sessionstore.SeedInfo{Pattern: truncate(pattern.AsString(), maxNameBytes), Phases: []sessionstore.Phase{}}
	if v, ok := a.Get(sessionstore.AttrSeed); ok {
		seed.Seed = v.Int()
	}
	if v, ok := a.Get(sessionstore.AttrRate); ok {
		seed.TracesPerSecond = v.Double()
	}
	if v, ok := a.Get(sessionstore.AttrErrorRate); ok {
		seed.ErrorRate = v.Double()
	}
	if v, ok := a.Get(sessionstore.AttrDuration); ok {
		seed.Duration = truncate(v.AsString(), maxNameBytes)
	}
	meta.Seed = seed
}

// addPhase counts items in the phase table, adding the phase (name, time
// range, flags) on first sight, and keeps enabledFlags the flags that are
// on in some phase.
func addPhase(meta *sessionstore.Metadata, idx int64, ph *phaseItems) {
	for i := range meta.Seed.Phases {
		if int64(meta.Seed.Phases[i].Index) == idx {
			meta.Seed.Phases[i].Items += ph.items
			return
		}
	}
	if len(meta.Seed.Phases) >= maxPhases {
		return // the items still count in the session's totals
	}
	a := ph.resource.Attributes()
	row := sessionstore.Phase{Index: int(idx), Items: ph.items, Flags: map[string]float64{}}
	if v, ok := a.Get(sessionstore.AttrPhaseName); ok {
		row.Name = truncate(v.AsString(), maxNameBytes)
	}
	if v, ok := a.Get(sessionstore.AttrPhaseStart); ok {
		row.Start, _ = time.Parse(time.RFC3339Nano, v.AsString())
	}
	if v, ok := a.Get(sessionstore.AttrPhaseEnd); ok {
		row.End, _ = time.Parse(time.RFC3339Nano, v.AsString())
	}
	a.Range(func(k string, v pcommon.Value) bool {
		name, ok := strings.CutPrefix(k, sessionstore.AttrPhaseFlag)
		if !ok || len(row.Flags) >= maxFlags || len(name) > maxNameBytes {
			return true
		}
		row.Flags[name] = v.Double()
		if v.Double() > 0 && !slices.Contains(meta.EnabledFlags, name) && len(meta.EnabledFlags) < maxFlags {
			meta.EnabledFlags = append(meta.EnabledFlags, name)
			slices.Sort(meta.EnabledFlags)
		}
		return true
	})
	meta.Seed.Phases = append(meta.Seed.Phases, row)
	slices.SortFunc(meta.Seed.Phases, func(a, b sessionstore.Phase) int { return a.Index - b.Index })
}

// What a session's metadata takes from the attributes of the data, at
// most: any OTLP client can send them, and metadata.json must stay small
// enough to read (sessionstore reads at most 8 MiB of it).
const (
	maxPhases           = 256
	maxFlags            = 64
	maxNameBytes        = 256
	maxDescriptionBytes = 4 << 10
)

// truncate cuts s to at most n bytes, at a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

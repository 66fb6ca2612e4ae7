package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Opening a session in the store: a new one, or the stored one
// continued from this writer's view (recounted after a crash).

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
	for i, n := range countsOf(cont.dropped) {
		s.ledger.dropped[i] += n
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
	dropped      *sessionstore.ItemCounts
	recount      bool // this writer's share could not be recounted now
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
	out := continued{meta: base, mine: isMine, lost: base.LostItems, dropped: base.DroppedItems, queued: base.QueuedItems,
		lostPieces: base.LostPieces, lostUncounted: base.Status == sessionstore.StatusFailed && !base.Incomplete()}
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
	base.LostItems, base.DroppedItems, base.QueuedItems, base.NeedsRecount, base.LostPieces = nil, nil, nil, false, nil
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

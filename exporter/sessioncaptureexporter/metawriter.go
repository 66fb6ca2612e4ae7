package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// A session's metadata is written as this writer's view
// (sessions/{id}/writers/{writer}.json), then as metadata.json: the merge
// of every writer's view (sessionstore.Merge). Only the writes of one
// session wait on each other: a push never waits for another session's
// store call.

// flush writes the metadata of every session whose write is due (force:
// every changed one), opening for the record the sessions that lost data
// before they could be opened, and forgets closed sessions that are fully
// written.
func (m *sessionManager) flush(ctx context.Context, interval time.Duration, force bool) error {
	errs := []error{m.recordDroppedRoutes(ctx, force)}
	for _, s := range m.all() {
		if !s.isOpened() {
			if (!force || !s.isClosed() || !s.hasData()) && !s.hasDropped() {
				continue
			}
			// Closed before anything of it could be stored (the store was
			// away), or all it had was dropped: open it now, so that its
			// metadata says what it lost or dropped.
			if err := m.open(ctx, s, emptyResource); err != nil {
				if !sessionstore.IsPermanent(err) {
					errs = append(errs, err)
					continue
				}
				l := s.view(m.now()).LostItems
				m.logger.Error("Session lost data: accepted items that could not be stored, and its metadata cannot say so",
					zap.String("session", s.id), zap.Int64("lost_spans", l.Of(sessionstore.SignalTraces)),
					zap.Int64("lost_data_points", l.Of(sessionstore.SignalMetrics)), zap.Int64("lost_log_records", l.Of(sessionstore.SignalLogs)),
					zap.Error(err))
				m.forget(s)
				continue
			}
		}
		snap, err := m.write(ctx, s, interval, force)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if snap == nil || snap.Status == sessionstore.StatusActive && snap.EndTime == nil {
			continue
		}
		if lost := snap.LostItems; lost != nil {
			m.logger.Error("Session lost data: accepted items that could not be stored", zap.String("session", s.id),
				zap.Int64("lost_spans", lost.Traces), zap.Int64("lost_data_points", lost.Metrics), zap.Int64("lost_log_records", lost.Logs))
		}
		fields := []zap.Field{
			zap.String("session", s.id), zap.String("status", string(snap.Status)),
			zap.Int64("spans", snap.CapturedTraces), zap.Int64("data_points", snap.CapturedMetrics),
			zap.Int64("log_records", snap.CapturedLogs), zap.Int64("stored_bytes", snap.TotalSizeBytes),
		}
		if d := snap.DroppedItems; d != nil {
			fields = append(fields, zap.Int64("dropped_spans", d.Traces), zap.Int64("dropped_data_points", d.Metrics), zap.Int64("dropped_log_records", d.Logs))
		}
		if q := snap.QueuedItems; q != nil {
			fields = append(fields, zap.Int64("queued_spans", q.Traces), zap.Int64("queued_data_points", q.Metrics), zap.Int64("queued_log_records", q.Logs))
			m.logger.Info("Closed session; items it accepted wait in the persistent queue and are stored when the collector runs again", fields...)
			continue
		}
		m.logger.Info("Closed session", fields...)
	}
	if force {
		errs = append(errs, m.recordUnopened(ctx))
	}
	m.forgetSettled()
	return errors.Join(errs...)
}

// recordDroppedRoutes opens the sessions of routes with items dropped
// while they were not open, so that their metadata says so (routed records
// the drops); final: the collector stops, and they close at once. A route
// whose session refuses them for good is forgotten, with a warning.
func (m *sessionManager) recordDroppedRoutes(ctx context.Context, final bool) error {
	var errs []error
	for _, route := range m.route.droppedRoutes() {
		s, err := m.routed(ctx, route, emptyResource)
		if err == nil {
			if final {
				s.close(m.now(), true, m.persistent)
			}
			continue
		}
		if sessionstore.IsPermanent(err) {
			c := m.route.forgetDropped(route)
			m.logger.Warn("Items dropped for a session that refuses them", zap.String("session", route),
				zap.Int64("dropped_spans", c[0]), zap.Int64("dropped_data_points", c[1]), zap.Int64("dropped_log_records", c[2]), zap.Error(err))
			continue
		}
		errs = append(errs, fmt.Errorf("session %s: record dropped items: %w", route, err))
	}
	return errors.Join(errs...)
}

// reportUnwritten logs, as errors, what the sessions whose final metadata
// could not be written lost: the store was away too long for their
// metadata.json to say it.
func (m *sessionManager) reportUnwritten() {
	for _, s := range m.all() {
		v := s.view(m.now())
		if v == nil || !v.Incomplete() {
			continue
		}
		l, d := countsOf(v.LostItems), countsOf(v.DroppedItems)
		m.reportUnrecorded(s.id, l, d)
	}
	lost, dropped := m.route.unrecordedCounts()
	for route, c := range lost {
		m.reportUnrecorded(route, c, dropped[route])
	}
	for route, c := range dropped {
		if _, ok := lost[route]; !ok {
			m.reportUnrecorded(route, counts{}, c)
		}
	}
}

func (m *sessionManager) reportUnrecorded(id string, lost, dropped counts) {
	m.logger.Error("Session lost data: accepted items that could not be stored (lost) or that the sending queue had no room for (dropped), and the store was away too long to record it in its metadata.json",
		zap.String("session", id), zap.Int64("lost_spans", lost[0]), zap.Int64("lost_data_points", lost[1]), zap.Int64("lost_log_records", lost[2]),
		zap.Int64("dropped_spans", dropped[0]), zap.Int64("dropped_data_points", dropped[1]), zap.Int64("dropped_log_records", dropped[2]))
}

// recordUnopened records in their sessions the items lost for routes
// whose session could not be opened at the time, and the items of routes
// whose session was not opened in this run that wait in the persistent
// queue; what still cannot be recorded is returned as an error naming it.
func (m *sessionManager) recordUnopened(ctx context.Context) error {
	lost, queued := m.route.unrecorded()
	var errs []error
	record := func(route string, c *counts, fate routeFate) {
		s, err := m.routed(ctx, route, emptyResource)
		if err == nil {
			// The session holds them now; a failed write of it is retried
			// with the session's.
			for i, n := range c {
				s.arrived(signals[i], n, false)
				if fate == fateLost {
					s.recordLost(signals[i], n)
				}
			}
			s.close(m.now(), true, m.persistent)
			if _, err = m.write(ctx, s, 0, true); err != nil {
				errs = append(errs, err)
			}
			return
		}
		if sessionstore.IsPermanent(err) {
			m.logger.Warn("Items for a session that refuses them", zap.String("session", route), zap.String("fate", fate.String()), zap.Error(err))
			return
		}
		m.route.keep(route, c, fate)
		what := "lost"
		if fate == fateQueued {
			what = "waits in the persistent queue with"
		}
		errs = append(errs, fmt.Errorf("session %s %s %d spans, %d data points and %d log records, and its metadata cannot say so: %w",
			route, what, c[0], c[1], c[2], err))
	}
	for route, c := range lost {
		record(route, c, fateLost)
	}
	for route, c := range queued {
		record(route, c, fateQueued)
	}
	return errors.Join(errs...)
}

// write stores s's metadata if a write is due and returns what it wrote
// (nil if nothing was due).
func (m *sessionManager) write(ctx context.Context, s *session, interval time.Duration, force bool) (*sessionstore.Metadata, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := m.now()
	snap := s.snapshot(now, interval, force)
	if snap == nil {
		return nil, nil
	}
	err := m.writeViews(ctx, s, snap)
	s.written(now, err)
	if err != nil {
		m.writeFailed()
		return nil, fmt.Errorf("write metadata of session %s: %w", s.id, err)
	}
	m.writeSucceeded()
	return snap, nil
}

// writeViews stores this writer's view of a session, then the session's
// metadata.json: the merge of every writer's view. A merge that completes
// the session while some writer's share could not be recounted recounts
// the session's objects first.
func (m *sessionManager) writeViews(ctx context.Context, s *session, view *sessionstore.Metadata) error {
	writer, moved, err := m.viewWriter(ctx, s)
	if err != nil {
		return err
	}
	if moved {
		view = s.view(m.now()) // without what it inherited, marked for a recount
	}
	view.Instance = m.instance
	if err := sessionstore.WriteWriter(ctx, m.store, writer, view); err != nil {
		return err
	}
	views, err := sessionstore.ReadWriters(ctx, m.store, view.SessionID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return err
	}
	if err != nil {
		m.logger.Warn("A writer's file of the session is unreadable; metadata.json merges the others", zap.String("session", view.SessionID), zap.Error(err))
	}
	s.mu.Lock()
	from := s.inheritedFrom
	s.mu.Unlock()
	if _, alive := views[safeWriterID(writer+"-"+from)]; from != "" && alive {
		// The run whose open view this one took over is alive and has
		// moved to a writer id of its own, with its counts.
		m.logger.Warn("The writer run whose view this collector continued is alive; its counts go back to it",
			zap.String("session", s.id), zap.String("other_instance", from))
		s.disown()
		view = s.view(m.now())
		view.Instance = m.instance
		if err := sessionstore.WriteWriter(ctx, m.store, writer, view); err != nil {
			return err
		}
	}
	views[writer] = view // what was just written, whatever the listing saw
	merged := sessionstore.Merge(views)
	if merged.Status == sessionstore.StatusCompleted && merged.NeedsRecount {
		rc, err := m.recount(ctx, s.id)
		if err != nil {
			return err
		}
		if rc != nil {
			m.logger.Info("Recounted the session as it completes (a writer had continued it after a crash)", zap.String("session", s.id),
				zap.Int64("items_in_views", merged.Items()), zap.Int64("items_in_objects", rc.Counts.Items()))
			merged.TakeCounts(rc.Counts)
			merged.NeedsRecount = false
		}
	}
	return sessionstore.WriteMetadata(ctx, m.store, merged)
}

// viewWriter returns the writer id under which this run writes s's view.
// Before each write after its first, it checks that the view is still
// this run's: another run in it means two live collectors share a writer
// id, each overwriting the other's counts. Then this run goes on under a
// writer id of its own (the other keeps the shared one), says so loudly,
// and marks the session for a recount when it completes. A generated
// session id is never shared, so it is not checked.
func (m *sessionManager) viewWriter(ctx context.Context, s *session) (writer string, moved bool, err error) {
	s.mu.Lock()
	writer, written := s.writer, s.viewWritten
	s.mu.Unlock()
	if !written || (s.kind == kindOwn && s.own.desc.id == AutoSessionID) {
		return writer, false, nil
	}
	cur, err := sessionstore.ReadWriter(ctx, m.store, s.id, writer)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound), errors.Is(err, sessionstore.ErrCorrupt):
		return writer, false, nil
	case err != nil:
		return "", false, err
	case cur.Instance == "" || cur.Instance == m.instance:
		return writer, false, nil
	}
	own := safeWriterID(writer + "-" + m.instance)
	m.logger.Error("Another collector writes this session under the same writer id; this one goes on under its own (set session.writer_id to a different value on each collector)",
		zap.String("session", s.id), zap.String("writer_id", writer), zap.String("other_instance", cur.Instance),
		zap.String("new_writer_id", own))
	s.mu.Lock()
	s.writer = own
	// Two live runs wrote one view: what each counted in it cannot be told
	// apart any more (one may have taken the other's stored items over as
	// a crashed run's). The counts this run inherited stay with the shared
	// view, which the other run holds, and the session is recounted from
	// its objects when it completes, whoever completes it.
	s.recount = true
	s.mu.Unlock()
	s.disown()
	m.writer.replace(writer, own) // for the sessions opened from now on
	return own, true, nil
}

// writerName is this exporter's name among the writers of a session; it
// changes if another live collector turns out to share it (viewWriter).
type writerName struct {
	mu sync.Mutex
	id string
}

func (w *writerName) get() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id
}

// replace changes the name from old to name (not if it changed already).
func (w *writerName) replace(old, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.id == old {
		w.id = name
	}
}

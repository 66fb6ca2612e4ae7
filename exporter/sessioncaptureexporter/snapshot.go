package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// Snapshots: the items the rolling session accepted in [now-before,
// now+after], saved into a session of their own. The collector asked writes
// the session at once (active, naming the recorder and the window) and puts
// the request in the store, naming the rolling session's live writers; each
// of them (this one at once, the others when they next read the requests,
// within a metadata interval) waits until the window's end has passed and
// what it accepted in the window has met its fate (stored, lost or
// dropped), copies its objects of the window into the snapshot session
// (server-side on S3) and writes its share there as one of its writers,
// with what the window lost or dropped on its side. metadata.json is the
// merge of the shares, completed once every writer named has saved its
// share (or stopped being live). Until then each recorder keeps those
// objects.

// snapshotSettle bounds how long, after the window's end, a snapshot waits
// for the items accepted in it that are still on their way to the store;
// those still pending then are counted lost in the snapshot (never silently
// missing).
const snapshotSettle = 30 * time.Second

// Snapshot implements control.Capture.
func (e *captureExporter) Snapshot(ctx context.Context, req control.SnapshotRequest) (control.SnapshotState, error) {
	if e.rec == nil {
		return control.SnapshotState{}, control.Conflict("capture %s has no recorder (recorder.window): there is no window to save", e.set.ID)
	}
	before, after := time.Duration(req.Before), time.Duration(req.After)
	if before <= 0 || before > e.rec.window {
		return control.SnapshotState{}, &control.FieldError{Field: "before",
			Err: fmt.Errorf("%s: want more than 0 and at most the recorder's window, %s", before, e.rec.window)}
	}
	if after < 0 || after > e.rec.window {
		return control.SnapshotState{}, &control.FieldError{Field: "after",
			Err: fmt.Errorf("%s: want 0 to the recorder's window, %s", after, e.rec.window)}
	}
	requested := SessionConfig{ID: cmp.Or(req.ID, AutoSessionID), Labels: req.Labels, DiagnosticSessionID: req.DiagnosticSessionID}
	if err := requested.checkDescription(); err != nil {
		return control.SnapshotState{}, err
	}
	now := e.now().UTC().Truncate(time.Millisecond)
	id := requested.ID
	if id == AutoSessionID { // as session.id: auto, and a new own session's
		id = sessionstore.NewSessionID("snapshot", now)
	}
	e.ctlMu.Lock()
	defer e.ctlMu.Unlock()
	if e.closed {
		return control.SnapshotState{}, control.Conflict("capture %s: the collector is shutting down", e.set.ID)
	}
	if err := checkNewID(ctx, e.store, id); err != nil {
		return control.SnapshotState{}, err
	}
	sr := &sessionstore.SnapshotRequest{ID: id, From: now.Add(-before), To: now.Add(after),
		Description: req.Description, Labels: maps.Clone(req.Labels), DiagnosticSessionID: req.DiagnosticSessionID}
	m := snapshotMeta(sr, e.cfg.Session.ID, e.createdBy())
	m.UpdatedTime = now
	if err := sessionstore.WriteMetadata(ctx, e.store, m); err != nil {
		return control.SnapshotState{}, fmt.Errorf("session %s: write metadata: %w", id, err)
	}
	// Every live writer of the rolling session saves its share.
	views, err := sessionstore.ReadWriters(ctx, e.store, e.cfg.Session.ID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return control.SnapshotState{}, fmt.Errorf("session %s: read its writers: %w", e.cfg.Session.ID, err)
	}
	sr.Writers = sessionstore.LiveWriters(views, now)
	if self := e.sessions.writerID(); !slices.Contains(sr.Writers, self) {
		sr.Writers = append(sr.Writers, self)
	}
	slices.Sort(sr.Writers)
	if err := sessionstore.WriteSnapshotRequest(ctx, e.store, e.cfg.Session.ID, sr); err != nil {
		// This writer saves its share anyway, and writes the request for
		// the others before it does (saveShare).
		e.set.Logger.Warn("Could not put the snapshot request in the store yet; will retry", zap.String("session", id), zap.Error(err))
	}
	e.set.Logger.Info("Snapshot of the recorder's window asked for", zap.String("session", id),
		zap.Time("from", sr.From), zap.Time("to", sr.To), zap.Strings("writers", sr.Writers))
	e.takeSnapshotRequest(sr)
	return control.SnapshotState{Session: id, Recorder: e.cfg.Session.ID, From: sr.From, To: sr.To}, nil
}

// snapshotMeta is the metadata a snapshot session starts from.
func snapshotMeta(r *sessionstore.SnapshotRequest, recorder, createdBy string) *sessionstore.Metadata {
	m := sessionstore.NewMetadata(r.ID, sessionstore.SessionTypeCapture, r.From, createdBy)
	m.Description, m.DiagnosticSessionID = r.Description, r.DiagnosticSessionID
	if len(r.Labels) > 0 {
		m.Labels = maps.Clone(r.Labels)
	}
	m.Snapshot = &sessionstore.SnapshotInfo{Recorder: recorder, From: r.From, To: r.To}
	return m
}

// takeSnapshotRequest starts saving this writer's share of a snapshot, once
// per request (asked of this collector, or read from the store). A writer
// that was not live when the snapshot was asked for has no share in it.
func (e *captureExporter) takeSnapshotRequest(r *sessionstore.SnapshotRequest) {
	if !slices.Contains(r.Writers, e.sessions.writerID()) || !e.rec.take(r.ID) {
		return
	}
	e.rec.pin(r.ID, r.From)
	e.wg.Go(func() { e.saveShare(r) })
}

// pollSnapshotRequests reads the rolling session's snapshot requests: a
// request this writer has not seen yet is taken (another writer was
// asked); one whose share is saved is completed once every writer's is.
func (e *captureExporter) pollSnapshotRequests(ctx context.Context) error {
	reqs, err := sessionstore.ReadSnapshotRequests(ctx, e.store, e.cfg.Session.ID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return err
	}
	for _, r := range reqs {
		if e.rec.saved(r.ID) {
			if err := e.completeSnapshot(ctx, r); err != nil {
				return err
			}
			continue
		}
		e.takeSnapshotRequest(r)
	}
	return nil
}

// saveShare waits for the window's end and its items' fates, copies this
// writer's objects of the window into the snapshot session and writes its
// view there, then completes the snapshot if every writer's share is
// saved. The collector stopping cuts the waits short: what is pending
// then is counted lost.
func (e *captureExporter) saveShare(r *sessionstore.SnapshotRequest) {
	defer e.rec.unpin(r.ID)
	// The recorder counts what it accepted per second: the window's last
	// second takes requests until its end, after the window's, and they
	// must have met their fate before its counts are read (else they would
	// be pending, counted lost).
	if !e.sleepUntil(r.To.Truncate(time.Second).Add(time.Second)) {
		e.set.Logger.Warn("The collector stops before the snapshot's window has passed: its share holds what was stored by now",
			zap.String("session", r.ID))
	}
	settleBy := e.now().Add(snapshotSettle)
	for {
		if _, _, pending := e.rec.windowCounts(r.From, r.To); pending.total() == 0 || !e.now().Before(settleBy) || e.stopping() {
			break
		}
		e.sleepUntil(e.now().Add(100 * time.Millisecond))
	}
	ctx := context.Background()
	bo := waitutil.NewBackOff(100*time.Millisecond, 5*time.Second)
	for {
		err := e.ensureRequest(ctx, r)
		if err == nil {
			err = e.writeShare(ctx, r)
		}
		if err == nil {
			e.rec.markSaved(r.ID)
			err = e.completeSnapshot(ctx, r)
		}
		if err == nil {
			return
		}
		e.set.Logger.Warn("Could not save this writer's share of the snapshot yet; will retry", zap.String("session", r.ID), zap.Error(err))
		if e.stopping() && e.now().After(settleBy) {
			e.set.Logger.Error("Snapshot share left unsaved: the store was away", zap.String("session", r.ID), zap.Error(err))
			return
		}
		if waitutil.Wait(e.retriesEnd, bo) != nil {
			e.set.Logger.Error("Snapshot share left unsaved: the collector stopped", zap.String("session", r.ID), zap.Error(err))
			return
		}
	}
}

// ensureRequest puts the snapshot request in the store if it is not there
// (writing it failed when the snapshot was asked for) and not done.
func (e *captureExporter) ensureRequest(ctx context.Context, r *sessionstore.SnapshotRequest) error {
	if e.rec.saved(r.ID) {
		return nil
	}
	_, err := sessionstore.ReadWriter(ctx, e.store, r.ID, e.sessions.writerID())
	if err == nil {
		return nil // this share is saved: the request was read or is done
	}
	if !errors.Is(err, sessionstore.ErrNotFound) {
		return err
	}
	exists, err := sessionstore.Exists(ctx, e.store, sessionstore.SnapshotRequestKey(e.cfg.Session.ID, r.ID))
	if err != nil || exists {
		return err
	}
	return sessionstore.WriteSnapshotRequest(ctx, e.store, e.cfg.Session.ID, r)
}

// writeShare copies this writer's objects of the window into the snapshot
// session and writes its view of it: their counts, and what the window
// lost or dropped here. Copying again is harmless (the same keys), so a
// failure is retried whole.
func (e *captureExporter) writeShare(ctx context.Context, r *sessionstore.SnapshotRequest) error {
	view := snapshotMeta(r, e.cfg.Session.ID, e.createdBy())
	for _, o := range e.rec.inWindow(r.From, r.To) {
		if !o.counted {
			if err := e.rec.count(ctx, e.cfg.Session.ID, &o); err != nil {
				return err
			}
		}
		if o.uncounted {
			continue
		}
		if _, err := sessionstore.CopyToSession(ctx, e.store, o.key, r.ID); err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) {
				continue // not a data object's key
			}
			return err
		}
		view.Add(o.signal, o.captured, o.items, o.raw, o.stored)
	}
	lost, dropped, pending := e.rec.windowCounts(r.From, r.To)
	for i := range lost {
		lost[i] += pending[i] // not stored when the share was saved
	}
	view.LostItems, view.DroppedItems = lost.itemCounts(), dropped.itemCounts()
	view.Status = sessionstore.StatusCompleted
	if view.Incomplete() {
		view.Status = sessionstore.StatusFailed
	}
	end := r.To
	view.EndTime = &end
	view.UpdatedTime = e.now().UTC()
	return sessionstore.WriteWriter(ctx, e.store, e.sessions.writerID(), view)
}

// completeSnapshot writes the snapshot's metadata.json as the merge of the
// shares saved: completed (or failed) once every writer the request names
// has saved its share, or is no longer live (it stopped: its share is
// missing, and said so); active until then. The request goes once done.
func (e *captureExporter) completeSnapshot(ctx context.Context, r *sessionstore.SnapshotRequest) error {
	shares, err := sessionstore.ReadWriters(ctx, e.store, r.ID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return err
	}
	if len(shares) == 0 {
		return nil
	}
	rolling, err := sessionstore.ReadWriters(ctx, e.store, e.cfg.Session.ID)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return err
	}
	live := sessionstore.LiveWriters(rolling, e.now())
	var waiting, gone []string
	for _, w := range r.Writers {
		switch {
		case shares[w] != nil:
		case slices.Contains(live, w):
			waiting = append(waiting, w)
		default:
			gone = append(gone, w)
		}
	}
	if len(waiting) > 0 {
		// Not complete: metadata.json stays as the request wrote it
		// (active). A merge written now could land after the completed
		// one another writer wrote a moment later, from the same shares
		// and its own, and turn it back to active for good.
		return nil
	}
	m := sessionstore.Merge(shares)
	if err := sessionstore.WriteMetadata(ctx, e.store, m); err != nil {
		return err
	}
	if len(gone) > 0 {
		e.set.Logger.Warn("Snapshot saved without the shares of writers that stopped before saving theirs",
			zap.String("session", r.ID), zap.Strings("writers", gone))
	}
	e.set.Logger.Info("Snapshot saved", zap.String("session", r.ID), zap.String("status", string(m.Status)),
		zap.Int("writers", len(shares)), zap.Int64("spans", m.CapturedTraces), zap.Int64("data_points", m.CapturedMetrics),
		zap.Int64("log_records", m.CapturedLogs))
	return sessionstore.DeleteSnapshotRequest(ctx, e.store, e.cfg.Session.ID, r.ID)
}

// sleepUntil waits until t, or until the collector begins to stop (false).
func (e *captureExporter) sleepUntil(t time.Time) bool {
	d := t.Sub(e.now())
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-e.stoppingCh:
		return false
	}
}

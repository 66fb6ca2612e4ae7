package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// Snapshots: the items the rolling session accepted in [now-before,
// now+after], saved into a session of their own. The session is written at
// once (active, naming the recorder and the window); once the window's end
// has passed and what was accepted in it has met its fate (stored, lost or
// dropped), the rolling session's objects of the window are copied into it
// (server-side on S3), it is recounted, and it completes, with what the
// window lost or dropped. Until then the recorder keeps those objects.

// snapshotSettle bounds how long, after the window's end, a snapshot waits
// for the items accepted in it that are still on their way to the store;
// those still pending then are counted lost in the snapshot (never silently
// missing).
const snapshotSettle = 30 * time.Second

// snapshot is one pending snapshot.
type snapshot struct {
	id       string
	from, to time.Time
	meta     *sessionstore.Metadata // as written when it was asked for
}

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
	now := e.now().UTC().Truncate(time.Millisecond)
	id := req.ID
	if id == "" {
		id = sessionstore.NewSessionID("snapshot", now)
	}
	if err := sessionstore.ValidateSessionID(id); err != nil {
		return control.SnapshotState{}, &control.FieldError{Field: "id", Err: err}
	}
	if req.DiagnosticSessionID != "" {
		if err := sessionstore.ValidateSessionID(req.DiagnosticSessionID); err != nil {
			return control.SnapshotState{}, &control.FieldError{Field: "diagnostic_session_id", Err: err}
		}
	}
	for k := range req.Labels {
		if k == "" {
			return control.SnapshotState{}, &control.FieldError{Field: "labels", Err: errors.New("empty label name")}
		}
	}
	e.ctlMu.Lock()
	defer e.ctlMu.Unlock()
	if e.closed {
		return control.SnapshotState{}, control.Conflict("capture %s: the collector is shutting down", e.set.ID)
	}
	switch _, err := sessionstore.ReadMetadata(ctx, e.store, id); {
	case err == nil || errors.Is(err, sessionstore.ErrCorrupt):
		return control.SnapshotState{}, control.Conflict("session %s exists already", id)
	case !errors.Is(err, sessionstore.ErrNotFound):
		return control.SnapshotState{}, fmt.Errorf("session %s: read metadata: %w", id, err)
	}
	if err := sessionstore.CheckCaseConflict(ctx, e.store, id); err != nil {
		return control.SnapshotState{}, control.Conflict("session %s: %v", id, err)
	}
	sn := &snapshot{id: id, from: now.Add(-before), to: now.Add(after)}
	m := sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, sn.from, e.createdBy())
	m.Description, m.DiagnosticSessionID = req.Description, req.DiagnosticSessionID
	if len(req.Labels) > 0 {
		m.Labels = maps.Clone(req.Labels)
	}
	m.Snapshot = &sessionstore.SnapshotInfo{Recorder: e.cfg.Session.ID, From: sn.from, To: sn.to}
	m.UpdatedTime = now
	if err := sessionstore.WriteMetadata(ctx, e.store, m); err != nil {
		return control.SnapshotState{}, fmt.Errorf("session %s: write metadata: %w", id, err)
	}
	sn.meta = m
	e.rec.pin(id, sn.from)
	e.set.Logger.Info("Snapshot of the recorder's window asked for", zap.String("session", id),
		zap.Time("from", sn.from), zap.Time("to", sn.to))
	e.wg.Go(func() { e.finishSnapshot(sn) })
	return control.SnapshotState{Session: id, Recorder: e.cfg.Session.ID, From: sn.from, To: sn.to}, nil
}

// finishSnapshot waits for the window's end and its items' fates, copies
// the window's objects and completes the snapshot session. The collector
// stopping cuts the waits short: what is pending then is counted lost.
func (e *captureExporter) finishSnapshot(sn *snapshot) {
	defer e.rec.unpin(sn.id)
	if !e.sleepUntil(sn.to.Add(time.Millisecond)) {
		e.set.Logger.Warn("The collector stops before the snapshot's window has passed: it holds what was stored by now",
			zap.String("session", sn.id))
	}
	settleBy := e.now().Add(snapshotSettle)
	for {
		if _, _, pending := e.rec.windowCounts(sn.from, sn.to); pending.total() == 0 || !e.now().Before(settleBy) || e.stopping() {
			break
		}
		e.sleepUntil(e.now().Add(100 * time.Millisecond))
	}
	ctx := context.Background()
	bo := waitutil.NewBackOff(100*time.Millisecond, 5*time.Second)
	for {
		err := e.completeSnapshot(ctx, sn)
		if err == nil {
			return
		}
		e.set.Logger.Warn("Could not complete the snapshot yet; will retry", zap.String("session", sn.id), zap.Error(err))
		if e.stopping() && e.now().After(settleBy) {
			e.set.Logger.Error("Snapshot left incomplete: the store was away", zap.String("session", sn.id), zap.Error(err))
			return
		}
		if waitutil.Wait(e.retriesEnd, bo) != nil {
			e.set.Logger.Error("Snapshot left incomplete: the collector stopped", zap.String("session", sn.id), zap.Error(err))
			return
		}
	}
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

// completeSnapshot copies the rolling session's objects of the window into
// the snapshot session, recounts it and writes its final metadata. Copying
// again is harmless (the same keys), so a failure is retried whole.
func (e *captureExporter) completeSnapshot(ctx context.Context, sn *snapshot) error {
	for o, err := range sessionstore.ListObjects(ctx, e.store, e.cfg.Session.ID) {
		if errors.Is(err, sessionstore.ErrCorrupt) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list the rolling session: %w", err)
		}
		if o.CaptureTime.Before(sn.from) || o.CaptureTime.After(sn.to) {
			continue
		}
		dst := o.ObjectKey
		dst.SessionID = sn.id
		if err := e.store.Copy(ctx, o.Key, dst.String()); err != nil {
			if errors.Is(err, sessionstore.ErrNotFound) {
				continue // deleted since the listing: it is out of the window
			}
			return fmt.Errorf("copy %s: %w", o.Key, err)
		}
	}
	rc, err := sessionstore.RecountSession(ctx, e.store, sn.id, sessionstore.DefaultRecountObjectBytes)
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	lost, dropped, pending := e.rec.windowCounts(sn.from, sn.to)
	for i := range lost {
		lost[i] += pending[i] // not stored when the snapshot was taken
	}
	m := sessionstore.Repaired(sn.meta, rc.Counts, e.now())
	m.StartTime = sn.from
	end := sn.to
	m.EndTime = &end
	m.LostItems, m.DroppedItems = lost.itemCounts(), dropped.itemCounts()
	m.Status = sessionstore.StatusCompleted
	if m.Incomplete() {
		m.Status = sessionstore.StatusFailed
	}
	if err := sessionstore.WriteMetadata(ctx, e.store, m); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	e.set.Logger.Info("Snapshot saved", zap.String("session", sn.id), zap.String("status", string(m.Status)),
		zap.Int64("spans", m.CapturedTraces), zap.Int64("data_points", m.CapturedMetrics), zap.Int64("log_records", m.CapturedLogs))
	return nil
}

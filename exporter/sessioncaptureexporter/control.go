package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// gate is the exporter's front door under the control API: while paused,
// what arrives is counted and dropped there, before the sending queue, and
// the sender sees success. Data accepted before the pause is still stored.
type gate struct {
	paused  atomic.Bool
	dropped [3]atomic.Int64 // traces, metrics, logs
	onDrop  func(sessionstore.Signal, int64)
}

var gateSignals = [3]sessionstore.Signal{sessionstore.SignalTraces, sessionstore.SignalMetrics, sessionstore.SignalLogs}

// drop reports whether items of signal are to be dropped, counting them.
func (g *gate) drop(signal sessionstore.Signal, items int) bool {
	if g == nil || !g.paused.Load() {
		return false
	}
	i := slices.Index(gateSignals[:], signal)
	g.dropped[i].Add(int64(items))
	if g.onDrop != nil {
		g.onDrop(signal, int64(items))
	}
	return true
}

func (g *gate) droppedCounts() map[string]int64 {
	out := make(map[string]int64, len(gateSignals))
	for i, s := range gateSignals {
		out[string(s)] = g.dropped[i].Load()
	}
	return out
}

// The exporter as the control API sees it.
var _ control.Capture = (*captureExporter)(nil)

// register makes the exporter controllable through session_control if the
// config names it.
func (e *captureExporter) register() error {
	if e.cfg.Control == nil {
		return nil
	}
	reg, err := controlreg.Find(e.host, *e.cfg.Control)
	if err != nil {
		return err
	}
	unregister, err := reg.RegisterCapture(e.set.ID, e)
	if err != nil {
		return err
	}
	e.unregister = unregister
	return nil
}

// Store implements control.Capture.
func (e *captureExporter) Store() sessionstore.Store { return e.store }

// State implements control.Capture.
func (e *captureExporter) State(context.Context) control.CaptureState {
	st := control.CaptureState{
		Component:          e.set.ID.String(),
		State:              control.Recording,
		Store:              e.store.String(),
		DroppedWhilePaused: e.gate.droppedCounts(),
		DroppedOnOverflow:  e.drops.droppedCounts(),
		RecorderWindow:     control.Duration(e.cfg.Recorder.Window),
	}
	if e.gate.paused.Load() {
		st.State = control.Paused
	}
	if st.Session = e.sessions.current().view(e.now()); st.Session != nil {
		if st.Session.EnabledFlags == nil {
			st.Session.EnabledFlags = []string{} // as metadata.json says it
		}
	}
	return st
}

// newSessionDrainTimeout bounds how long a new session waits for the data
// accepted into the previous one to be stored.
const newSessionDrainTimeout = 10 * time.Second

// NewSession implements control.Capture: the data accepted before the
// request is handed to the current own session, which then completes, and
// the requested one opens now (its metadata.json is written at once). The
// sessions rotated from it later (max_duration, max_bytes) keep its
// description. A paused (or armed: session.start: paused) capture resumes:
// a new session records. Sessions named by session.from_attribute are not
// affected.
func (e *captureExporter) NewSession(ctx context.Context, req control.SessionRequest) (control.CaptureState, error) {
	desc := ownDesc{
		id: AutoSessionID, description: req.Description, labels: maps.Clone(req.Labels),
		enabledFlags: slices.Clone(req.EnabledFlags), diagnosticSessionID: req.DiagnosticSessionID,
	}
	if req.ID != "" {
		desc.id = req.ID
	}
	requested := SessionConfig{ID: desc.id, Labels: req.Labels, EnabledFlags: req.EnabledFlags, DiagnosticSessionID: req.DiagnosticSessionID}
	if err := requested.checkDescription(); err != nil {
		return control.CaptureState{}, err
	}
	e.ctlMu.Lock()
	defer e.ctlMu.Unlock()
	if e.closed {
		return e.State(ctx), control.Conflict("capture %s: the collector is shutting down", e.set.ID)
	}
	// Data accepted before this request was stamped with the session
	// current then, and goes there whenever it leaves the sending queue.
	s, prev, err := e.sessions.openNew(ctx, desc)
	if err != nil {
		return control.CaptureState{}, err
	}
	fields := []zap.Field{zap.String("session", s.id)}
	if prev.hasData() {
		fields = append(fields, zap.String("completed", prev.id))
	}
	if e.gate.paused.CompareAndSwap(true, false) {
		fields = append(fields, zap.Bool("resumed", true)) // a new session records
	}
	e.set.Logger.Info("New capture session requested through the control API", fields...)
	if prev.hasData() {
		e.settle(ctx, prev)
	}
	// the new one's first metadata (and anything else due)
	if err := e.sessions.flush(ctx, e.cfg.MetadataInterval, false); err != nil {
		e.set.Logger.Warn("Could not write session metadata yet; will retry", zap.Error(err))
	}
	return e.State(ctx), nil
}

// checkNewID fails with a conflict if a session id is taken in st: its
// metadata.json is there (readable or not, or of a newer schema), or an id
// differing only by case is (sessionstore.CheckNewSessionID, which
// sessionctl extract uses too).
func checkNewID(ctx context.Context, st sessionstore.Store, id string) error {
	err := sessionstore.CheckNewSessionID(ctx, st, id)
	if errors.Is(err, sessionstore.ErrSessionExists) || errors.Is(err, sessionstore.ErrCaseConflict) {
		return control.Conflict("%v", err)
	}
	return err
}

// settle waits (bounded) until the items accepted into a closed session
// are stored, then writes its final metadata, so that the answer to a new
// session says what the previous one holds: completed, with all of its
// data.
func (e *captureExporter) settle(ctx context.Context, s *session) {
	waitCtx, cancel := context.WithTimeout(ctx, newSessionDrainTimeout)
	defer cancel()
	if !waitutil.Poll(waitCtx, 5*time.Millisecond, func() bool { return s.pendingItems() == 0 }) {
		e.set.Logger.Warn("The previous session still has items waiting to be stored; it completes when they are",
			zap.String("session", s.id), zap.Int64("items", s.pendingItems()))
		return
	}
	if err := e.sessions.open(ctx, s, emptyResource); err != nil {
		e.set.Logger.Warn("Could not open the previous session to write its final metadata yet; will retry", zap.String("session", s.id), zap.Error(err))
		return
	}
	if _, err := e.sessions.write(ctx, s, 0, true); err != nil {
		e.set.Logger.Warn("Could not write the previous session's final metadata yet; will retry", zap.String("session", s.id), zap.Error(err))
	}
}

// Pause implements control.Capture.
func (e *captureExporter) Pause(ctx context.Context) (control.CaptureState, error) {
	if !e.gate.paused.CompareAndSwap(false, true) {
		return e.State(ctx), control.Conflict("capture %s is paused already", e.set.ID)
	}
	e.set.Logger.Info("Capture paused through the control API: data is counted and dropped until resumed")
	return e.State(ctx), nil
}

// Resume implements control.Capture.
func (e *captureExporter) Resume(ctx context.Context) (control.CaptureState, error) {
	if !e.gate.paused.CompareAndSwap(true, false) {
		return e.State(ctx), control.Conflict("capture %s is not paused", e.set.ID)
	}
	e.set.Logger.Info("Capture resumed through the control API", zap.Any("dropped_while_paused", e.gate.droppedCounts()))
	return e.State(ctx), nil
}

// countPaused records dropped items in the exporter's own telemetry.
func (e *captureExporter) countPaused(signal sessionstore.Signal, items int64) {
	e.telemetry.ExporterSessionCapturePausedItems.Add(context.Background(), items,
		metric.WithAttributes(attribute.String("signal", string(signal))))
}

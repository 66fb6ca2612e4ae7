package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// The receiver as the control API sees it.
var _ control.Replay = (*replayReceiver)(nil)

// register makes the receiver controllable through session_control if the
// config names it.
func (r *replayReceiver) register() error {
	if r.cfg.Control == nil {
		return nil
	}
	reg, err := controlreg.Find(r.host, *r.cfg.Control)
	if err != nil {
		return err
	}
	unregister, err := reg.RegisterReplay(r.set.ID, r)
	if err != nil {
		return err
	}
	r.unregister = unregister
	return nil
}

// stateLocked is the current run's state (control.Idle before the
// first); mu is held.
func (r *replayReceiver) stateLocked() string {
	if r.run == nil {
		return control.Idle
	}
	return r.run.state
}

// Store implements control.Replay.
func (r *replayReceiver) Store() sessionstore.Store { return r.store }

// Status implements control.Replay: the state, and the progress of the
// current pass (this shard's share when sharded) with the replay's
// lateness so far.
func (r *replayReceiver) Status() control.ReplayStatus {
	r.mu.Lock()
	run := r.run
	st := control.ReplayStatus{Component: r.set.ID.String(), State: control.Idle, Speed: r.cfg.Speed}
	if run != nil {
		st.State, st.Speed, st.StartedAt, st.EndedAt = run.state, run.cfg.Speed, run.startedAt, run.endedAt
	}
	r.mu.Unlock()
	if run == nil {
		return st
	}
	st.Session = run.session.SessionID
	snap := run.progressAt(time.Now(), r.sessionTotals(run.cfg, run.session))
	st.Pass, st.ObjectsDone, st.ObjectsTotal = snap.pass, snap.objects, snap.tot.objects
	st.ItemsDone, st.ItemsTotal, st.Percent = snap.items, snap.tot.items, snap.percent
	if st.State == control.Finished && snap.tot.items == 0 && run.part != nil && !run.part.timeOpen() {
		st.ItemsTotal, st.Percent = st.ItemsDone, 100 // over: what it delivered was all of it
	}
	st.LatenessP50, st.LatenessP99, st.ETA = control.Duration(snap.p50), control.Duration(snap.p99), control.Duration(snap.eta)
	if st.State != control.Waiting && st.State != control.Running {
		st.ETA = 0
	}
	return st
}

// StartReplay implements control.Replay: a replay of the configuration changed by
// req. Bad values are field errors naming the field; a session that does
// not exist is ErrNotFound; a replay that is running is ErrConflict.
func (r *replayReceiver) StartReplay(ctx context.Context, req control.ReplayRequest) (control.ReplayStatus, error) {
	r.ctlMu.Lock()
	defer r.ctlMu.Unlock()
	r.mu.Lock()
	state, closed := r.stateLocked(), r.closed
	r.mu.Unlock()
	if closed {
		return r.Status(), control.Conflict("replay %s: the collector is shutting down", r.set.ID)
	}
	if state == control.Waiting || state == control.Running {
		return r.Status(), control.Conflict("replay %s is %s; stop it first", r.set.ID, state)
	}
	cfg, err := r.overridden(req)
	if err != nil {
		return r.Status(), err
	}
	r.wg.Wait() // the previous run's goroutine has ended (it said so first)
	if err := r.begin(ctx, cfg, nil, nil); err != nil {
		if errors.Is(err, errNoSession) {
			return r.Status(), control.NotFound(err)
		}
		return r.Status(), err // a FieldError (400) among them is kept
	}
	return r.Status(), nil
}

// overridden returns the configured settings with req's applied, checked
// by Config.Validate: a bad override is a FieldError naming the setting
// it overrides (400). The fields replaced are replaced whole, never
// written into, so the configuration itself is untouched.
func (r *replayReceiver) overridden(req control.ReplayRequest) (*Config, error) {
	c := *r.cfg
	var errs []error
	if req.Session != nil {
		c.Session, c.Sessions = *req.Session, nil // a session named replaces the configured ones
	}
	if req.Sessions != nil {
		if req.Session == nil {
			c.Session = AutoSession
		}
		c.Sessions = req.Sessions
	}
	if req.Copies != nil {
		c.Copies = *req.Copies
	}
	if req.Selection != nil {
		errs = append(errs, confutil.In("selection", c.Selection.UnmarshalText([]byte(*req.Selection))))
	}
	if req.Speed != nil {
		c.Speed = *req.Speed
	}
	if req.Timestamps != nil {
		errs = append(errs, confutil.In("timestamps", c.Timestamps.UnmarshalText([]byte(*req.Timestamps))))
	}
	if req.Loops != nil {
		c.Loops = *req.Loops
	}
	if req.MaxDuration != nil {
		c.MaxDuration = time.Duration(*req.MaxDuration)
	}
	if req.Phases != nil {
		c.Phases = req.Phases
	}
	if req.TimeRange != nil {
		c.TimeRange = TimeRangeConfig{Start: req.TimeRange.Start, End: req.TimeRange.End}
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return nil, err
	}
	return &c, nil
}

// StopReplay implements control.Replay: it stops the replay and answers
// once it has stopped, so that nothing is delivered after the answer. The
// object in the pipeline is not cancelled (its data may be on its way
// already): the stop waits for its outcome, and no object or retry
// follows. If ctx ends first, or the collector shuts down, the delivery in
// flight is cancelled and the stop fails, saying its data may still
// arrive.
func (r *replayReceiver) StopReplay(ctx context.Context) (control.ReplayStatus, error) {
	r.ctlMu.Lock()
	defer r.ctlMu.Unlock()
	r.mu.Lock()
	run, state := r.run, r.stateLocked()
	r.mu.Unlock()
	if state != control.Waiting && state != control.Running {
		return r.Status(), control.Conflict("replay %s is %s, not running", r.set.ID, state)
	}
	r.set.Logger.Info("Stopping the replay through the control API")
	run.stop()
	select {
	case <-run.done:
	case <-ctx.Done():
		run.abort()
		return r.Status(), fmt.Errorf("replay %s: the stop request ended before the delivery in flight did (%w); it was cancelled, and its data may still arrive", r.set.ID, ctx.Err())
	case <-r.stopped: // Shutdown cancelled the delivery in flight
		return r.Status(), fmt.Errorf("replay %s: the collector is shutting down; the delivery in flight was cancelled, and its data may still arrive", r.set.ID)
	}
	r.wg.Wait()
	return r.Status(), nil
}

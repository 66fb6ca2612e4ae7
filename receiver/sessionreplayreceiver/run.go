package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// replayRun is one replay, from begin to its end: what it replays, with
// which settings, where it goes on from, and what it has done. The receiver
// holds the current (or last) one; the next begin makes a new one, so
// nothing of a run leaks into the next.
type replayRun struct {
	r        *replayReceiver        // what lasts: the store, the pipelines, telemetry
	cfg      *Config                // the configuration, or the control API's variant of it
	session  *sessionstore.Metadata // merged when several sessions replay as one
	sessions []string               // the ids of the sessions replayed as one
	part     *part                  // what of the session is replayed
	pace     PaceBy                 // pace_by, auto resolved for the session
	seed     [32]byte               // keys the id remapping
	resume   *checkpoint            // the checkpoint it goes on from (nil: from the start)
	tally    *tally

	// stop ends the run between deliveries (the one in flight runs to its
	// outcome); abort ends the one in flight too. done is closed when the
	// run has ended.
	stop, abort context.CancelFunc
	done        chan struct{}

	// Guarded by the receiver's mu: the state (control.Waiting, Running,
	// Finished, Stopped) and the times the control API reports.
	state              string
	startedAt, endedAt time.Time
}

// Why a run ended, as the summary's ended_by says.
const (
	endedLoops       = "loops"             // its loops are done
	endedNothing     = "nothing_to_replay" // a pass found nothing to deliver
	endedMaxDuration = "max_duration"
	endedError       = "error"   // the store or the pipeline broke it off
	endedStopped     = "stopped" // the control API or the collector's shutdown
)

// over reports whether a run that ended so ended by itself (a replay with
// shutdown_when_done then stops the collector; its checkpoint is cleared).
func over(endedBy string) bool {
	return endedBy == endedLoops || endedBy == endedNothing || endedBy == endedMaxDuration
}

func (run *replayRun) wants(s sessionstore.Signal) bool { return run.r.wantsWith(run.cfg, s) }

// execute performs the passes, then logs a summary and leaves the state at
// Finished or Stopped. ctx ends the run; pipelineCtx is what Consume calls
// get, and ends them (see begin).
func (run *replayRun) execute(ctx, pipelineCtx context.Context) {
	start := time.Now()
	if run.cfg.StartAt.After(start) {
		start = run.cfg.StartAt
	}
	start = start.Add(run.cfg.StartDelay)
	endedBy := endedStopped
	defer func() { run.r.finish(run, over(endedBy)) }()
	if !waitutil.SleepUntil(ctx, start) {
		return
	}
	run.r.setState(run, control.Running)
	if run.cfg.MaxDuration > 0 {
		// max_duration ends the delivery in flight too, as the collector's
		// shutdown does: a pipeline that does not answer does not hold the
		// replay (and shutdown_when_done) past it.
		end := start.Add(run.cfg.MaxDuration)
		var cancel, cancelPipeline context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, end)
		defer cancel()
		pipelineCtx, cancelPipeline = context.WithDeadline(pipelineCtx, end)
		defer cancelPipeline()
	}
	progCtx, stopProgress := context.WithCancel(ctx)
	var progWG sync.WaitGroup
	progWG.Go(func() { run.reportProgress(progCtx) })
	endedBy = run.passes(ctx, pipelineCtx, start)
	stopProgress()
	progWG.Wait()
	if over(endedBy) {
		run.r.clearCheckpoint()
	}
	s := run.tally.summary()
	run.r.set.Logger.Info("Replay finished", zap.String("session", run.session.SessionID), zap.Int("passes", s.passes),
		zap.Int64("objects", s.objects), zap.Int64("bad_objects", s.badObjects),
		zap.Object("bad_objects_by_reason", reasonCounts(s.badByReason)), zap.Int64("duplicate_objects", s.duplicates),
		zap.Int64("spans", s.items[sessionstore.SignalTraces]), zap.Int64("data_points", s.items[sessionstore.SignalMetrics]),
		zap.Int64("log_records", s.items[sessionstore.SignalLogs]), zap.Int64("dropped_items", s.dropped),
		zap.Duration("lateness_p50", s.lateness.quantile(0.5)), zap.Duration("lateness_p99", s.lateness.quantile(0.99)),
		zap.Duration("lateness_max", s.lateness.max), zap.Duration("elapsed", time.Since(start)),
		zap.Bool("stopped_early", ctx.Err() != nil), zap.String("ended_by", endedBy))
}

// passes runs the passes from start (or from the checkpoint) and returns
// why they ended.
func (run *replayRun) passes(ctx, pipelineCtx context.Context, start time.Time) string {
	p := &passState{anchor: start, fixedAnchor: !run.cfg.StartAt.IsZero(), shared: run.cfg.Shard.Count > 1}
	if p.shared && run.session.EventTimeRange != nil {
		p.sessionEvents = run.session.EventTimeRange.End.Sub(run.session.EventTimeRange.Start)
	}
	if cp := run.resume; cp != nil {
		p.resumeFrom(cp, run.cfg.Speed, run.cfg.MaxGap)
		run.tally.resumed(cp.Passes)
		run.r.set.Logger.Info("Resuming the replay from its checkpoint", zap.String("session", run.session.SessionID),
			zap.Int("pass", cp.Pass), zap.String("after", cp.LastKey), zap.Time("anchor", cp.Anchor))
	}
	endedBy := endedLoops
	for pass := p.pass; run.cfg.Loops == 0 || pass < run.cfg.Loops; pass++ {
		p.pass = pass
		if err := run.pass(ctx, pipelineCtx, p); err != nil {
			if ctx.Err() == nil { // not shutdown or max_duration: the replay broke
				run.r.set.Logger.Error("Replay stopped", zap.String("session", run.session.SessionID), zap.Error(err))
				run.r.delivery.Health().Permanent(fmt.Errorf("session_replay: replay of %s stopped: %w", run.session.SessionID, err))
				return endedError
			}
			break
		}
		run.tally.passDone()
		run.r.telemetry.ReceiverSessionReplayPasses.Add(context.Background(), 1)
		if p.delivered == 0 {
			// Nothing readable for these pipelines (or every object is bad):
			// another pass would only repeat that.
			run.r.set.Logger.Warn("Session has nothing to replay for the configured pipelines", zap.String("session", run.session.SessionID),
				zap.Int64("objects_seen", p.objects))
			endedBy = endedNothing
			break
		}
		if p.sched != nil {
			p.nextPass(time.Now())
		}
		p.pass, p.resumeAfter = pass+1, nil
		run.saveCheckpoint(p, nil)
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return endedMaxDuration
	case ctx.Err() != nil:
		return endedStopped
	}
	return endedBy
}

// pass delivers one pass over the session on p's schedule.
func (run *replayRun) pass(ctx, pipelineCtx context.Context, p *passState) error {
	p.objects, p.delivered = 0, 0
	passStart := time.Now()
	run.tally.startPass(p.pass, passStart)
	key := passKey(run.seed, p.pass)

	listCtx, stopList := context.WithCancel(ctx)
	p.clock = nil
	if p.shared && run.pace == PaceByCaptureTime {
		p.clock = newSchedule(time.Time{}, run.cfg.Speed, run.cfg.MaxGap)
	}
	badKey := func(key string, err error) { run.reportBad(key, err, reasonBadKey) }
	objects, wait := run.prefetch(listCtx, run.objects(listCtx, badKey, p.clock, p.resumeAfter))
	// Deferred calls run last-first: stop the listing and read-ahead, then
	// wait for their goroutines.
	defer wait()
	defer stopList()
	units := byObject(objects)
	if run.pace == PaceByEventTime && run.cfg.Speed > 0 { // at speed 0 nothing waits: objects go whole
		units = eventTimeline(objects, timelineLimit(run.cfg.ReadAhead), run.signalsLastCapture())
	}
	started := false
	for u := range units {
		f := u.f
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if f.err == nil && u.batch().ItemCount() == 0 {
			continue // nothing of the part in it: no time on the schedule either
		}
		if !started {
			run.anchorPass(p, u)
			started = true
		}
		if u.first {
			p.objects++
		}
		var due time.Time
		if p.clock != nil {
			due = p.sched.at(f.offset)
		} else {
			due = p.sched.due(u.at)
		}
		if !waitutil.SleepUntil(ctx, due) {
			return ctx.Err()
		}
		if f.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			run.reportBad(f.obj.Key, f.err, badReason(f.err))
			run.checkpointAfter(p, u)
			continue
		}
		if err := run.deliverUnit(ctx, pipelineCtx, p, u, due, key); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	run.r.telemetry.ReceiverSessionReplayProgress.Record(context.Background(), 1)
	run.r.telemetry.ReceiverSessionReplayEta.Record(context.Background(), 0)
	s := run.tally.summary()
	run.r.set.Logger.Info("Replay pass finished", zap.String("session", run.session.SessionID), zap.Int("pass", p.pass),
		zap.Int64("objects", p.objects), zap.Int64("items", s.passItems), zap.Duration("elapsed", time.Since(passStart)),
		zap.Duration("lateness_p99", s.passLate.quantile(0.99)), zap.Duration("lateness_max", s.passLate.max))
	return nil
}

// anchorPass sets up p's schedule at its first unit u: a resumed pass goes
// on with the checkpoint's schedule; any other starts when its first
// object is in hand (listing and reading it must not make the whole pass
// late), and pass 0 fixes the capture time the time shift counts from.
func (run *replayRun) anchorPass(p *passState, u unit) {
	if p.resumeSched != nil {
		p.sched, p.resumeSched = p.resumeSched, nil
		return
	}
	f := u.f
	if now := time.Now(); now.After(p.anchor) && !(p.fixedAnchor && p.pass == 0) {
		p.anchor = now
	}
	p.sched = newSchedule(p.anchor, run.cfg.Speed, run.cfg.MaxGap)
	c0 := u.at
	if first := run.sessionFirst(*f); p.shared && !first.IsZero() {
		c0 = first // every shard anchors on the session's first object
		p.sched.begin(first)
	}
	if p.pass != 0 {
		return
	}
	p.c0 = c0
	if run.part.narrows() && f.err == nil && u.piece.key < 0 {
		if first, _ := f.batch.EventRange(); !first.IsZero() {
			p.c0 = first // a part of the session: its first item lands at the start
		}
	}
	p.delta0 = p.anchor.Sub(p.c0)
}

// shifter returns the time shift of u delivered at emit in pass p (nil:
// timestamps as recorded).
func (run *replayRun) shifter(p *passState, u unit, emit time.Time) *shifter {
	switch run.cfg.Timestamps {
	case TimestampsRelative:
		return &shifter{delta: int64(p.delta0 + time.Duration(p.pass)*p.length)}
	case TimestampsCurrent:
		return &shifter{delta: int64(emit.Sub(u.at))}
	}
	return nil
}

// deliverUnit hands u, due at due, to its pipeline, then counts it and
// saves the place.
func (run *replayRun) deliverUnit(ctx, pipelineCtx context.Context, p *passState, u unit, due time.Time, key idKey) error {
	f := u.f
	emit := time.Now()
	late := max(emit.Sub(due), 0)
	paced := run.cfg.Speed > 0 // at speed 0 everything is due at once: lateness means nothing
	if paced {
		run.r.telemetry.ReceiverSessionReplayObjectLateness.Record(context.Background(), late.Seconds())
	}
	sh := run.shifter(p, u, emit)
	// Not ctx: when it ends during the delivery, that delivery settles
	// (no retry follows), and ends with ctx's error.
	n, err := run.deliver(delivery.WithStop(pipelineCtx, ctx), u, sh, key)
	if sh != nil && p.pass == 0 {
		p.events.Merge(sh.seen)
	}
	if err != nil {
		return err
	}
	run.checkpointAfter(p, u)
	p.delivered++
	run.tally.delivered(f.obj.Signal, u.at, due, n, late, paced, u.last)
	if u.last {
		run.r.telemetry.ReceiverSessionReplayObjects.Add(context.Background(), 1,
			metric.WithAttributes(attribute.String("signal", string(f.obj.Signal))))
	}
	return nil
}

// checkpointAfter saves the pass's place once u is done, if an object's end
// is a place to resume after (see unit.checkpoint).
func (run *replayRun) checkpointAfter(p *passState, u unit) {
	if u.checkpoint != nil {
		run.saveCheckpoint(p, u.checkpoint)
	}
}

// timelineLimit is how many objects a replay paced by event time holds to
// order their pieces: one per signal and the next, or read_ahead if more
// (memory: these, besides the read-ahead's own).
func timelineLimit(readAhead int) int { return max(4, readAhead) }

// signalsLastCapture returns, for each signal this run delivers that the
// session holds, the capture time of its last object (far in the future
// where the metadata does not say).
func (run *replayRun) signalsLastCapture() map[sessionstore.Signal]time.Time {
	out := map[sessionstore.Signal]time.Time{}
	for _, sig := range []sessionstore.Signal{sessionstore.SignalTraces, sessionstore.SignalMetrics, sessionstore.SignalLogs} {
		st := run.session.Signals[sig]
		if !run.wants(sig) || st == nil || st.Items == 0 {
			continue
		}
		last := time.Unix(1<<40, 0)
		if st.LastCaptureTime != nil {
			last = *st.LastCaptureTime
		}
		out[sig] = last
	}
	return out
}

// sessionFirst is the time of the session's first object on the pacing
// clock: with pace_by capture_time its first object's capture time (from
// the shared clock), with event_time the start of its event time range;
// zero if unknown.
func (run *replayRun) sessionFirst(f fetched) time.Time {
	if run.pace == PaceByEventTime {
		if m := run.session.EventTimeRange; m != nil {
			return m.Start
		}
		return time.Time{}
	}
	return f.first
}

func (run *replayRun) reportBad(key string, err error, reason string) {
	run.tally.badObject(reason)
	run.r.telemetry.ReceiverSessionReplayBadObjects.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	run.r.set.Logger.Warn("Skipping bad object", zap.String("key", key), zap.String("reason", reason), zap.Error(err))
}

// reasonCounts logs counts by reason as an object, in key order.
type reasonCounts map[string]int64

func (c reasonCounts) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, k := range slices.Sorted(maps.Keys(c)) {
		enc.AddInt64(k, c[k])
	}
	return nil
}

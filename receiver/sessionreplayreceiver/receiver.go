package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// receivers holds one replayReceiver per component ID, shared by the
// traces, metrics and logs pipelines so that one replay merges them all in
// capture order.
var receivers = delivery.NewInstances(newReplayReceiver)

// replayReceiver streams one stored session into the pipelines.
type replayReceiver struct {
	cfg       *Config
	set       receiver.Settings
	telemetry *metadata.TelemetryBuilder
	delivery  *delivery.Deliverer

	host       component.Host // where status goes: every pipeline's host
	storeDown  atomic.Bool    // a store outage was reported and has not ended
	duplicates atomic.Int64   // later copies of objects skipped (same uuid), all passes

	openStore func(context.Context, *sessionstore.Config) (sessionstore.Store, error)
	store     sessionstore.Store
	session   *sessionstore.Metadata
	sessions  []string // the ids of the sessions replayed as one (session's own, or sessions)
	part      *part    // what of the session is replayed
	pace      PaceBy   // pace_by, auto resolved for the session

	// checkpoints is checkpoint.storage's client (nil: no checkpoint);
	// resume is the checkpoint this run goes on from.
	checkpoints       storage.Client
	checkpointFailing bool
	resume            *checkpoint
	seed              [32]byte // keys the id remapping of this run

	// mu guards what the control API reads and begin replaces between
	// replays: cfg, session, part, seed, state, the times, stop, abort,
	// done; and closed.
	mu        sync.Mutex
	baseCfg   *Config // the configuration; cfg is this replay's variant of it
	state     string  // control.Idle, Waiting, Running, Finished, Stopped
	startedAt time.Time
	endedAt   time.Time
	// stop ends the replay between deliveries (the one in flight runs to
	// its outcome); abort ends the one in flight too.
	stop, abort context.CancelFunc
	done        chan struct{} // closed when the replay has ended
	wg          sync.WaitGroup
	// ctlMu orders what starts and stops replays: Start, the control API's
	// StartReplay and StopReplay, and Shutdown (after which closed refuses
	// new replays).
	ctlMu  sync.Mutex
	closed bool // Shutdown has begun
	// unregister removes the receiver from the control API (nil: not registered)
	unregister func()
	// shutdown_when_done: the replays this one waits for, and how it stops
	// the collector (tests replace both)
	completions   *completions
	stopCollector func() error
	held          bool
	watchStop     func() (unwatch func())
	unwatch       func()
	stopped       chan struct{} // closed by Shutdown: the collector is stopping
	result        summary
	prog          progress
}

func newReplayReceiver(set receiver.Settings, cfg *Config) (*replayReceiver, error) {
	r := &replayReceiver{cfg: cfg, baseCfg: cfg, set: set, openStore: sessionstore.Open, done: make(chan struct{}),
		state: control.Idle, completions: processCompletions, stopCollector: signalCollector, watchStop: watchSIGTERM,
		stopped: make(chan struct{})}
	if cfg.ShutdownWhenDone && cfg.Start != StartManual {
		// Counted from its creation: the collector creates every component
		// before it starts any, so a replay that is over before another
		// receiver's start does not stop the collector under it.
		r.completions.hold()
		r.held = true
	}
	r.prog.lateness = &r.result.lateness // one histogram; the progress reporter reads it under its lock
	var err error
	if r.telemetry, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	// Objects are stored OTLP protobuf, so that is the format obsreport sees.
	r.delivery, err = delivery.New(set, delivery.Settings{Transport: "session_store", Format: "otlp_proto",
		Retry: cfg.RetryOnFailure, Dropped: r.telemetry.ReceiverSessionReplayDroppedItems})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Deliverer implements delivery.Receiver.
func (r *replayReceiver) Deliverer() *delivery.Deliverer { return r.delivery }

// pipelineSignals maps stored signals to pipelines.
var pipelineSignals = map[sessionstore.Signal]pipeline.Signal{
	sessionstore.SignalTraces:  pipeline.SignalTraces,
	sessionstore.SignalMetrics: pipeline.SignalMetrics,
	sessionstore.SignalLogs:    pipeline.SignalLogs,
}

func (r *replayReceiver) wants(s sessionstore.Signal) bool { return r.wantsWith(r.cfg, s) }

// wantsWith reports whether a replay with cfg replays signal s: a pipeline
// of it is wired, and cfg.signals lists it (or is empty).
func (r *replayReceiver) wantsWith(cfg *Config, s sessionstore.Signal) bool {
	p, ok := pipelineSignals[s]
	return ok && r.delivery.Wants(p) && (len(cfg.Signals) == 0 || slices.Contains(cfg.Signals, s))
}

// Start opens the store and registers with the control API if configured.
// With start: auto (the default) it then resolves the session (an explicit
// id that does not exist, or no session matching auto, fails here with the
// list of what exists) and starts the replay in the background; with start:
// manual the replay waits for the control API.
func (r *replayReceiver) Start(ctx context.Context, host component.Host) error {
	r.ctlMu.Lock() // no control request acts before the configured replay has begun
	defer r.ctlMu.Unlock()
	r.host = host
	r.delivery.ReportTo(host)
	store, err := r.openStore(ctx, &r.cfg.Store)
	if err != nil {
		return fmt.Errorf("session_replay: open store: %w", err)
	}
	// Every call bounded: a half-open connection fails a read (retried)
	// instead of stalling the replay.
	store = sessionstore.WithTimeout(store, r.cfg.Store.Timeout)
	r.store = store
	if err := r.register(); err != nil {
		return fmt.Errorf("session_replay: %w", err)
	}
	if r.baseCfg.ShutdownWhenDone {
		r.unwatch = r.watchStop()
	}
	if r.cfg.Start == StartManual {
		r.set.Logger.Info("The replay waits to be started through the control API", zap.String("store", store.String()))
		return nil
	}
	var resumed *sessionstore.Metadata
	var seed *[32]byte
	if r.cfg.Checkpoint.Storage != nil {
		cp, err := r.openCheckpoint(ctx, host)
		if err != nil {
			return fmt.Errorf("session_replay: %w", err)
		}
		if cp != nil {
			if why := cp.mismatch(r.cfg); why != "" {
				// Another replay's place (one the control API started, or
				// one from before the configuration changed): this one
				// starts afresh.
				r.set.Logger.Info("Ignoring a replay checkpoint that belongs to another replay; starting afresh",
					zap.String("checkpoint_session", cp.Session), zap.Int("checkpoint_pass", cp.Pass),
					zap.String("checkpoint_after", cp.LastKey), zap.String("reason", why))
				cp = nil
			}
		}
		if cp != nil {
			m, err := sessionstore.ReadMetadata(ctx, store, cp.Session)
			if err != nil {
				r.set.Logger.Warn("The checkpoint's session cannot be read; starting afresh", zap.String("session", cp.Session), zap.Error(err))
			} else {
				r.resume, resumed, seed = cp, m, new([32]byte)
				copy(seed[:], cp.Seed)
			}
		}
	}
	if err := r.begin(ctx, r.cfg, resumed, seed); err != nil {
		return fmt.Errorf("session_replay: %w", err)
	}
	return nil
}

// begin starts a replay with cfg (the configured one, or the control
// API's variant of it) in the background: of session m, or of the session
// cfg selects when m is nil, with the id key seed (nil: derived from cfg).
// No replay may be running.
func (r *replayReceiver) begin(ctx context.Context, cfg *Config, m *sessionstore.Metadata, seed *[32]byte) error {
	ids := []string{}
	switch {
	case m != nil:
		ids = append(ids, m.SessionID)
	case len(cfg.Sessions) > 0 || (cfg.Session == AutoSession && cfg.Selection == SelectionWindow):
		var ms []*sessionstore.Metadata
		var err error
		if len(cfg.Sessions) > 0 {
			ms, err = readSessions(ctx, r.store, cfg.Sessions)
		} else {
			ms, err = selectWindow(ctx, r.store, cfg) // the metadata the listing read: not read again
		}
		if err != nil {
			return err
		}
		for _, s := range ms {
			ids = append(ids, s.SessionID)
		}
		m = mergeMetadata(ms)
	default:
		rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
		sel, err := selectSession(ctx, r.store, cfg, rnd)
		if err != nil {
			return err
		}
		m = sel
		ids = append(ids, m.SessionID)
	}
	pt, err := resolvePart(cfg, m)
	if err != nil {
		return fmt.Errorf("session %s: %w", m.SessionID, err)
	}
	if m.Status != sessionstore.StatusCompleted {
		r.set.Logger.Warn("Replaying a session that did not complete; it may be missing data",
			zap.String("session", m.SessionID), zap.String("status", string(m.Status)))
	}
	// Two contexts: the run's ends the schedule, the listing and retries
	// at a stop; the pipeline's bounds only a Consume call in flight, so
	// that a stop waits for its outcome instead of cancelling a request
	// that may already have been delivered.
	pipelineCtx, abort := context.WithCancel(context.Background())
	runCtx, stop := context.WithCancel(pipelineCtx)
	done := make(chan struct{})
	r.mu.Lock()
	r.cfg, r.session, r.sessions, r.part, r.pace = cfg, m, ids, pt, resolvePace(cfg.PaceBy, m)
	if seed != nil {
		r.seed = *seed
	} else {
		r.seed = idSeed(cfg, m.SessionID)
	}
	r.resetRun()
	r.state, r.startedAt, r.endedAt = control.Waiting, time.Now(), time.Time{}
	r.stop, r.abort, r.done = stop, abort, done
	r.mu.Unlock()
	if cfg.ShutdownWhenDone && !r.held {
		r.completions.hold()
		r.held = true
	}
	r.wg.Go(func() {
		defer close(done)
		r.run(runCtx, pipelineCtx)
	})
	r.set.Logger.Info("Replaying session", zap.String("session", m.SessionID), zap.String("store", r.store.String()),
		zap.Int64("items", m.Items()), zap.Float64("speed", cfg.Speed), zap.Int("loops", cfg.Loops),
		zap.String("timestamps", string(cfg.Timestamps)), zap.String("pace_by", string(r.pace)), zap.Int("copies", cfg.Copies))
	return nil
}

// resetRun clears what the previous replay counted; mu is held and no
// replay runs.
func (r *replayReceiver) resetRun() {
	r.result.passes, r.result.objects, r.result.dropped = 0, 0, 0
	r.result.badObjects.Store(0)
	r.result.items = map[sessionstore.Signal]int64{}
	r.duplicates.Store(0)
	r.prog.mu.Lock()
	r.result.lateness = latencyHist{}
	r.prog.pass, r.prog.objects, r.prog.items, r.prog.bad = 0, 0, 0, nil
	r.prog.passStart, r.prog.lastAt, r.prog.lastDue = time.Time{}, time.Time{}, time.Time{}
	r.prog.mu.Unlock()
}

// idSeed returns the key of regenerate_ids: id_seed's, or for a replay
// several collectors share (sharded, or started together at start_at) one
// every one of them derives from the session id and start_at, or a random
// one for a replay of its own.
func idSeed(cfg *Config, sessionID string) [32]byte {
	switch {
	case cfg.IDSeed != "":
		return sha256.Sum256([]byte("id_seed\x00" + cfg.IDSeed))
	case cfg.Shard.Count > 1 || !cfg.StartAt.IsZero():
		return sha256.Sum256([]byte("session\x00" + sessionID + "\x00" + cfg.StartAt.UTC().Format(time.RFC3339Nano)))
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return seed
}

// Shutdown stops the replay and waits for it; it works without Start.
func (r *replayReceiver) Shutdown(context.Context) error {
	if r.unregister != nil {
		r.unregister()
		r.unregister = nil
	}
	// The collector stops: the delivery in flight too, first, so that a
	// stop that waits for it (holding ctlMu) gives up.
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.stopped)
	}
	abort := r.abort
	r.mu.Unlock()
	if abort != nil {
		abort()
	}
	r.ctlMu.Lock() // waits for a control request in flight
	r.ctlMu.Unlock()
	if r.unwatch != nil {
		r.unwatch()
		r.unwatch = nil
	}
	r.mu.Lock()
	abort = r.abort // a replay a control request began meanwhile
	r.mu.Unlock()
	if abort != nil {
		abort()
	}
	r.wg.Wait()
	err := r.closeCheckpoints()
	if r.store != nil {
		err = errors.Join(err, r.store.Close())
	}
	return err
}

// summary is what a replay did, logged at the end.
type summary struct {
	passes     int
	objects    int64
	badObjects atomic.Int64 // reported by the listing and the pass loop
	items      map[sessionstore.Signal]int64
	dropped    int64
	lateness   latencyHist
}

// run performs the passes, then logs a summary and leaves the receiver
// idle. ctx ends the replay; pipelineCtx is what Consume calls get, and
// ends them (see begin).
func (r *replayReceiver) run(ctx, pipelineCtx context.Context) {
	start := time.Now()
	if r.cfg.StartAt.After(start) {
		start = r.cfg.StartAt
	}
	start = start.Add(r.cfg.StartDelay)
	over, broke := false, false // over by itself; broken off by an error
	defer func() { r.finish(over && !broke) }()
	if !waitutil.SleepUntil(ctx, start) {
		return
	}
	r.setState(control.Running)
	if r.cfg.MaxDuration > 0 {
		// max_duration ends the delivery in flight too, as the collector's
		// shutdown does: a pipeline that does not answer does not hold the
		// replay (and shutdown_when_done) past it.
		end := start.Add(r.cfg.MaxDuration)
		var cancel, cancelPipeline context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, end)
		defer cancel()
		pipelineCtx, cancelPipeline = context.WithDeadline(pipelineCtx, end)
		defer cancelPipeline()
	}
	progCtx, stopProgress := context.WithCancel(ctx)
	var progWG sync.WaitGroup
	progWG.Go(func() { r.reportProgress(progCtx) })
	defer progWG.Wait()
	defer stopProgress()
	p := &passState{anchor: start, fixedAnchor: !r.cfg.StartAt.IsZero(), shared: r.cfg.Shard.Count > 1}
	if p.shared && r.session.EventTimeRange != nil {
		p.sessionEvents = r.session.EventTimeRange.End.Sub(r.session.EventTimeRange.Start)
	}
	if cp := r.resume; cp != nil {
		p.resumeFrom(cp, r.cfg.Speed, r.cfg.MaxGap)
		r.result.passes = cp.Passes
		r.set.Logger.Info("Resuming the replay from its checkpoint", zap.String("session", r.session.SessionID),
			zap.Int("pass", cp.Pass), zap.String("after", cp.LastKey), zap.Time("anchor", cp.Anchor))
	}
	ended := false // on its own: loops done, max_duration, nothing to replay
	empty := false // nothing to replay
	defer func() {
		if ended || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.clearCheckpoint()
		}
	}()
	for pass := p.pass; r.cfg.Loops == 0 || pass < r.cfg.Loops; pass++ {
		p.pass = pass
		if err := r.replayPass(ctx, pipelineCtx, p); err != nil {
			if ctx.Err() == nil { // not shutdown or max_duration: the replay broke
				broke = true
				r.set.Logger.Error("Replay stopped", zap.String("session", r.session.SessionID), zap.Error(err))
				componentstatus.ReportStatus(r.host, componentstatus.NewPermanentErrorEvent(
					fmt.Errorf("session_replay: replay of %s stopped: %w", r.session.SessionID, err)))
			}
			break
		}
		r.result.passes++
		r.telemetry.ReceiverSessionReplayPasses.Add(context.Background(), 1)
		if p.delivered == 0 {
			// Nothing readable for these pipelines (or every object is bad):
			// another pass would only repeat that.
			empty = true
			r.set.Logger.Warn("Session has nothing to replay for the configured pipelines", zap.String("session", r.session.SessionID),
				zap.Int64("objects_seen", p.objects))
			break
		}
		if p.sched != nil {
			p.nextPass(time.Now())
		}
		p.pass, p.resumeAfter = pass+1, nil
		r.saveCheckpoint(p, nil)
	}
	ended = ctx.Err() == nil && !broke
	over = ended || errors.Is(ctx.Err(), context.DeadlineExceeded)
	// why it ended: loops (done), nothing_to_replay, max_duration, error,
	// stopped (the control API or the collector's shutdown)
	endedBy := "stopped"
	switch {
	case broke:
		endedBy = "error"
	case empty:
		endedBy = "nothing_to_replay"
	case ended:
		endedBy = "loops"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		endedBy = "max_duration"
	}
	s := &r.result
	r.set.Logger.Info("Replay finished", zap.String("session", r.session.SessionID), zap.Int("passes", s.passes),
		zap.Int64("objects", s.objects), zap.Int64("bad_objects", s.badObjects.Load()),
		zap.Object("bad_objects_by_reason", reasonCounts(r.prog.badByReason())), zap.Int64("duplicate_objects", r.duplicates.Load()),
		zap.Int64("spans", s.items[sessionstore.SignalTraces]), zap.Int64("data_points", s.items[sessionstore.SignalMetrics]),
		zap.Int64("log_records", s.items[sessionstore.SignalLogs]), zap.Int64("dropped_items", s.dropped),
		zap.Duration("lateness_p50", s.lateness.quantile(0.5)), zap.Duration("lateness_p99", s.lateness.quantile(0.99)),
		zap.Duration("lateness_max", s.lateness.max), zap.Duration("elapsed", time.Since(start)),
		zap.Bool("stopped_early", ctx.Err() != nil), zap.String("ended_by", endedBy))
}

func (r *replayReceiver) replayPass(ctx, pipelineCtx context.Context, p *passState) error {
	p.objects, p.delivered = 0, 0
	r.prog.startPass(p.pass, time.Now())
	key := passKey(r.seed, p.pass)
	passStart := time.Now()
	var passItems int64
	var passLate latencyHist

	listCtx, stopList := context.WithCancel(ctx)
	p.clock = nil
	if p.shared && r.pace == PaceByCaptureTime {
		p.clock = newSchedule(time.Time{}, r.cfg.Speed, r.cfg.MaxGap)
	}
	badKey := func(key string, err error) { r.reportBad(key, err, reasonBadKey) }
	objects, wait := r.prefetch(listCtx, r.objects(listCtx, badKey, p.clock, p.resumeAfter))
	// Deferred calls run last-first: stop the listing and read-ahead, then
	// wait for their goroutines.
	defer wait()
	defer stopList()
	units := byObject(objects)
	if r.pace == PaceByEventTime && r.cfg.Speed > 0 { // at speed 0 nothing waits: objects go whole
		units = eventTimeline(objects, timelineLimit(r.cfg.ReadAhead), r.signalsLastCapture())
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
		if !started && p.resumeSched != nil {
			// Resumed: the pass's schedule goes on where it was.
			p.sched, p.resumeSched = p.resumeSched, nil
		} else if !started {
			// The pass starts when its first object is in hand: listing and
			// reading it must not make the whole pass late.
			if now := time.Now(); now.After(p.anchor) && !(p.fixedAnchor && p.pass == 0) {
				p.anchor = now
			}
			p.sched = newSchedule(p.anchor, r.cfg.Speed, r.cfg.MaxGap)
			c0 := u.at
			if first := r.sessionFirst(*f); p.shared && !first.IsZero() {
				c0 = first // every shard anchors on the session's first object
				p.sched.begin(first)
			}
			if p.pass == 0 {
				p.c0 = c0
				if r.part.narrows() && f.err == nil && u.piece.key < 0 {
					if first, _ := f.batch.EventRange(); !first.IsZero() {
						p.c0 = first // a part of the session: its first item lands at the start
					}
				}
				p.delta0 = p.anchor.Sub(p.c0)
			}
		}
		started = true
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
			r.reportBad(f.obj.Key, f.err, badReason(f.err))
			r.checkpointAfter(p, u)
			continue
		}
		emit := time.Now()
		late := max(emit.Sub(due), 0)
		if r.cfg.Speed > 0 { // at speed 0 everything is due at once: lateness means nothing
			passLate.add(late)
			r.telemetry.ReceiverSessionReplayObjectLateness.Record(context.Background(), late.Seconds())
		}

		var sh *shifter
		switch r.cfg.Timestamps {
		case TimestampsRelative:
			sh = &shifter{delta: int64(p.delta0 + time.Duration(p.pass)*p.length)}
		case TimestampsCurrent:
			sh = &shifter{delta: int64(emit.Sub(u.at))}
		}
		// Not ctx: when it ends during the delivery, that delivery settles
		// (no retry follows), and ends with ctx's error.
		n, err := r.deliver(delivery.WithStop(pipelineCtx, ctx), u, sh, key)
		if sh != nil && p.pass == 0 {
			p.events.Merge(sh.seen)
		}
		if err != nil {
			return err
		}
		r.checkpointAfter(p, u)
		passItems += int64(n)
		r.prog.delivered(u.at, due, n, late, r.cfg.Speed > 0, u.last)
		p.delivered++
		r.result.items[f.obj.Signal] += int64(n)
		if u.last {
			r.result.objects++
			r.telemetry.ReceiverSessionReplayObjects.Add(context.Background(), 1,
				metric.WithAttributes(attribute.String("signal", string(f.obj.Signal))))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.telemetry.ReceiverSessionReplayProgress.Record(context.Background(), 1)
	r.telemetry.ReceiverSessionReplayEta.Record(context.Background(), 0)
	r.set.Logger.Info("Replay pass finished", zap.String("session", r.session.SessionID), zap.Int("pass", p.pass),
		zap.Int64("objects", p.objects), zap.Int64("items", passItems), zap.Duration("elapsed", time.Since(passStart)),
		zap.Duration("lateness_p99", passLate.quantile(0.99)), zap.Duration("lateness_max", passLate.max))
	return nil
}

// checkpointAfter saves the pass's place once u is done, if an object's end
// is a place to resume after (see unit.checkpoint).
func (r *replayReceiver) checkpointAfter(p *passState, u unit) {
	if u.checkpoint != nil {
		r.saveCheckpoint(p, u.checkpoint)
	}
}

// timelineLimit is how many objects a replay paced by event time holds to
// order their pieces: one per signal and the next, or read_ahead if more
// (memory: these, besides the read-ahead's own).
func timelineLimit(readAhead int) int { return max(4, readAhead) }

// signalsLastCapture returns, for each signal this replay delivers that
// the session holds, the capture time of its last object (far in the
// future where the metadata does not say).
func (r *replayReceiver) signalsLastCapture() map[sessionstore.Signal]time.Time {
	out := map[sessionstore.Signal]time.Time{}
	for _, sig := range []sessionstore.Signal{sessionstore.SignalTraces, sessionstore.SignalMetrics, sessionstore.SignalLogs} {
		st := r.session.Signals[sig]
		if !r.wants(sig) || st == nil || st.Items == 0 {
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
func (r *replayReceiver) sessionFirst(f fetched) time.Time {
	if r.pace == PaceByEventTime {
		if m := r.session.EventTimeRange; m != nil {
			return m.Start
		}
		return time.Time{}
	}
	return f.first
}

func (r *replayReceiver) reportBad(key string, err error, reason string) {
	r.result.badObjects.Add(1)
	r.prog.badObject(reason)
	r.telemetry.ReceiverSessionReplayBadObjects.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	r.set.Logger.Warn("Skipping bad object", zap.String("key", key), zap.String("reason", reason), zap.Error(err))
}

// reasonCounts logs counts by reason as an object, in key order.
type reasonCounts map[string]int64

func (c reasonCounts) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, k := range slices.Sorted(maps.Keys(c)) {
		enc.AddInt64(k, c[k])
	}
	return nil
}

// deliver hands one unit (an object, or a piece of one) to its pipeline
// through the receivers' one delivery loop, copies times (each copy with
// its own ids and service.instance.id), each as one request or, above
// max_request_items or max_request_bytes, as several (split.go), one after
// another: every attempt gets the object decoded afresh, cut into its
// piece, transformed and cut into requests the same way (the first attempt
// of the last copy takes the prefetched batch itself), so a retry sends
// what was stored. With the default retry_on_failure the replay waits for
// the pipeline, it never drops; a permanent error drops the request
// (counted). It returns the items accepted.
func (r *replayReceiver) deliver(ctx context.Context, u unit, sh *shifter, pass idKey) (int, error) {
	f, original := u.f, u.batch()
	copies := r.cfg.Copies
	accepted := 0
	for c := range copies {
		s := sh
		if c > 0 && sh != nil {
			s = &shifter{delta: sh.delta} // the first copy's records the events seen
		}
		ids := r.copyIDs(pass, c)
		requests := func(a delivery.Attempt) ([]sessionstore.Batch, error) {
			var b sessionstore.Batch
			switch {
			case a.N == 0 && c == copies-1:
				b = original
			case a.N == 0:
				b = cloneBatch(original)
			default:
				var err error
				if b, err = r.decode(f.obj, f.compressed); err != nil {
					return nil, err // decoded fine the first time: cannot happen
				}
				if u.piece.key >= 0 {
					b = pieceOf(b, u.piece.key)
				}
				if s != nil {
					s = &shifter{delta: s.delta}
				}
			}
			r.transform(b, s, ids)
			if copies > 1 {
				setInstance(b, c)
			}
			return split(b, r.cfg.MaxRequestItems, int64(r.cfg.MaxRequestBytes)), nil
		}
		n, err := r.send(ctx, f.obj, requests)
		accepted += n
		if err != nil {
			return accepted, err
		}
	}
	return accepted, nil
}

// send delivers the requests requests(attempt) makes, one after another;
// a retry of one asks for all afresh and sends its own again.
func (r *replayReceiver) send(ctx context.Context, obj sessionstore.Object, requests func(delivery.Attempt) ([]sessionstore.Batch, error)) (int, error) {
	first, err := requests(delivery.Attempt{})
	if err != nil {
		return 0, err
	}
	key := zap.String("key", obj.Key)
	accepted := 0
	for i := range first {
		request := func(a delivery.Attempt) (sessionstore.Batch, error) {
			if a.N == 0 {
				return first[i], nil
			}
			again, err := requests(a)
			if err != nil {
				return sessionstore.Batch{}, err
			}
			return again[i], nil
		}
		var out delivery.Outcome
		switch obj.Signal {
		case sessionstore.SignalTraces:
			out, err = r.delivery.Traces(ctx, func(a delivery.Attempt) (ptrace.Traces, error) { b, err := request(a); return b.Traces, err }, key)
		case sessionstore.SignalMetrics:
			out, err = r.delivery.Metrics(ctx, func(a delivery.Attempt) (pmetric.Metrics, error) { b, err := request(a); return b.Metrics, err }, key)
		case sessionstore.SignalLogs:
			out, err = r.delivery.Logs(ctx, func(a delivery.Attempt) (plog.Logs, error) { b, err := request(a); return b.Logs, err }, key)
		}
		r.result.dropped += int64(out.Dropped)
		accepted += out.Accepted
		if err != nil {
			return accepted, err
		}
	}
	return accepted, nil
}

// storeFailing reports, once per outage, that the store keeps failing: the
// replay waits for it, and every pipeline's status says why until it
// answers again.
func (r *replayReceiver) storeFailing(err error) {
	if r.storeDown.CompareAndSwap(false, true) {
		componentstatus.ReportStatus(r.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("session store: %w", err)))
	}
}

// storeAnswered ends a reported store outage.
func (r *replayReceiver) storeAnswered() {
	if r.storeDown.CompareAndSwap(true, false) {
		componentstatus.ReportStatus(r.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

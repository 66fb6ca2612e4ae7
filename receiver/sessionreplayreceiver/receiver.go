package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// receivers holds one replayReceiver per component ID, shared by the
// traces, metrics and logs pipelines so that one replay merges them all in
// capture order.
var receivers = delivery.NewInstances(newReplayReceiver)

// replayReceiver streams stored sessions into the pipelines, one run at a
// time (replayRun): the run the configuration starts, then those the
// control API starts and stops. What lasts from Start to Shutdown is here;
// what belongs to one run is in the run.
type replayReceiver struct {
	cfg       *Config // the configuration; a run replays it or the control API's variant of it
	set       receiver.Settings
	telemetry *metadata.TelemetryBuilder
	delivery  *delivery.Deliverer

	host component.Host // the host started with (its extensions); status goes through delivery.Health

	openStore func(context.Context, *sessionstore.Config) (sessionstore.Store, error)
	store     sessionstore.Store
	// checkpoints is checkpoint.storage's client (nil: no checkpoint), and
	// whether writing to it has failed (warned once).
	checkpoints       storage.Client
	checkpointFailing bool

	// mu guards run (the current or last run; nil before the first), the
	// run's state and times, and closed.
	mu     sync.Mutex
	run    *replayRun
	closed bool // Shutdown has begun
	wg     sync.WaitGroup
	// ctlMu orders what starts and stops runs: Start, the control API's
	// StartReplay and StopReplay, and Shutdown.
	ctlMu sync.Mutex
	// unregister removes the receiver from the control API (nil: not registered)
	unregister func()
	// shutdown_when_done: the replays this one waits for, whether this
	// receiver holds the collector, and how it stops it (tests replace
	// completions, stopCollector and watchStop)
	completions   *completions
	held          bool
	stopCollector func() error
	watchStop     func() (unwatch func())
	unwatch       func()
	stopped       chan struct{} // closed by Shutdown: the collector is stopping
}

func newReplayReceiver(set receiver.Settings, cfg *Config) (*replayReceiver, error) {
	r := &replayReceiver{cfg: cfg, set: set, openStore: sessionstore.Open, completions: processCompletions, stopCollector: signalCollector, watchStop: watchSIGTERM,
		stopped: make(chan struct{})}
	if cfg.ShutdownWhenDone && cfg.Start != StartManual {
		// Counted from its creation: the collector creates every component
		// before it starts any, so a replay that is over before another
		// receiver's start does not stop the collector under it.
		r.completions.hold()
		r.held = true
	}
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
	if r.cfg.ShutdownWhenDone {
		r.unwatch = r.watchStop()
	}
	if r.cfg.Start == StartManual {
		r.set.Logger.Info("The replay waits to be started through the control API", zap.String("store", store.String()))
		return nil
	}
	var resumed *sessionstore.Metadata
	var resume *checkpoint
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
				resume, resumed = cp, m
			}
		}
	}
	if err := r.begin(ctx, r.cfg, resumed, resume); err != nil {
		return fmt.Errorf("session_replay: %w", err)
	}
	return nil
}

// begin starts a run with cfg (the configured one, or the control API's
// variant of it) in the background: of session m, or of the session cfg
// selects when m is nil; from checkpoint cp (nil: from the start). No run
// may be going on.
func (r *replayReceiver) begin(ctx context.Context, cfg *Config, m *sessionstore.Metadata, cp *checkpoint) error {
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
	run := &replayRun{r: r, cfg: cfg, session: m, sessions: ids, part: pt, pace: resolvePace(cfg.PaceBy, m),
		resume: cp, tally: newTally(), stop: stop, abort: abort, done: make(chan struct{}),
		state: control.Waiting, startedAt: time.Now()}
	if cp != nil {
		copy(run.seed[:], cp.Seed)
	} else {
		run.seed = idSeed(cfg, m.SessionID)
	}
	r.mu.Lock()
	r.run = run
	r.mu.Unlock()
	if cfg.ShutdownWhenDone && !r.held {
		r.completions.hold()
		r.held = true
	}
	r.wg.Go(func() {
		defer close(run.done)
		run.execute(runCtx, pipelineCtx)
	})
	r.set.Logger.Info("Replaying session", zap.String("session", m.SessionID), zap.String("store", r.store.String()),
		zap.Int64("items", m.Items()), zap.Float64("speed", cfg.Speed), zap.Int("loops", cfg.Loops),
		zap.String("timestamps", string(cfg.Timestamps)), zap.String("pace_by", string(run.pace)), zap.Int("copies", cfg.Copies))
	return nil
}

// current returns the current (or last) run; nil before the first.
func (r *replayReceiver) current() *replayRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run
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
	run := r.run
	r.mu.Unlock()
	if run != nil {
		run.abort()
	}
	r.ctlMu.Lock() // waits for a control request in flight
	r.ctlMu.Unlock()
	if r.unwatch != nil {
		r.unwatch()
		r.unwatch = nil
	}
	if run := r.current(); run != nil { // a run a control request began meanwhile
		run.abort()
	}
	r.wg.Wait()
	err := r.closeCheckpoints()
	if r.store != nil {
		err = errors.Join(err, r.store.Close())
	}
	return err
}

// storeFailing reports, once per outage, that the store keeps failing:
// the replay waits for it, and the component's status says why until it
// answers again (and nothing else is wrong).
func (r *replayReceiver) storeFailing(err error) {
	r.delivery.Health().Fail("session store", err)
}

// storeAnswered ends a reported store outage.
func (r *replayReceiver) storeAnswered() { r.delivery.Health().Recover("session store") }

package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

// receivers holds one replayReceiver per component ID, shared by the
// traces, metrics and logs pipelines so that one replay merges them all in
// capture order.
var receivers = sharedcomponent.NewMap[component.ID, *replayReceiver]()

type sharedReceiver = sharedcomponent.Component[*replayReceiver]

// replayReceiver streams one stored session into the pipelines.
type replayReceiver struct {
	cfg       *Config
	set       receiver.Settings
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder

	mu          sync.Mutex
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs

	openStore func(context.Context, *sessionstore.Config) (sessionstore.Store, error)
	store     sessionstore.Store
	session   *sessionstore.Metadata
	seed      [32]byte // keys the id remapping of this run

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when the replay has ended (for tests)
	result summary
}

func newReplayReceiver(set receiver.Settings, cfg *Config) (*replayReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "session_store", LongLivedCtx: true, ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	r := &replayReceiver{cfg: cfg, set: set, obs: obs, telemetry: tb, openStore: sessionstore.Open, done: make(chan struct{})}
	_, _ = crand.Read(r.seed[:])
	return r, nil
}

func (r *replayReceiver) wants(s sessionstore.Signal) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch s {
	case sessionstore.SignalTraces:
		return r.nextTraces != nil
	case sessionstore.SignalMetrics:
		return r.nextMetrics != nil
	case sessionstore.SignalLogs:
		return r.nextLogs != nil
	}
	return false
}

// Start resolves the session (an explicit id that does not exist, or no
// session matching auto, fails here with the list of what exists) and
// starts the replay in the background.
func (r *replayReceiver) Start(ctx context.Context, _ component.Host) error {
	store, err := r.openStore(ctx, &r.cfg.Store)
	if err != nil {
		return fmt.Errorf("session_replay: open store: %w", err)
	}
	r.store = store
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	m, err := selectSession(ctx, store, r.cfg, rnd)
	if err != nil {
		return fmt.Errorf("session_replay: %w", err)
	}
	r.session = m
	if m.Status != sessionstore.StatusCompleted {
		r.set.Logger.Warn("Replaying a session that did not complete; it may be missing data",
			zap.String("session", m.SessionID), zap.String("status", string(m.Status)))
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		defer close(r.done)
		r.run(runCtx)
	})
	r.set.Logger.Info("Replaying session", zap.String("session", m.SessionID), zap.String("store", store.String()),
		zap.Int64("items", m.Items()), zap.Float64("speed", r.cfg.Speed), zap.Int("loops", r.cfg.Loops),
		zap.String("timestamps", string(r.cfg.Timestamps)))
	return nil
}

// Shutdown stops the replay and waits for it; it works without Start.
func (r *replayReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.store != nil {
		return r.store.Close()
	}
	return nil
}

// summary is what a replay did, logged at the end.
type summary struct {
	passes     int
	objects    int64
	badObjects int64
	items      map[sessionstore.Signal]int64
	dropped    int64
	lateness   latencyHist
}

// run performs the passes, then logs a summary and leaves the receiver idle.
func (r *replayReceiver) run(ctx context.Context) {
	r.result.items = map[sessionstore.Signal]int64{}
	start := time.Now()
	if r.cfg.StartAt != "" {
		if at, err := time.Parse(time.RFC3339, r.cfg.StartAt); err == nil && at.After(start) {
			start = at
		}
	}
	start = start.Add(r.cfg.StartDelay)
	if !waitutil.SleepUntil(ctx, start) {
		return
	}
	if r.cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(r.cfg.MaxDuration))
		defer cancel()
	}
	p := &passState{anchor: start, fixedAnchor: r.cfg.StartAt != ""}
	for pass := 0; r.cfg.Loops == 0 || pass < r.cfg.Loops; pass++ {
		p.pass = pass
		if err := r.replayPass(ctx, p); err != nil {
			break
		}
		r.result.passes++
		r.telemetry.ReceiverSessionReplayPasses.Add(context.Background(), 1)
		if p.delivered == 0 {
			// Nothing readable for these pipelines (or every object is bad):
			// another pass would only repeat that.
			r.set.Logger.Warn("Session has nothing to replay for the configured pipelines", zap.String("session", r.session.SessionID),
				zap.Int64("objects_seen", p.objects))
			break
		}
		if p.sched != nil {
			p.nextPass(time.Now())
		}
	}
	s := &r.result
	r.set.Logger.Info("Replay finished", zap.String("session", r.session.SessionID), zap.Int("passes", s.passes),
		zap.Int64("objects", s.objects), zap.Int64("bad_objects", s.badObjects),
		zap.Int64("spans", s.items[sessionstore.SignalTraces]), zap.Int64("data_points", s.items[sessionstore.SignalMetrics]),
		zap.Int64("log_records", s.items[sessionstore.SignalLogs]), zap.Int64("dropped_items", s.dropped),
		zap.Duration("lateness_p50", s.lateness.quantile(0.5)), zap.Duration("lateness_p99", s.lateness.quantile(0.99)),
		zap.Duration("lateness_max", s.lateness.max), zap.Duration("elapsed", time.Since(start)),
		zap.Bool("stopped_early", ctx.Err() != nil))
}

// passState carries what one pass needs from the ones before it.
type passState struct {
	pass      int
	anchor    time.Time // W_k: when the pass's first object is due
	sched     *schedule
	objects   int64 // objects of this pass, bad ones included
	delivered int64 // objects of this pass handed to the pipeline
	// fixedAnchor keeps W_0 at start_at even if the first object is late,
	// so that shards started together stay on one schedule.
	fixedAnchor bool

	// Fixed by pass 0, for `relative` loops.
	c0     time.Time     // capture time of the session's first replayed object
	delta0 time.Duration // W_0 - c_0
	length time.Duration // session length: pass k is shifted k lengths further
	evLo   pcommon.Timestamp
	evHi   pcommon.Timestamp
}

// nextPass fixes the session length after pass 0 and anchors the next pass.
func (p *passState) nextPass(now time.Time) {
	if p.pass == 0 {
		span := p.sched.prev.Sub(p.sched.first)
		if p.evHi > p.evLo {
			span = max(span, time.Duration(p.evHi-p.evLo))
		}
		p.length = span + time.Millisecond
	}
	p.anchor = p.sched.next(p.length, now)
}

func (r *replayReceiver) replayPass(ctx context.Context, p *passState) error {
	p.objects, p.delivered = 0, 0
	key := passKey(r.seed, p.pass)
	passStart := time.Now()
	var passItems int64
	var passLate latencyHist

	listCtx, stopList := context.WithCancel(ctx)
	defer stopList()
	objects, wait := r.prefetch(listCtx, r.objects(listCtx, r.session.SessionID, r.reportBad))
	defer wait()
	defer stopList()
	for f := range objects {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.objects == 0 {
			// The pass starts when its first object is in hand: listing and
			// reading it must not make the whole pass late.
			if now := time.Now(); now.After(p.anchor) && !(p.fixedAnchor && p.pass == 0) {
				p.anchor = now
			}
			p.sched = newSchedule(p.anchor, r.cfg.Speed, r.cfg.MaxGap)
			if p.pass == 0 {
				p.c0 = f.obj.CaptureTime
				p.delta0 = p.anchor.Sub(p.c0)
			}
		}
		p.objects++
		due := p.sched.due(f.obj.CaptureTime)
		if !waitutil.SleepUntil(ctx, due) {
			return ctx.Err()
		}
		if f.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.reportBad(f.obj.Key, f.err)
			continue
		}
		emit := time.Now()
		if r.cfg.Speed > 0 { // at speed 0 everything is due at once: lateness means nothing
			late := max(emit.Sub(due), 0)
			r.result.lateness.add(late)
			passLate.add(late)
			r.telemetry.ReceiverSessionReplayLateness.Record(context.Background(), late.Seconds())
			r.telemetry.ReceiverSessionReplayLatenessH.Record(context.Background(), late.Seconds())
		}

		var sh *shifter
		switch r.cfg.Timestamps {
		case TimestampsRelative:
			sh = &shifter{delta: int64(p.delta0 + time.Duration(p.pass)*p.length)}
		case TimestampsCurrent:
			sh = &shifter{delta: int64(emit.Sub(f.obj.CaptureTime))}
		}
		var ids *idKey
		if r.cfg.RegenerateIDs {
			ids = &key
		}
		n, err := r.deliver(ctx, &f, sh, ids)
		if sh != nil && p.pass == 0 {
			if p.evLo == 0 || (sh.lo != 0 && sh.lo < p.evLo) {
				p.evLo = sh.lo
			}
			p.evHi = max(p.evHi, sh.hi)
		}
		if err != nil {
			return err
		}
		passItems += int64(n)
		p.delivered++
		r.result.objects++
		r.result.items[f.obj.Signal] += int64(n)
		attrs := metric.WithAttributes(attribute.String("signal", string(f.obj.Signal)))
		r.telemetry.ReceiverSessionReplayObjects.Add(context.Background(), 1, attrs)
		r.telemetry.ReceiverSessionReplayItems.Add(context.Background(), int64(n), attrs)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.set.Logger.Info("Replay pass finished", zap.String("session", r.session.SessionID), zap.Int("pass", p.pass),
		zap.Int64("objects", p.objects), zap.Int64("items", passItems), zap.Duration("elapsed", time.Since(passStart)),
		zap.Duration("lateness_p99", passLate.quantile(0.99)), zap.Duration("lateness_max", passLate.max))
	return nil
}

func (r *replayReceiver) reportBad(key string, err error) {
	r.result.badObjects++
	r.telemetry.ReceiverSessionReplayBadObjects.Add(context.Background(), 1)
	r.set.Logger.Warn("Skipping bad object", zap.String("key", key), zap.Error(err))
}

// transform applies the services filter, the time shift and the id
// remapping to a freshly decoded batch; it returns the items left.
func (r *replayReceiver) transform(b sessionstore.Batch, sh *shifter, ids *idKey) int {
	if len(r.cfg.Services) > 0 {
		filterServices(b, r.cfg.Services)
	}
	switch b.Signal {
	case sessionstore.SignalTraces:
		if sh != nil {
			sh.shiftTraces(b.Traces)
		}
		if ids != nil {
			ids.remapTraces(b.Traces)
		}
	case sessionstore.SignalMetrics:
		if sh != nil {
			sh.shiftMetrics(b.Metrics)
		}
		if ids != nil {
			ids.remapMetrics(b.Metrics)
		}
	case sessionstore.SignalLogs:
		if sh != nil {
			sh.shiftLogs(b.Logs)
		}
		if ids != nil {
			ids.remapLogs(b.Logs)
		}
	}
	return b.ItemCount()
}

// deliver hands one object to its pipeline. A non-permanent error retries
// the same data (decoded afresh, transformed the same way) with backoff
// until it is accepted or the replay stops: replay waits, it never drops. A
// permanent error is counted and the object skipped.
func (r *replayReceiver) deliver(ctx context.Context, f *fetched, sh *shifter, ids *idKey) (int, error) {
	bo := pipelineBackoff(r.cfg.Backoff)
	b := f.batch
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if b, err = r.decode(f.obj, f.compressed); err != nil {
				return 0, err // decoded fine the first time: cannot happen
			}
			if sh != nil {
				sh = &shifter{delta: sh.delta}
			}
		}
		n := r.transform(b, sh, ids)
		if n == 0 {
			return 0, nil
		}
		err := r.consume(ctx, b, n)
		if err == nil {
			return n, nil
		}
		if consumererror.IsPermanent(err) {
			r.result.dropped += int64(n)
			r.telemetry.ReceiverSessionReplayDropped.Add(context.Background(), int64(n),
				metric.WithAttributes(attribute.String("signal", string(f.obj.Signal))))
			r.set.Logger.Debug("Pipeline refused object permanently; skipped", zap.String("key", f.obj.Key), zap.Error(err))
			return 0, nil
		}
		r.set.Logger.Debug("Pipeline refused object; retrying", zap.String("key", f.obj.Key), zap.Error(err))
		if werr := bo.Wait(ctx); werr != nil {
			return 0, werr
		}
	}
}

func (r *replayReceiver) consume(ctx context.Context, b sessionstore.Batch, n int) error {
	r.mu.Lock()
	nt, nm, nl := r.nextTraces, r.nextMetrics, r.nextLogs
	r.mu.Unlock()
	switch b.Signal {
	case sessionstore.SignalTraces:
		octx := r.obs.StartTracesOp(ctx)
		err := nt.ConsumeTraces(octx, b.Traces)
		r.obs.EndTracesOp(octx, "otlp_proto", n, err)
		return err
	case sessionstore.SignalMetrics:
		octx := r.obs.StartMetricsOp(ctx)
		err := nm.ConsumeMetrics(octx, b.Metrics)
		r.obs.EndMetricsOp(octx, "otlp_proto", n, err)
		return err
	case sessionstore.SignalLogs:
		octx := r.obs.StartLogsOp(ctx)
		err := nl.ConsumeLogs(octx, b.Logs)
		r.obs.EndLogsOp(octx, "otlp_proto", n, err)
		return err
	}
	return errors.New("unknown signal")
}

// filterServices keeps the resources whose service.name is listed.
func filterServices(b sessionstore.Batch, services []string) {
	keep := func(res pcommon.Resource) bool {
		v, ok := res.Attributes().Get("service.name")
		return ok && slices.Contains(services, v.AsString())
	}
	switch b.Signal {
	case sessionstore.SignalTraces:
		b.Traces.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool { return !keep(rs.Resource()) })
	case sessionstore.SignalMetrics:
		b.Metrics.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool { return !keep(rm.Resource()) })
	case sessionstore.SignalLogs:
		b.Logs.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool { return !keep(rl.Resource()) })
	}
}

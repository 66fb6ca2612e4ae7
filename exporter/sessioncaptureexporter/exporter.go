package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// exporters holds one captureExporter per component ID, shared by the
// traces, metrics and logs pipelines, so that one session and one
// metadata.json see every signal.
var exporters = sharedcomponent.NewMap[component.ID, *captureExporter]()

type sharedExporter = sharedcomponent.Component[*captureExporter]

func getOrCreate(set exporter.Settings, cfg *Config) (*sharedExporter, error) {
	return exporters.LoadOrStore(set.ID, func() (*captureExporter, error) {
		return newCaptureExporter(set, cfg)
	})
}

// housekeepingInterval is how often rotation is checked and due metadata
// written; metadata_interval decides how often an active session's
// metadata.json is actually rewritten.
const housekeepingInterval = time.Second

// captureExporter writes batches into sessions of the store.
type captureExporter struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	openStore func(context.Context, *sessionstore.Config) (sessionstore.Store, error)
	store     sessionstore.Store
	encoder   *sessionstore.Encoder
	sessions  *sessionManager
	// arrivals stamps requests as they are accepted; startedAt tells a
	// batch accepted before this start (delivered again by a persistent
	// queue) from a new one.
	arrivals  *arrivals
	startedAt time.Time

	plansMu sync.Mutex
	plans   map[any]*batchPlan
	planTTL time.Duration // 0: keep plans until they succeed

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	host   component.Host

	// gate drops what arrives while paused through the control API;
	// unregister removes the exporter from it (nil: not registered).
	gate       *gate
	unregister func()
	// ctlMu orders the control API's new sessions and Shutdown: after
	// closed, no new session opens (it would never be completed).
	ctlMu  sync.Mutex
	closed bool
}

// batchPlan remembers, for one batch, which object key each of its parts
// gets and which parts are stored. exporterhelper retries a batch with the
// same pdata value, so the plan is found again on retry: keys are chosen
// once and a retry overwrites rather than duplicates, and parts already
// stored (and counted) are not written again.
type batchPlan struct {
	created     time.Time
	captureTime time.Time // for data without an arrival stamp
	items       int64     // guards against a different batch reusing the same pdata memory
	// arrivals are the batch's arrival stamps, one per resource, taken off
	// the data on the first attempt.
	arrivals []arrival
	targets  map[string]*planTarget
	// signal and parts are kept after an attempt that may succeed on
	// retry, so that Shutdown can still store the batch when exporterhelper
	// has given up on it.
	signal sessionstore.Signal
	parts  []part
}

type planTarget struct {
	session     *session
	key         string
	captureTime time.Time
	// redelivered: the part was accepted before this start, so it may have
	// been stored before (and counted by the recount of its session).
	redelivered bool
	done        bool
	signal      sessionstore.Signal
	items       int64
	settled     bool // the session no longer counts this batch as pending
}

// settle ends the target's pending count in its session, once.
func (t *planTarget) settle() {
	if !t.settled {
		t.settled = true
		t.session.endPending(t.signal, t.items)
	}
}

func newCaptureExporter(set exporter.Settings, cfg *Config) (*captureExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	e := &captureExporter{
		cfg:       cfg,
		set:       set,
		telemetry: tb,
		now:       time.Now,
		openStore: sessionstore.Open,
		plans:     map[any]*batchPlan{},
		kick:      make(chan struct{}, 1),
	}
	e.arrivals = newArrivals(func() time.Time { return e.now() })
	e.gate = &gate{onDrop: e.countPaused}
	if cfg.RetryConfig.Enabled && cfg.RetryConfig.MaxElapsedTime > 0 {
		e.planTTL = cfg.RetryConfig.MaxElapsedTime + cfg.RetryConfig.MaxInterval + cfg.TimeoutConfig.Timeout + time.Minute
	}
	return e, nil
}

// writerID names this exporter among the writers of a session:
// session.writer_id, or the host name and the component id. It must stay
// the same across restarts of the collector, so that a restarted writer
// goes on with its own counts.
func (e *captureExporter) writerID() string {
	if e.cfg.Session.WriterID != "" {
		return e.cfg.Session.WriterID
	}
	host, _ := os.Hostname()
	return safeWriterID(host + "-" + e.set.ID.String())
}

// safeWriterID maps s onto the session id rules (which writer ids follow).
func safeWriterID(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	id := strings.Trim(string(b), "._-")
	if len(id) > sessionstore.MaxSessionIDLen {
		id = id[:sessionstore.MaxSessionIDLen]
	}
	if sessionstore.ValidateSessionID(id) != nil {
		return "writer-" + strings.Trim(id, ".")
	}
	return id
}

func (e *captureExporter) createdBy() string {
	host, _ := os.Hostname()
	cmd := e.set.BuildInfo.Command
	if cmd == "" {
		cmd = "otelcol-recordreplay"
	}
	version := e.set.BuildInfo.Version
	if version == "" {
		version = "dev"
	}
	return fmt.Sprintf("%s/%s %s %s", cmd, version, e.set.ID, host)
}

// Start opens the store and the first session. An unreachable store does
// not stop the collector (data queues and is retried); a store that can
// never work (no such bucket, access denied, bad settings) does.
func (e *captureExporter) Start(ctx context.Context, host component.Host) error {
	e.host = host
	e.startedAt = e.now().UTC().Truncate(time.Millisecond) // as arrivals are
	logger := e.set.Logger
	store, err := e.openStore(ctx, &e.cfg.Store)
	if err != nil {
		return fmt.Errorf("session_capture: open store: %w", err)
	}
	// Every call bounded: a hung store must not freeze housekeeping or,
	// through it, the pushes.
	store = sessionstore.WithTimeout(store, e.cfg.Store.Timeout)
	enc, err := sessionstore.NewEncoder(e.cfg.CompressionLevel)
	if err != nil {
		_ = store.Close()
		return fmt.Errorf("session_capture: %w", err)
	}
	e.store, e.encoder = store, enc

	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := store.Ping(pingCtx); err != nil {
		if sessionstore.IsPermanent(err) {
			return fmt.Errorf("session_capture: store %s: %w", store, err)
		}
		logger.Warn("Session store not reachable yet; data is queued and retried", zap.String("store", store.String()), zap.Error(err))
	}

	e.sessions = newSessionManager(store, &e.cfg.Session, e.writerID(), e.createdBy(), logger, e.now, func(reason string) {
		e.telemetry.ExporterSessionCaptureSessions.Add(context.Background(), 1,
			metric.WithAttributes(attribute.String("reason", reason)))
		e.wake() // write the new session's metadata.json (active) right away
	})
	e.sessions.queued = e.arrivals.waiting

	if err := e.register(); err != nil {
		_ = store.Close()
		return fmt.Errorf("session_capture: %w", err)
	}

	loopCtx, loopCancel := context.WithCancel(context.Background())
	e.cancel = loopCancel
	e.wg.Go(func() { e.housekeeping(loopCtx) })
	logger.Info("Capturing into session store; a session opens with the first data", zap.String("store", store.String()))
	return nil
}

// housekeeping rotates the own session and writes due metadata until ctx ends.
func (e *captureExporter) housekeeping(ctx context.Context) {
	first := housekeepingInterval
	if d := e.sessions.untilRotation(); d >= 0 && d < first {
		first = d
	}
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.kick:
		}
		if reason := e.sessions.rotationDue(); reason != "" {
			e.sessions.rotate(reason)
		}
		e.sessions.closeIdle()
		if err := e.sessions.flush(ctx, e.cfg.MetadataInterval, false); err != nil && ctx.Err() == nil {
			e.set.Logger.Warn("Could not write session metadata; will retry", zap.Error(err))
			componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
		}
		e.sweepPlans()
		// Wake at the next tick, or exactly when the own session is due to
		// rotate if that comes first.
		wait := housekeepingInterval
		if d := e.sessions.untilRotation(); d >= 0 && d < wait {
			wait = d
		}
		timer.Reset(wait)
	}
}

func (e *captureExporter) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Shutdown runs after every pipeline's queue has drained: it closes all
// sessions (completed, or failed if data was lost) and writes their final
// metadata. It works without Start and returns within ctx.
func (e *captureExporter) Shutdown(ctx context.Context) error {
	if e.unregister != nil {
		e.unregister()
		e.unregister = nil
	}
	e.ctlMu.Lock() // waits for a new session in flight
	e.closed = true
	e.ctlMu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	var err error
	if e.sessions != nil {
		if ferr := e.finish(ctx); ferr != nil {
			err = fmt.Errorf("session_capture: final metadata: %w", ferr)
		}
	}
	if e.store != nil {
		err = errors.Join(err, e.store.Close())
	}
	return err
}

// finish runs after exporterhelper has drained its queue and abandoned
// the batches waiting for a retry: it keeps trying those, then closes every
// session and writes the final metadata, within shutdown_timeout. The
// metadata keeps at least a quarter of it, so that a session that lost
// data can still say so. shutdown_timeout 0: one attempt each, within ctx.
func (e *captureExporter) finish(ctx context.Context) error {
	once := e.cfg.ShutdownTimeout <= 0
	end := time.Now().Add(e.cfg.ShutdownTimeout)
	rctx, mctx := ctx, ctx
	if !once {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, end.Add(-e.cfg.ShutdownTimeout/4))
		defer cancel()
	}
	e.storeRetained(rctx, once)
	e.sessions.closeAll()
	if !once {
		var cancel context.CancelFunc
		mctx, cancel = context.WithDeadline(ctx, latest(end, time.Now().Add(e.cfg.ShutdownTimeout/4)))
		defer cancel()
	}
	return e.finalMetadata(mctx, once)
}

// storeRetained stores the batches still waiting for a retry (parts not
// stored yet, sessions not even opened yet), with backoff, until all are
// stored or ctx ends; what is left counts as lost in the final metadata.
func (e *captureExporter) storeRetained(ctx context.Context, once bool) {
	bo := waitutil.NewBackOff(100*time.Millisecond, 2*time.Second)
	for round := 0; ; round++ {
		var left []*batchPlan
		e.plansMu.Lock()
		for _, p := range e.plans {
			if p.parts != nil {
				left = append(left, p)
			}
		}
		e.plansMu.Unlock()
		if len(left) == 0 {
			return
		}
		if round == 0 {
			e.set.Logger.Info("Storing the batches still waiting for a retry before stopping",
				zap.Int("batches", len(left)), zap.Duration("shutdown_timeout", e.cfg.ShutdownTimeout))
		}
		for _, p := range left {
			if retryable, _ := e.storeParts(ctx, p, p.signal, p.parts); len(retryable) == 0 {
				e.plansMu.Lock()
				p.settle()
				p.parts = nil
				e.plansMu.Unlock()
			}
		}
		if once || waitutil.Wait(ctx, bo) != nil {
			return
		}
	}
}

// finalMetadata writes every session's last metadata, retrying until it
// is stored or ctx ends (at least once). A batch that never reached its
// session (the store was away from its first attempt, so the session was
// never opened) is not forgotten: its session is opened now, for the
// record, and counts the batch as lost; if even that fails, an error log
// names what was lost.
func (e *captureExporter) finalMetadata(ctx context.Context, once bool) error {
	bo := waitutil.NewBackOff(100*time.Millisecond, 2*time.Second)
	for {
		unopened := e.openForTheRecord(ctx)
		e.sessions.closeAll()
		err := e.sessions.flush(ctx, e.cfg.MetadataInterval, true)
		if (err == nil && len(unopened) == 0) || once || waitutil.Wait(ctx, bo) != nil {
			e.reportUnrecorded(unopened)
			return err
		}
	}
}

// lostUnopened is what batches lost for a session that could not even be
// opened: items per signal.
type lostUnopened map[string]map[sessionstore.Signal]int64

// openForTheRecord resolves the session of every part of a batch still
// held that has none yet (its items then count as pending there, so lost
// when the session closes), and returns the parts whose session still
// cannot be opened.
func (e *captureExporter) openForTheRecord(ctx context.Context) lostUnopened {
	e.plansMu.Lock()
	var held []*batchPlan
	for _, p := range e.plans {
		if p.parts != nil {
			held = append(held, p)
		}
	}
	e.plansMu.Unlock()
	out := lostUnopened{}
	for _, plan := range held {
		for i := range plan.parts {
			p := &plan.parts[i]
			if p.items == 0 {
				continue
			}
			e.plansMu.Lock()
			_, ok := plan.targets[p.group]
			e.plansMu.Unlock()
			if ok {
				continue
			}
			if _, err := e.target(ctx, plan, plan.signal, p); err != nil {
				name := p.route
				if name == "" {
					name = e.sessions.nextOwnID()
				}
				if out[name] == nil {
					out[name] = map[sessionstore.Signal]int64{}
				}
				out[name][plan.signal] += p.items
			}
		}
	}
	return out
}

// reportUnrecorded logs, as errors, the items lost for sessions whose
// metadata could not say so.
func (e *captureExporter) reportUnrecorded(lost lostUnopened) {
	for _, id := range slices.Sorted(maps.Keys(lost)) {
		n := lost[id]
		e.set.Logger.Error("Session lost data: accepted items that could not be stored, and the store was away too long to record the loss in its metadata.json",
			zap.String("session", id), zap.Int64("lost_spans", n[sessionstore.SignalTraces]),
			zap.Int64("lost_data_points", n[sessionstore.SignalMetrics]), zap.Int64("lost_log_records", n[sessionstore.SignalLogs]))
	}
}

func (e *captureExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	return e.push(ctx, td, sessionstore.SignalTraces, int64(td.SpanCount()),
		func() []arrival { return takeArrivals(td, &tracesSignal) },
		func(as []arrival) []part { return split(td, e.cfg.Session.FromAttribute, &tracesSignal, as) })
}

func (e *captureExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	return e.push(ctx, md, sessionstore.SignalMetrics, int64(md.DataPointCount()),
		func() []arrival { return takeArrivals(md, &metricsSignal) },
		func(as []arrival) []part { return split(md, e.cfg.Session.FromAttribute, &metricsSignal, as) })
}

func (e *captureExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	return e.push(ctx, ld, sessionstore.SignalLogs, int64(ld.LogRecordCount()),
		func() []arrival { return takeArrivals(ld, &logsSignal) },
		func(as []arrival) []part { return split(ld, e.cfg.Session.FromAttribute, &logsSignal, as) })
}

// plan returns the batch's plan, creating it on the first attempt: then
// the arrival stamps are taken off the data, and its requests no longer
// wait in the queue.
func (e *captureExporter) plan(batch any, items int64, take func() []arrival) *batchPlan {
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	if p, ok := e.plans[batch]; ok && p.items == items {
		return p
	}
	now := e.now()
	p := &batchPlan{created: now, captureTime: now.UTC().Truncate(time.Millisecond), items: items, targets: map[string]*planTarget{}}
	p.arrivals = take()
	e.arrivals.pushed(requestIDs(p.arrivals)...)
	e.plans[batch] = p
	return p
}

func (e *captureExporter) forget(batch any) {
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	if p, ok := e.plans[batch]; ok {
		p.settle()
		delete(e.plans, batch)
	}
}

// settle ends the pending counts of every target of the plan.
func (p *batchPlan) settle() {
	for _, t := range p.targets {
		t.settle()
	}
}

// sweepPlans drops plans of batches that exporterhelper can no longer
// retry (their retries ran out), so they do not pin memory.
func (e *captureExporter) sweepPlans() {
	if e.planTTL == 0 {
		return
	}
	cutoff := e.now().Add(-e.planTTL)
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	for k, p := range e.plans {
		if p.created.Before(cutoff) {
			p.settle()
			delete(e.plans, k)
		}
	}
}

// push stores the parts of one batch, each in its session. A part already
// stored by an earlier attempt is skipped; a retryable failure makes the
// whole batch retry (only the missing parts are written again).
func (e *captureExporter) push(ctx context.Context, batch any, signal sessionstore.Signal, items int64,
	take func() []arrival, split func([]arrival) []part,
) error {
	if e.sessions == nil {
		return errors.New("session_capture: not started")
	}
	plan := e.plan(batch, items, take)
	parts := split(plan.arrivals)
	retryable, permanent := e.storeParts(ctx, plan, signal, parts)
	if len(retryable) > 0 {
		if e.cfg.RetryConfig.Enabled {
			e.plansMu.Lock()
			plan.signal, plan.parts = signal, parts
			e.plansMu.Unlock()
			return errors.Join(retryable...) // the plan stays for the retry
		}
		e.forget(batch)
		return errors.Join(retryable...)
	}
	e.forget(batch)
	if len(permanent) > 0 {
		return consumererror.NewPermanent(errors.Join(permanent...))
	}
	return nil
}

// storeParts stores each part of a batch that is not stored yet in its
// session, and returns the errors a retry may fix and those it cannot.
func (e *captureExporter) storeParts(ctx context.Context, plan *batchPlan, signal sessionstore.Signal, parts []part) (retryable, permanent []error) {
	for i := range parts {
		p := &parts[i]
		if p.items == 0 {
			continue // nothing to replay: no object, and no session opened for it
		}
		target, err := e.target(ctx, plan, signal, p)
		if err != nil {
			if sessionstore.IsPermanent(err) {
				permanent = append(permanent, err)
			} else {
				retryable = append(retryable, err)
			}
			continue
		}
		if target.done {
			continue // stored by an earlier attempt
		}
		if err := e.write(ctx, signal, target, p); err != nil {
			if sessionstore.IsPermanent(err) {
				target.session.markLost(signal, p.items)
				permanent = append(permanent, err)
			} else {
				retryable = append(retryable, err)
			}
		}
	}
	return retryable, permanent
}

// target returns where a part goes, resolving its session and key on the
// first attempt.
func (e *captureExporter) target(ctx context.Context, plan *batchPlan, signal sessionstore.Signal, p *part) (*planTarget, error) {
	e.plansMu.Lock()
	t, ok := plan.targets[p.group]
	e.plansMu.Unlock()
	if ok {
		return t, nil
	}
	var s *session
	if p.route == "" {
		var err error
		if s, err = e.sessions.ownSession(ctx); err != nil {
			return nil, err
		}
	} else {
		if err := sessionstore.ValidateSessionID(p.route); err != nil {
			return nil, fmt.Errorf("resource attribute %s: %w", e.cfg.Session.FromAttribute, err)
		}
		var err error
		if s, err = e.sessions.routed(ctx, p.route, p.resource); err != nil {
			return nil, err
		}
	}
	t = &planTarget{session: s, signal: signal, items: p.items}
	if len(p.requests) > 0 {
		// Named by its requests: stored again after a restart, it gets
		// the same key.
		t.captureTime = p.arrival
		t.key = sessionstore.DerivedObjectKey(s.id, signal, p.arrival, idName(p.requests)).String()
		t.redelivered = p.arrival.Before(e.startedAt)
	} else {
		t.captureTime = plan.captureTime
		t.key = sessionstore.NewObjectKey(s.id, signal, plan.captureTime).String()
	}
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	if existing, ok := plan.targets[p.group]; ok {
		return existing, nil
	}
	plan.targets[p.group] = t
	s.beginPending(signal, p.items) // until it is stored or the batch is given up
	return t, nil
}

func (e *captureExporter) write(ctx context.Context, signal sessionstore.Signal, t *planTarget, p *part) error {
	if t.redelivered {
		if stored, err := e.storedBefore(ctx, t); err != nil || stored {
			return err
		}
	}
	enc, err := p.encode(e.encoder)
	if err != nil {
		return sessionstore.Permanent(fmt.Errorf("encode %s batch: %w", signal, err))
	}
	defer enc.Release()
	if err := e.store.Put(ctx, t.key, enc.Data); err != nil {
		permanent := sessionstore.IsPermanent(err)
		e.telemetry.ExporterSessionCaptureWriteErrors.Add(ctx, 1, metric.WithAttributes(
			attribute.String("signal", string(signal)), attribute.Bool("permanent", permanent)))
		if !permanent {
			e.sessions.writeFailed()
		}
		return fmt.Errorf("session %s: %w", t.session.id, err)
	}
	e.recordStored(ctx, t, p, enc.RawBytes, len(enc.Data))
	return nil
}

// storedBefore reports whether a part delivered again after a restart is
// stored already (its object landed before the restart, and the recount
// of its session counted it). Then it is done, and no longer lost.
func (e *captureExporter) storedBefore(ctx context.Context, t *planTarget) (bool, error) {
	stored, err := sessionstore.Exists(ctx, e.store, t.key)
	if err != nil {
		if sessionstore.IsPermanent(err) {
			// Not allowed to list (a write-only policy): write it again;
			// the same key is overwritten, never duplicated.
			return false, nil
		}
		e.sessions.writeFailed()
		return false, fmt.Errorf("session %s: %w", t.session.id, err)
	}
	if !stored {
		return false, nil
	}
	e.sessions.writeSucceeded()
	t.done = true
	s := e.sessions.liveFor(t.session)
	s.delivered(t.signal, t.items)
	e.set.Logger.Info("Batch delivered again after a restart was stored already", zap.String("key", t.key), zap.Int64("items", t.items))
	return true, nil
}

// recordStored counts a stored part in its session and the telemetry.
func (e *captureExporter) recordStored(ctx context.Context, t *planTarget, p *part, rawBytes, storedBytes int) {
	e.sessions.writeSucceeded()
	t.done = true
	s := e.sessions.liveFor(t.session)
	s.add(t.signal, t.captureTime, p, int64(rawBytes), int64(storedBytes))
	if t.redelivered {
		s.delivered(t.signal, t.items)
	}
	if s.isClosed() {
		e.sessions.remember(s)
	} else if s.own && e.cfg.Session.MaxBytes > 0 && s.storedBytes() >= e.cfg.Session.MaxBytes {
		e.wake()
	}
	attrs := metric.WithAttributes(attribute.String("signal", string(t.signal)))
	e.telemetry.ExporterSessionCaptureObjects.Add(ctx, 1, attrs)
	e.telemetry.ExporterSessionCaptureBytes.Add(ctx, int64(rawBytes), attrs)
	e.telemetry.ExporterSessionCaptureCompressedBytes.Add(ctx, int64(storedBytes), attrs)
	e.set.Logger.Debug("Stored batch", zap.String("key", t.key), zap.Int64("items", p.items), zap.Int("bytes", storedBytes))
}

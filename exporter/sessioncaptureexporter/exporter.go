package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/health"
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

// captureExporter writes batches into sessions of the store. Its parts,
// a file each: accept.go takes requests in (the front doors), request.go is
// what exporterhelper queues and batches (chunk.go cuts requests above the
// batch limit), push.go stores a batch, retries it and owns its fate,
// session.go is one session's ledger and status, sessions.go the manager
// of them all, own.go the own session and its rotation, routed.go the
// sessions named by the attribute, open.go opening and continuing a session
// in the store, metawriter.go writing views and metadata.json, control.go
// the control API.
type captureExporter struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	openStore func(context.Context, *sessionstore.Config) (sessionstore.Store, error)
	store     sessionstore.Store
	encoder   *sessionstore.Encoder
	sessions  *sessionManager
	// instance names this run: data of another run came back from a
	// persistent queue.
	instance uint64
	// persistent: the sending queue keeps what it holds across restarts.
	persistent bool

	// stoppingCh is closed when the collector begins to stop (the first
	// front door shut down), at stopAt; retriesEnd is cancelled when the
	// retries end then (retryDeadline), cutting attempts under way.
	stopOnce      sync.Once
	stoppingCh    chan struct{}
	stopAt        atomic.Pointer[time.Time]
	retriesEnd    context.Context
	endRetries    context.CancelFunc
	retriesEndsAt *time.Timer
	// inflight counts the pushes under way (without a sending queue they
	// run in the senders' calls, which the collector does not wait for).
	inflight atomic.Int64

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	host   component.Host
	health health.Reporter // the component's status

	// drops gathers the drops of backpressure: drop for its warnings.
	drops dropReport
	// rec deletes the rolling session's old objects (nil: no recorder).
	rec *recorder

	// gate drops what arrives while paused through the control API;
	// unregister removes the exporter from it (nil: not registered).
	gate       *gate
	unregister func()
	// ctlMu orders the control API's new sessions and Shutdown: after
	// closed, no new session opens (it would never be completed).
	ctlMu  sync.Mutex
	closed bool
}

func newCaptureExporter(set exporter.Settings, cfg *Config) (*captureExporter, error) {
	cfg = withRecorderID(cfg)
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	e := &captureExporter{
		cfg:        cfg,
		set:        set,
		telemetry:  tb,
		now:        time.Now,
		openStore:  sessionstore.Open,
		instance:   newRequestID(),
		persistent: cfg.QueueConfig.HasValue() && cfg.QueueConfig.Get().StorageID != nil,
		stoppingCh: make(chan struct{}),
		kick:       make(chan struct{}, 1),
	}
	e.retriesEnd, e.endRetries = context.WithCancel(context.Background())
	e.gate = &gate{onDrop: e.countPaused}
	e.gate.paused.Store(cfg.Session.Start == StartPaused)
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

// Start opens the store; the first session opens with the first data. An
// unreachable store does not stop the collector (data queues and is
// retried); a store that can never work (no such bucket, access denied,
// bad settings) does.
func (e *captureExporter) Start(ctx context.Context, host component.Host) error {
	e.host = host
	e.health.SetHost(host)
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
			_ = store.Close()
			return fmt.Errorf("session_capture: store %s: %w", store, err)
		}
		logger.Warn("Session store not reachable yet; data is queued and retried", zap.String("store", store.String()), zap.Error(err))
	}

	e.sessions = newSessionManager(managerSettings{
		store: store, cfg: &e.cfg.Session, writer: e.writerID(), instance: strconv.FormatUint(e.instance, 16),
		createdBy: e.createdBy(), persistent: e.persistent, logger: logger, now: e.now,
		onOpen: func(reason string) {
			e.telemetry.ExporterSessionCaptureSessions.Add(context.Background(), 1,
				metric.WithAttributes(attribute.String("reason", reason)))
			e.wake() // write the new session's metadata.json (active) right away
		},
	})

	if e.cfg.Recorder.enabled() {
		e.rec = newRecorder(e.cfg.Recorder, store, logger, e.now)
	}

	if err := e.register(); err != nil {
		_ = store.Close()
		return fmt.Errorf("session_capture: %w", err)
	}

	loopCtx, loopCancel := context.WithCancel(context.Background())
	e.cancel = loopCancel
	e.wg.Go(func() { e.housekeeping(loopCtx) })
	if e.gate.paused.Load() {
		logger.Info("Capture armed (session.start: paused): nothing is recorded until the control API resumes it",
			zap.String("store", store.String()), zap.Stringer("control", e.cfg.Control))
		return nil
	}
	logger.Info("Capturing into session store; a session opens with the first data", zap.String("store", store.String()))
	return nil
}

// housekeeping rotates the own session, completes idle sessions and writes
// due metadata until ctx ends.
func (e *captureExporter) housekeeping(ctx context.Context) {
	timer := time.NewTimer(e.nextHousekeeping())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.kick:
		}
		if reason := e.sessions.rotationDue(); reason != "" {
			if err := e.sessions.rotate(ctx, reason); err != nil && ctx.Err() == nil {
				e.set.Logger.Warn("Could not rotate the session yet; will retry", zap.String("reason", reason), zap.Error(err))
			}
		}
		e.sessions.closeIdle()
		if s := e.sessions.current(); e.rec != nil && s.id == e.cfg.Session.ID {
			if err := e.rec.clean(ctx, s); err != nil && ctx.Err() == nil {
				e.set.Logger.Warn("Could not delete the rolling session's old objects yet; will retry", zap.Error(err))
			}
		}
		if e.rec != nil && e.rec.pollDue(e.now(), e.cfg.MetadataInterval) {
			if err := e.pollSnapshotRequests(ctx); err != nil && ctx.Err() == nil {
				e.set.Logger.Warn("Could not read the rolling session's snapshot requests yet; will retry", zap.Error(err))
			}
		}
		switch err := e.sessions.flush(ctx, e.cfg.MetadataInterval, false); {
		case err == nil:
			e.health.Recover("session metadata")
		case ctx.Err() == nil:
			e.set.Logger.Warn("Could not write session metadata; will retry", zap.Error(err))
			e.health.Fail("session metadata", err)
		}
		timer.Reset(e.nextHousekeeping())
	}
}

// nextHousekeeping is the next tick, or exactly when the own session is
// due to rotate if that comes first.
func (e *captureExporter) nextHousekeeping() time.Duration {
	wait := housekeepingInterval
	if d := e.sessions.untilRotation(); d >= 0 && d < wait {
		wait = d
	}
	return wait
}

func (e *captureExporter) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// beginStopping marks the start of the collector's shutdown, once.
func (e *captureExporter) beginStopping() {
	e.stopOnce.Do(func() {
		now := e.now()
		e.stopAt.Store(&now)
		close(e.stoppingCh)
		if e.cfg.ShutdownTimeout > 0 { // 0: no retries, the attempts under way finish
			e.retriesEndsAt = time.AfterFunc(e.cfg.ShutdownTimeout*3/4, e.endRetries)
		}
		if n := e.inflight.Load(); n > 0 {
			e.set.Logger.Info("Stopping: the batches not stored yet are retried for up to 3/4 of shutdown_timeout, then given up as lost",
				zap.Int64("batches", n), zap.Duration("shutdown_timeout", e.cfg.ShutdownTimeout), zap.Bool("persistent_queue", e.persistent))
		}
	})
}

func (e *captureExporter) stopping() bool {
	select {
	case <-e.stoppingCh:
		return true
	default:
		return false
	}
}

// retryDeadline is when retries end while the collector stops: three
// quarters of shutdown_timeout after it began (the rest is the final
// metadata's).
func (e *captureExporter) retryDeadline() (time.Time, bool) {
	at := e.stopAt.Load()
	if at == nil {
		return time.Time{}, false
	}
	return at.Add(e.cfg.ShutdownTimeout * 3 / 4), true
}

// Shutdown runs after every pipeline's sending queue has drained (each
// batch's fate decided): it closes all sessions and writes their final
// metadata, retrying within shutdown_timeout. It works without Start and
// returns within ctx.
func (e *captureExporter) Shutdown(ctx context.Context) error {
	e.beginStopping()
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
		// Every push under way decides its batch's fate first (its retries
		// end by the retry deadline).
		waitutil.Poll(ctx, 5*time.Millisecond, func() bool { return e.inflight.Load() == 0 })
		e.sessions.closeAll()
		if ferr := e.finalMetadata(ctx); ferr != nil {
			err = fmt.Errorf("session_capture: final metadata: %w", ferr)
		}
	}
	if e.store != nil {
		err = errors.Join(err, e.store.Close())
	}
	e.flushDrops()
	e.endRetries()
	if e.retriesEndsAt != nil {
		e.retriesEndsAt.Stop()
	}
	return err
}

// finalMetadata writes every session's last metadata, retrying until it
// is stored or its time is up: what is left of shutdown_timeout, and at
// least a quarter of it, so that a session that lost data can still say
// so (shutdown_timeout 0: one attempt).
func (e *captureExporter) finalMetadata(ctx context.Context) error {
	if e.cfg.ShutdownTimeout <= 0 {
		return e.sessions.flush(ctx, e.cfg.MetadataInterval, true)
	}
	end := e.now().Add(e.cfg.ShutdownTimeout / 4)
	if at := e.stopAt.Load(); at != nil {
		end = latest(end, at.Add(e.cfg.ShutdownTimeout))
	}
	mctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	bo := waitutil.NewBackOff(100*time.Millisecond, 2*time.Second)
	for {
		err := e.sessions.flush(mctx, e.cfg.MetadataInterval, true)
		if err == nil {
			return nil
		}
		if waitutil.Wait(mctx, bo) != nil {
			e.sessions.reportUnwritten()
			return err
		}
	}
}

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v7"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// The push is the one owner of a batch's fate: it stores each object of
// the batch, retrying what a retry may fix (retry_on_failure, bounded at
// shutdown by shutdown_timeout), and when it gives up it records the items
// lost in their session, in the same place. exporterhelper queues, batches
// and persists; it never retries (its retry sender only hands a request
// back to a persistent queue at shutdown, see deliver).

// arrivalResolution is how finely a batch gathered from many requests is
// split by acceptance time: requests accepted within it of the batch's
// first share an object. The sending queue's batches of a healthy pipeline
// span at most its flush timeout and stay one object; a backlog gathered
// during an outage becomes one object per second of acceptance.
const arrivalResolution = time.Second

// emptyResource describes a session no data of which is at hand.
var emptyResource = pcommon.NewResource()

// object is one object to store: the shares of the batch's pieces that go
// to one session and were accepted within one arrivalResolution.
type object struct {
	signal sessionstore.Signal
	route  string // the attribute's session, or "" for the stamped own session
	ownID  string
	// captured is when its earliest piece was accepted: the key's time.
	captured time.Time
	pieces   []pieceRef // its pieces, in the order of parts
	parts    []part
	items    int64
	// thisRun counts the items accepted in this run (counted then);
	// redelivered those a persistent queue delivered again.
	thisRun, redelivered int64

	// What the attempts so far found out.
	session *session
	key     string
	encoded *sessionstore.Encoded
	checked bool // a redelivered object was looked for in the store
	// accounted: its redelivered items are counted in its session (see
	// arrivedAgain).
	accounted bool
	// landed: a write failed in a way that may have stored it anyway (a
	// timeout after the fact); before it is given up, the store is asked.
	mayHaveLanded bool
	done          bool
	stored        bool // stored (or found stored) by this push
}

// pieceRef is one piece's share of an object.
type pieceRef struct {
	name        []byte
	items       int64
	redelivered bool
	accepted    time.Time // its stamp's
}

// key names the piece's share of one signal among a session's lost pieces.
func (p pieceRef) key(signal sessionstore.Signal) string {
	return hex.EncodeToString(p.name) + "/" + string(signal)
}

// pushRequest returns the push of one signal.
func pushRequest[D, R any](e *captureExporter, sig *signalOps[D, R]) xexporterhelper.RequestConsumeFunc {
	return func(ctx context.Context, req xexporterhelper.Request) error {
		if e.sessions == nil {
			return errors.New("session_capture: not started")
		}
		r, ok := req.(*captureRequest[D, R])
		if !ok {
			return consumererror.NewPermanent(fmt.Errorf("session_capture: unexpected request %T", req))
		}
		e.inflight.Add(1)
		defer e.inflight.Add(-1)
		objs := planObjects(e, sig, r)
		defer func() {
			for _, o := range objs {
				o.encoded.Release()
			}
		}()
		return e.deliver(ctx, objs)
	}
}

// planObjects groups a batch's pieces into objects: by the session each
// resource belongs to, then by acceptance time.
func planObjects[D, R any](e *captureExporter, sig *signalOps[D, R], r *captureRequest[D, R]) []*object {
	now := e.now().UTC().Truncate(time.Millisecond)
	var first time.Time
	for _, p := range r.pieces {
		if a := p.stamp.accepted; !a.IsZero() && (first.IsZero() || a.Before(first)) {
			first = a
		}
	}
	type groupKey struct {
		route, own string
		window     int64
	}
	var out []*object
	groups := map[groupKey]*object{}
	for _, p := range r.pieces {
		accepted := p.stamp.accepted
		if accepted.IsZero() {
			accepted = now
		}
		redelivered := p.stamp.instance != e.instance
		parts := p.parts
		if !p.sealed { // no batcher: split now
			parts = splitByRoute(p.data, sig, e.cfg.Session.FromAttribute)
		}
		for _, pt := range parts {
			k := groupKey{route: pt.route, window: int64(accepted.Sub(first) / arrivalResolution)}
			if pt.route == "" {
				k.own = p.stamp.session
			}
			o := groups[k]
			if o == nil {
				o = &object{signal: sig.signal, route: pt.route, ownID: k.own, captured: accepted}
				groups[k] = o
				out = append(out, o)
			}
			if accepted.Before(o.captured) {
				o.captured = accepted
			}
			o.pieces = append(o.pieces, pieceRef{name: p.stamp.name(), items: pt.items, redelivered: redelivered, accepted: accepted})
			o.parts = append(o.parts, pt)
			o.items += pt.items
			if redelivered {
				o.redelivered += pt.items
			} else {
				o.thisRun += pt.items
			}
		}
	}
	return out
}

// deliver stores the objects of one batch, retrying with backoff what a
// retry may fix, and decides the fate of every item: stored, or lost
// (recorded in its session) when the store refuses for good or the
// retries give up. It never hands a batch back to exporterhelper: a
// persistent queue would keep the batch's requests for the next run, and
// exporterhelper's batcher ties the acknowledgement of a request to the
// outcome of batches that may not hold it, so a request stored in one
// batch would come back for another's failure and be stored twice. What
// a persistent queue still holds at shutdown, never handed to the
// exporter, is kept for the next run.
func (e *captureExporter) deliver(ctx context.Context, objs []*object) error {
	bo := e.newBackOff()
	var permanent []error
	for attempt := 1; ; attempt++ {
		var retryable []error
		actx, cancel := e.attemptContext(ctx)
		for _, o := range objs {
			if o.done {
				continue
			}
			err := e.storeObject(actx, o)
			switch {
			case err == nil:
			case sessionstore.IsPermanent(err):
				// An earlier attempt may have stored it before the refusal.
				if e.confirmLanded(ctx, []*object{o}); !o.done {
					e.giveUp(o, err)
					permanent = append(permanent, err)
				}
			default:
				retryable = append(retryable, err)
			}
		}
		cancel()
		if len(retryable) == 0 {
			break
		}
		err := errors.Join(retryable...)
		wait, ok := e.nextRetry(ctx, bo)
		if !ok {
			e.confirmLanded(ctx, objs)
			for _, o := range objs {
				if !o.done {
					e.giveUp(o, err)
				}
			}
			permanent = append(permanent, fmt.Errorf("gave up after %d attempts: %w", attempt, err))
			break
		}
		e.set.Logger.Debug("Could not store a batch; retrying", zap.Duration("interval", wait), zap.Error(err))
		// A wait that began before the collector stops is cut short then
		// (the retries are bounded from there on).
		var stop <-chan struct{}
		if !e.stopping() {
			stop = e.stoppingCh
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-stop:
		case <-timer.C:
		}
		timer.Stop()
	}
	if len(permanent) > 0 {
		return consumererror.NewPermanent(&fatedError{errors.Join(permanent...)})
	}
	return nil
}

// attemptContext bounds one attempt by the exporter's timeout and, once
// the collector stops, by the end of the retries (retryDeadline).
func (e *captureExporter) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	var (
		actx   context.Context
		cancel context.CancelFunc
	)
	if t := e.cfg.TimeoutConfig.Timeout; t > 0 {
		actx, cancel = context.WithTimeout(ctx, t)
	} else {
		actx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(e.retriesEnd, cancel)
	return actx, func() {
		stop()
		cancel()
	}
}

// newBackOff returns the backoff of retry_on_failure (nil: retries off).
func (e *captureExporter) newBackOff() *retryBackOff {
	rc := e.cfg.RetryConfig
	if !rc.Enabled {
		return nil
	}
	b := &retryBackOff{ExponentialBackOff: backoff.ExponentialBackOff{
		InitialInterval:     rc.InitialInterval,
		RandomizationFactor: rc.RandomizationFactor,
		Multiplier:          rc.Multiplier,
		MaxInterval:         rc.MaxInterval,
	}}
	b.Reset()
	if rc.MaxElapsedTime > 0 {
		b.giveUp = e.now().Add(rc.MaxElapsedTime)
	}
	return b
}

type retryBackOff struct {
	backoff.ExponentialBackOff
	giveUp time.Time // zero: never
}

// nextRetry returns how long to wait before the next attempt, or false to
// give up: retries off, max_elapsed_time reached, the push's context ended,
// or the collector stopping and shutdown_timeout (three quarters of it:
// the rest is for the final metadata) run out.
func (e *captureExporter) nextRetry(ctx context.Context, bo *retryBackOff) (time.Duration, bool) {
	if bo == nil || ctx.Err() != nil {
		return 0, false
	}
	wait := bo.NextBackOff()
	now := e.now()
	if !bo.giveUp.IsZero() && now.Add(wait).After(bo.giveUp) {
		return 0, false
	}
	if deadline, ok := e.retryDeadline(); ok {
		if !now.Before(deadline) {
			return 0, false
		}
		wait = min(wait, deadline.Sub(now))
	}
	return wait, true
}

// storeObject makes one attempt at one object: its session (opened on
// first use), its key (chosen once, kept across attempts), and the write.
func (e *captureExporter) storeObject(ctx context.Context, o *object) error {
	if o.session == nil {
		if err := e.resolve(ctx, o); err != nil {
			return err
		}
	}
	s := o.session
	if o.redelivered > 0 && !o.checked {
		// It may have been stored before the restart, under the same key.
		stored, err := sessionstore.Exists(ctx, e.store, o.key)
		switch {
		case err != nil && !sessionstore.IsPermanent(err):
			e.sessions.writeFailed()
			return fmt.Errorf("session %s: %w", s.id, err)
		case stored:
			o.checked, o.done, o.stored = true, true, true
			s.recordFound(o)
			e.sessions.writeSucceeded()
			e.set.Logger.Info("Batch delivered again after a restart was stored already", zap.String("key", o.key), zap.Int64("items", o.items))
			return nil
		}
		o.checked = true // not there (or not allowed to look): write it, the same key is overwritten, never duplicated
		e.arrivedAgain(o)
	}
	if o.encoded == nil {
		enc, err := e.encode(o)
		if err != nil {
			return sessionstore.Permanent(fmt.Errorf("encode %s batch: %w", o.signal, err))
		}
		o.encoded = enc
	}
	if err := e.store.Put(ctx, o.key, o.encoded.Data); err != nil {
		permanent := sessionstore.IsPermanent(err)
		o.mayHaveLanded = o.mayHaveLanded || !permanent
		e.telemetry.ExporterSessionCaptureWriteErrors.Add(ctx, 1, metric.WithAttributes(
			attribute.String("signal", string(o.signal)), attribute.Bool("permanent", permanent)))
		if !permanent {
			e.sessions.writeFailed()
		}
		return fmt.Errorf("session %s: %w", s.id, err)
	}
	e.sessions.writeSucceeded()
	e.stored(ctx, o)
	e.set.Logger.Debug("Stored batch", zap.String("key", o.key), zap.Int64("items", o.items), zap.Int("bytes", len(o.encoded.Data)))
	return nil
}

// stored counts a stored object in its session and the telemetry.
func (e *captureExporter) stored(ctx context.Context, o *object) {
	s := o.session
	o.done, o.stored = true, true
	rawBytes, storedBytes := int64(o.encoded.RawBytes), int64(len(o.encoded.Data))
	s.recordStored(o, rawBytes, storedBytes)
	if e.rolling(o) {
		e.rec.add(indexedObject{key: o.key, signal: o.signal, captured: o.captured.UTC().Truncate(time.Millisecond),
			items: o.items, raw: rawBytes, stored: storedBytes, counted: true})
		e.settleRolling(o, fateStored)
	}
	if s.kind == kindOwn && e.cfg.Session.MaxBytes > 0 && s.storedBytes() >= e.cfg.Session.MaxBytes {
		e.wake()
	}
	attrs := metric.WithAttributes(attribute.String("signal", string(o.signal)))
	e.telemetry.ExporterSessionCaptureObjects.Add(ctx, 1, attrs)
	e.telemetry.ExporterSessionCaptureBytes.Add(ctx, rawBytes, attrs)
	e.telemetry.ExporterSessionCaptureCompressedBytes.Add(ctx, storedBytes, attrs)
}

// confirmLanded asks the store whether the objects whose writes may have
// landed are there after all; those are stored. A store that does not
// answer leaves them as they are.
func (e *captureExporter) confirmLanded(ctx context.Context, objs []*object) {
	for _, o := range objs {
		if o.done || !o.mayHaveLanded || o.encoded == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), landedCheckTimeout)
		there, err := sessionstore.Exists(cctx, e.store, o.key)
		cancel()
		if err == nil && there {
			e.set.Logger.Info("A write reported as failed had stored the object", zap.String("key", o.key), zap.Int64("items", o.items))
			e.stored(ctx, o)
		}
	}
}

// landedCheckTimeout bounds the look for an object whose write may have
// landed.
const landedCheckTimeout = 5 * time.Second

// resolve finds the object's session, opening it in the store on first
// use, counts the object's items there if they were not counted when
// accepted, and chooses its key: named by the session, the signal and its
// pieces, so that storing it again (a retry, a redelivery) overwrites.
func (e *captureExporter) resolve(ctx context.Context, o *object) error {
	var s *session
	if o.route == "" {
		s = e.sessions.byID(o.ownID)
		if err := e.sessions.open(ctx, s, emptyResource); err != nil {
			return err
		}
	} else {
		var err error
		if s, err = e.sessions.routed(ctx, o.route, o.parts[0].resource); err != nil {
			return err
		}
		e.sessions.takeQueued(o.route, o.signal, o.thisRun)
		s.arrived(o.signal, o.thisRun, false)
	}
	names := make([][]byte, len(o.pieces))
	for i, p := range o.pieces {
		names[i] = p.name
	}
	slices.SortFunc(names, bytes.Compare)
	o.session = s
	o.key = sessionstore.DerivedObjectKey(s.id, o.signal, o.captured, bytes.Join(names, nil)).String()
	return nil
}

// arrivedAgain counts, once, the items of an object that a persistent
// queue delivered again and that are not stored yet: pending in its
// session, no longer among those an earlier run left queued, or no longer
// lost if the earlier run counted them lost. (An object found stored was
// counted when it was stored, or by the recount of its session.)
func (e *captureExporter) arrivedAgain(o *object) {
	if o.redelivered == 0 || o.accounted {
		return
	}
	o.accounted = true
	var revived int64
	for _, p := range o.pieces {
		if p.redelivered && o.session.revive(p.key(o.signal), o.signal) {
			revived += p.items
		}
	}
	o.session.arrived(o.signal, o.redelivered-revived, true)
}

// giveUp records the object's items lost: in its session, or, if that
// could not even be opened, for the record once it can be. With a
// persistent queue the session also remembers which pieces it lost: a
// piece the queue delivers again after all (its request was kept for
// another of its pieces, or the collector died before the queue let it
// go) is then stored and no longer lost.
func (e *captureExporter) giveUp(o *object, err error) {
	o.done = true
	s := o.session
	switch {
	case s != nil:
		e.arrivedAgain(o)
	case o.route == "":
		s = e.sessions.byID(o.ownID)
		o.session = s
		e.arrivedAgain(o)
	case sessionstore.IsPermanent(err):
		// Refused by policy (allowed_ids, max_open, an invalid id): the
		// data names no session it may enter, so none records it.
		e.sessions.takeQueued(o.route, o.signal, o.thisRun)
		e.set.Logger.Warn("Refused data for a session named by the attribute", zap.String("session", o.route),
			zap.Int64("items", o.items), zap.Error(err))
		return
	default:
		e.sessions.takeQueued(o.route, o.signal, o.thisRun)
		e.sessions.lostRoute(o.route, o.signal, o.items)
	}
	if e.rolling(o) {
		e.settleRolling(o, fateLostForGood)
	}
	if s != nil {
		s.recordLost(o.signal, o.items)
		if e.persistent {
			for _, p := range o.pieces {
				s.rememberLost(p.key(o.signal), o.signal, p.items)
			}
		}
	}
	e.telemetry.ExporterSessionCaptureLostItems.Add(context.Background(), o.items,
		metric.WithAttributes(attribute.String("signal", string(o.signal))))
}

// rolling reports whether an object belongs to the recorder's rolling
// session.
func (e *captureExporter) rolling(o *object) bool {
	return e.rec != nil && o.route == "" && o.session != nil && o.session.id == e.cfg.Session.ID
}

// settleRolling counts the fate of the items of an object of the rolling
// session that were accepted in this run, by their second of acceptance.
func (e *captureExporter) settleRolling(o *object, f fate) {
	for _, p := range o.pieces {
		if !p.redelivered {
			e.rec.settled(o.signal, p.accepted, p.items, f)
		}
	}
}

// encode compresses the object: its parts' protobuf messages concatenated
// are one export request holding all their resources.
func (e *captureExporter) encode(o *object) (*sessionstore.Encoded, error) {
	return e.encoder.CompressParts(len(o.parts), func(i int) ([]byte, error) { return o.parts[i].protobuf() })
}

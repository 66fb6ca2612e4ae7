package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// The flight recorder (recorder: {window}): the own session is a rolling
// one that keeps about the last window of data. Its objects older than the
// window, by key time, are deleted every clean-up period, and its metadata
// counts what it holds now.

// RecorderConfig turns the own session into a rolling one.
type RecorderConfig struct {
	// Window is how much of the latest data the rolling session keeps,
	// by capture time; 0: no recorder, the session keeps everything.
	Window time.Duration `mapstructure:"window"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// enabled reports whether the own session rolls.
func (c RecorderConfig) enabled() bool { return c.Window > 0 }

// RecorderSessionID is the rolling session's id when session.id is auto:
// a fixed one, so that a restarted collector (or another replica) goes on
// with it.
const RecorderSessionID = "recorder"

// withRecorderID returns cfg with the rolling session's id in place of
// auto, when the recorder is on (else cfg itself).
func withRecorderID(cfg *Config) *Config {
	if !cfg.Recorder.enabled() || cfg.Session.ID != AutoSessionID {
		return cfg
	}
	c := *cfg
	c.Session.ID = RecorderSessionID
	return &c
}

// cleanupPeriod is how often objects older than the window are deleted: a
// tenth of the window, between a second and a minute. The session holds no
// object older than window + cleanupPeriod (while the store answers).
func (c RecorderConfig) cleanupPeriod() time.Duration {
	return min(max(c.Window/10, time.Second), time.Minute)
}

// recorder keeps the index of the rolling session's objects and deletes
// the old ones.
type recorder struct {
	window, period time.Duration
	// started is when this run began: objects captured since are this
	// run's own (indexed as it stores them) or another live writer's.
	started time.Time
	store   sessionstore.Store
	logger  *zap.Logger
	now     func() time.Time

	mu sync.Mutex
	// objects are the session's objects this writer knows, by capture
	// time: those it stored, and (after the first clean-up) those the
	// store held from earlier runs.
	objects []indexedObject
	keys    map[string]bool
	// listed: the store's objects from earlier runs are in the index.
	listed bool
	next   time.Time // the next clean-up
	// seconds is the ledger of the rolling session by second of
	// acceptance, for snapshots: what was accepted then and what became
	// of it (see windowCounts).
	seconds map[int64]*secondLedger
	// pins keep the objects a pending snapshot will copy (by snapshot id:
	// the start of its window).
	pins map[string]time.Time
	// shares are the snapshots this writer took a share of: saved or not.
	shares map[string]bool
	// polled is when the snapshot requests were last read.
	polled time.Time
}

// secondLedger is what became of the items of the rolling session
// accepted in one second.
type secondLedger struct {
	accepted, stored, lost, dropped counts
}

// fate is what became of accepted items.
type fate int

const (
	fateStored fate = iota
	fateLostForGood
	fateDroppedAtDoor
	fateRefused // the sending queue refused them (block): never accepted
)

// indexedObject is one object of the rolling session and what it counts
// for in the metadata.
type indexedObject struct {
	key                string
	signal             sessionstore.Signal
	captured           time.Time
	items, raw, stored int64
	counted            bool // items and raw are known (else read before it goes)
	// uncounted: the object counts for nothing in the metadata (it could
	// not be decoded, so no recount counted it, or it was gone already).
	uncounted bool
}

func newRecorder(cfg RecorderConfig, store sessionstore.Store, logger *zap.Logger, now func() time.Time) *recorder {
	return &recorder{
		window: cfg.Window, period: cfg.cleanupPeriod(), started: now(), store: store, logger: logger, now: now,
		keys: map[string]bool{}, seconds: map[int64]*secondLedger{}, pins: map[string]time.Time{}, shares: map[string]bool{},
	}
}

// accepted counts n items of signal accepted into the rolling session at.
func (r *recorder) accepted(signal sessionstore.Signal, at time.Time, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.second(at).accepted.add(signal, n)
}

// settled counts n items of signal accepted at that met their fate.
func (r *recorder) settled(signal sessionstore.Signal, at time.Time, n int64, f fate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.second(at)
	switch f {
	case fateStored:
		l.stored.add(signal, n)
	case fateLostForGood:
		l.lost.add(signal, n)
	case fateDroppedAtDoor:
		l.dropped.add(signal, n)
	case fateRefused:
		l.accepted.add(signal, -n)
	}
}

func (r *recorder) second(at time.Time) *secondLedger {
	sec := at.Unix()
	l := r.seconds[sec]
	if l == nil {
		l = &secondLedger{}
		r.seconds[sec] = l
	}
	return l
}

// windowCounts sums the ledger over the seconds of acceptance from..to:
// what was lost and dropped, and what is still pending.
func (r *recorder) windowCounts(from, to time.Time) (lost, dropped, pending counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sec := from.Unix(); sec <= to.Unix(); sec++ {
		l := r.seconds[sec]
		if l == nil {
			continue
		}
		for i := range signals {
			lost[i] += l.lost[i]
			dropped[i] += l.dropped[i]
			pending[i] += max(0, l.accepted[i]-l.stored[i]-l.lost[i]-l.dropped[i])
		}
	}
	return lost, dropped, pending
}

// take reports whether this writer takes its share of snapshot id now
// (false: it took it before).
func (r *recorder) take(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.shares[id]; ok {
		return false
	}
	r.shares[id] = false
	return true
}

// markSaved notes that this writer's share of snapshot id is saved.
func (r *recorder) markSaved(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shares[id] = true
}

// saved reports whether this writer's share of snapshot id is saved.
func (r *recorder) saved(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shares[id]
}

// pollDue reports whether the snapshot requests are to be read now: once
// per interval.
func (r *recorder) pollDue(now time.Time, interval time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.polled) < interval {
		return false
	}
	r.polled = now
	return true
}

// inWindow returns the indexed objects whose capture time is in [from, to].
func (r *recorder) inWindow(from, to time.Time) []indexedObject {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []indexedObject
	for _, o := range r.objects {
		if !o.captured.Before(from) && !o.captured.After(to) {
			out = append(out, o)
		}
	}
	return out
}

// pin keeps the objects from `from` on until unpin (a snapshot copies them).
func (r *recorder) pin(id string, from time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pins[id] = from
}

func (r *recorder) unpin(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pins, id)
}

// cutoff is the capture time before which objects go: the window's start,
// or the start of the earliest pending snapshot's window if that is
// earlier. Ledger seconds before it (and an hour of margin) are forgotten.
func (r *recorder) cutoff(now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := now.Add(-r.window)
	for _, from := range r.pins {
		if from.Before(c) {
			c = from
		}
	}
	for sec := range r.seconds {
		if sec < c.Add(-time.Hour).Unix() {
			delete(r.seconds, sec)
		}
	}
	return c
}

// add indexes an object stored now.
func (r *recorder) add(o indexedObject) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.insert(o)
}

func (r *recorder) insert(o indexedObject) {
	if r.keys[o.key] {
		return
	}
	r.keys[o.key] = true
	i, _ := slices.BinarySearchFunc(r.objects, o.captured, func(x indexedObject, t time.Time) int { return x.captured.Compare(t) })
	r.objects = slices.Insert(r.objects, i, o)
}

// oldest returns the oldest indexed object if it is older than cutoff.
func (r *recorder) oldest(cutoff time.Time) (indexedObject, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.objects) == 0 || !r.objects[0].captured.Before(cutoff) {
		return indexedObject{}, false
	}
	return r.objects[0], true
}

// forget drops an object from the index and returns the capture time of
// the oldest one of its signal left (nil: none).
func (r *recorder) forget(key string, signal sessionstore.Signal) *time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.objects) > 0 && r.objects[0].key == key {
		r.objects = r.objects[1:] // the oldest, as clean goes: no shifting
	} else { // an older one was indexed meanwhile (a late batch)
		r.objects = slices.DeleteFunc(r.objects, func(o indexedObject) bool { return o.key == key })
	}
	delete(r.keys, key)
	for _, o := range r.objects {
		if o.signal == signal {
			t := o.captured
			return &t
		}
	}
	return nil
}

// clean deletes the rolling session's objects older than the window, each
// taken out of its counts, if a clean-up is due. The first clean-up indexes
// what earlier runs left in the store. A store failure ends the pass: the
// next one goes on where it stopped.
func (r *recorder) clean(ctx context.Context, s *session) error {
	now := r.now()
	if now.Before(r.next) || !s.isOpened() {
		return nil
	}
	r.next = now.Add(r.period)
	if err := r.listOnce(ctx, s); err != nil {
		return err
	}
	cutoff := r.cutoff(now)
	deleted := 0
	for {
		o, ok := r.oldest(cutoff)
		if !ok {
			break
		}
		if !o.counted {
			if err := r.count(ctx, s.id, &o); err != nil {
				return err
			}
		}
		if err := r.store.Delete(ctx, o.key); err != nil {
			return fmt.Errorf("rolling session %s: delete %s: %w", s.id, o.key, err)
		}
		s.removeObject(o, r.forget(o.key, o.signal))
		deleted++
	}
	if deleted > 0 {
		r.logger.Debug("Deleted objects older than the recorder's window", zap.String("session", s.id),
			zap.Int("objects", deleted), zap.Time("before", cutoff))
	}
	return nil
}

// listOnce indexes the objects earlier runs left in the session, captured
// before this run began (their items are counted when they go). Only a
// writer alone in the session can tell that they are its own: beside other
// writers' views, it deletes only what it stores itself, and says so
// (objects of earlier runs then stay).
func (r *recorder) listOnce(ctx context.Context, s *session) error {
	r.mu.Lock()
	listed := r.listed
	r.mu.Unlock()
	if listed {
		return nil
	}
	id := s.id
	views, err := sessionstore.ReadWriters(ctx, r.store, id)
	if err != nil {
		return fmt.Errorf("rolling session %s: read its writers: %w", id, err)
	}
	delete(views, s.writerName())
	if len(views) > 0 {
		others := slices.Sorted(maps.Keys(views))
		r.logger.Warn("Other writers have views in the rolling session: this recorder deletes only the objects it stores itself; "+
			"objects of earlier runs stay (several writers of one rolling session are not supported yet: give each its own session.id)",
			zap.String("session", id), zap.Strings("other_writers", others))
		r.mu.Lock()
		r.listed = true
		r.mu.Unlock()
		return nil
	}
	var found []indexedObject
	for o, err := range sessionstore.ListObjects(ctx, r.store, id) {
		if errors.Is(err, sessionstore.ErrCorrupt) {
			continue // not an object of the layout: not ours to delete
		}
		if err != nil {
			return fmt.Errorf("rolling session %s: list: %w", id, err)
		}
		if !o.CaptureTime.Before(r.started) {
			continue // this run's (indexed when stored), or a writer's that has no view yet
		}
		found = append(found, indexedObject{key: o.Key, signal: o.Signal, captured: o.CaptureTime, stored: o.Size})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range found {
		r.insert(o)
	}
	r.listed = true
	return nil
}

// count reads an object an earlier run stored, for what it counts for. An
// object that cannot be decoded was never counted (a recount skips it): it
// goes without changing the counts.
func (r *recorder) count(ctx context.Context, id string, o *indexedObject) error {
	k, err := sessionstore.ParseObjectKey(o.key)
	if err != nil {
		return nil // listed as a layout key: cannot happen
	}
	b, raw, err := sessionstore.ReadObject(ctx, r.store, sessionstore.Object{ObjectKey: k, Key: o.key, Size: o.stored},
		sessionstore.DefaultRecountObjectBytes)
	switch {
	case err == nil:
		o.items, o.raw = int64(b.ItemCount()), int64(raw)
	case errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrTooLarge):
		r.logger.Warn("Deleting an unreadable object older than the recorder's window", zap.String("key", o.key), zap.Error(err))
		o.uncounted = true
	case errors.Is(err, sessionstore.ErrNotFound):
		o.uncounted = true // gone since the listing
	default:
		return fmt.Errorf("rolling session %s: read %s: %w", id, o.key, err)
	}
	o.counted = true
	return nil
}

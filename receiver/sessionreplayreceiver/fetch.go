package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"hash/fnv"
	"iter"
	"runtime"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v7"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/waitutil"
)

// fetched is one object, read and decoded ahead of its turn.
type fetched struct {
	obj        sessionstore.Object
	offset     time.Duration // on the session's shared clock (sharded replays)
	first      time.Time     // the session's first capture time on that clock
	compressed []byte        // the object as stored, kept to decode afresh if the pipeline asks for a retry
	batch      sessionstore.Batch
	err        error // why the object is skipped: corrupt, truncated, too large, vanished
	// at is the object's time for pacing and the timestamp shift: its
	// capture time, or with pace_by event_time its earliest event time;
	// lastEvent is then its latest (zero otherwise).
	at, lastEvent time.Time
	// release frees the object's decoding slot once the consumer is done
	// with it.
	release func()
}

// storeBackoff paces retries against a failing store: 100 ms to 5 s.
func storeBackoff() *backoff.ExponentialBackOff {
	return waitutil.NewBackOff(100*time.Millisecond, 5*time.Second)
}

// inShard reports whether the object of uuid id belongs to shard index of
// count. By uuid, not key: the copies of one object are one object, in
// one shard.
func inShard(id string, index, count int) bool {
	if count <= 1 {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()%uint64(count) == uint64(index)
}

// objects yields the objects this receiver replays in one pass, in capture
// order: only signals that have a pipeline, only its shard, and each uuid
// once (the first copy). Keys that do not follow the layout are reported
// once each and skipped. If the store fails mid-way the listing is retried
// with backoff and resumes where it broke off.
//
// clock, when not nil, advances over every listed object, whichever
// shard or signal it belongs to, so that each yielded object carries its
// offset on one schedule all shards of a replay share.
//
// resumeAfter, when not nil, is the last object a resumed pass delivered:
// the listing starts at its hour and drops it and what came before.
func (run *replayRun) objects(ctx context.Context, onBad func(key string, err error), clock *schedule,
	resumeAfter *sessionstore.Object,
) iter.Seq[listed] {
	return func(yield func(listed) bool) {
		lister := sessionstore.NewLister(run.r.store, run.sessions...)
		if run.part != nil && !run.part.readFrom.IsZero() {
			lister.From(run.part.readFrom) // earlier hours cannot hold the part
		}
		if resumeAfter != nil && clock == nil {
			lister.From(resumeAfter.CaptureTime) // earlier hours are delivered
		}
		seen := map[string]bool{} // uuids of this pass: a later copy of an object is skipped
		bo := storeBackoff()
		for {
			failed := false
			for o, err := range lister.All(ctx) {
				if err != nil {
					if errors.Is(err, sessionstore.ErrCorrupt) {
						onBad(o.Key, err)
						continue
					}
					if ctx.Err() != nil {
						return
					}
					run.r.set.Logger.Warn("Listing the session failed; resuming where it broke off", zap.String("session", run.session.SessionID), zap.Error(err))
					run.r.storeFailing(err)
					failed = true
					break
				}
				run.r.storeAnswered()
				if seen[o.ID] {
					run.tally.duplicate()
					run.r.set.Logger.Debug("Skipping a later copy of an object (same uuid)", zap.String("key", o.Key))
					continue
				}
				seen[o.ID] = true
				if run.part != nil && run.part.over(o.CaptureTime) {
					return // captured after the part: so is every later object
				}
				l := listed{Object: o}
				if clock != nil {
					l.offset, l.first = clock.advance(o.CaptureTime), clock.first
				}
				if (resumeAfter != nil && deliveredBefore(o, *resumeAfter)) || !run.wants(o.Signal) || !inShard(o.ID, run.cfg.Shard.Index, run.cfg.Shard.Count) ||
					(run.part != nil && !run.part.readable(o.CaptureTime)) {
					continue
				}
				if !yield(l) {
					return
				}
			}
			if !failed {
				return
			}
			if waitutil.Wait(ctx, bo) != nil {
				return
			}
		}
	}
}

// listed is an object to replay, with its offset on the shared clock.
type listed struct {
	sessionstore.Object
	offset time.Duration
	first  time.Time
}

// prefetch reads up to ReadAhead objects ahead (compressed, on their own
// goroutines) and decodes up to decodeAhead of them in parallel, ahead of
// the one being delivered, handing them over in order. A decoded object
// holds its slot until the consumer takes the next one (call release), so
// at most decodeAhead+1 decoded objects exist at once: memory is bounded
// by ReadAhead compressed and decodeAhead+1 decoded objects, whatever the
// session size. Decoding in parallel uses every core at speed 0, and a bad
// object (a bomb, a corrupt one) is decoded beside the good ones, never in
// front of one due before it.
func (run *replayRun) prefetch(ctx context.Context, objs iter.Seq[listed]) (<-chan fetched, func()) {
	ahead := decodeAhead(run.cfg.ReadAhead)
	fetches := make(chan chan fetched, run.cfg.ReadAhead-1)
	decodes := make(chan chan fetched, ahead)
	// One slot more than decode ahead: the object the consumer holds.
	tokens := make(chan struct{}, ahead+1)
	decoded := make(chan fetched)
	var wg sync.WaitGroup
	wg.Go(func() { // list, and fetch ahead
		defer close(fetches)
		for o := range objs {
			slot := make(chan fetched, 1)
			select {
			case fetches <- slot:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				f := run.fetch(ctx, o.Object)
				f.offset, f.first = o.offset, o.first
				slot <- f
			})
		}
	})
	wg.Go(func() { // take decoding slots in order, decode in parallel
		defer close(decodes)
		for fslot := range fetches {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			dslot := make(chan fetched, 1)
			select {
			case decodes <- dslot:
			case <-ctx.Done():
				<-tokens
				return
			}
			wg.Go(func() {
				var f fetched
				select {
				case f = <-fslot:
				case <-ctx.Done():
					dslot <- fetched{err: ctx.Err()}
					return
				}
				if f.err == nil {
					f.batch, f.err = run.decode(f.obj, f.compressed)
				}
				f.at, f.lastEvent = run.objectTime(f)
				dslot <- f
			})
		}
	})
	wg.Go(func() { // hand over in order
		defer close(decoded)
		for dslot := range decodes {
			var f fetched
			select {
			case f = <-dslot:
			case <-ctx.Done():
				return
			}
			f.release = sync.OnceFunc(func() { <-tokens })
			select {
			case decoded <- f:
			case <-ctx.Done():
				return
			}
		}
	})
	return decoded, wg.Wait
}

// decodeAhead is how many objects are decoded ahead of the one being
// delivered: one per core, at most readAhead.
func decodeAhead(readAhead int) int {
	return max(1, min(readAhead, runtime.GOMAXPROCS(0)))
}

// objectTime is the time an object is paced and shifted by: its capture
// time, or with pace_by event_time the earliest event time inside it (the
// capture time when it has none, or could not be read), with its latest
// (the one walk over its items the event timeline needs).
func (run *replayRun) objectTime(f fetched) (at, lastEvent time.Time) {
	if run.pace == PaceByEventTime && f.err == nil {
		if start, end := f.batch.EventRange(); !start.IsZero() {
			return start, end
		}
	}
	return f.obj.CaptureTime, time.Time{}
}

// decode inflates (bounded by MaxObjectBytes) and unmarshals an object,
// and keeps only the part of it this replay delivers (time range, phases,
// services).
func (run *replayRun) decode(o sessionstore.Object, compressed []byte) (sessionstore.Batch, error) {
	b, _, err := sessionstore.Decode(o.Signal, compressed, int64(run.cfg.MaxObjectBytes))
	if err == nil && run.part != nil {
		run.part.apply(b)
	}
	return b, err
}

// fetch reads one stored object. A broken object comes back with err set; a
// failing store is retried until it answers or ctx ends.
func (run *replayRun) fetch(ctx context.Context, o sessionstore.Object) fetched {
	bo := storeBackoff()
	for {
		data, err := sessionstore.ReadStored(ctx, run.r.store, o, int64(run.cfg.MaxObjectBytes))
		switch {
		case err == nil:
			run.r.storeAnswered()
			return fetched{obj: o, compressed: data}
		case errors.Is(err, sessionstore.ErrTooLarge):
			return fetched{obj: o, err: err}
		case errors.Is(err, sessionstore.ErrNotFound):
			return fetched{obj: o, err: errVanished}
		case ctx.Err() != nil:
			return fetched{obj: o, err: ctx.Err()}
		case sessionstore.IsPermanent(err):
			// Access denied, archived, not allowed: no retry can read it.
			run.r.storeAnswered()
			return fetched{obj: o, err: err}
		}
		run.r.set.Logger.Warn("Reading object failed; retrying", zap.String("key", o.Key), zap.Error(err))
		run.r.storeFailing(err)
		if waitutil.Wait(ctx, bo) != nil {
			return fetched{obj: o, err: ctx.Err()}
		}
	}
}

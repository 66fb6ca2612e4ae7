package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"container/heap"
	"iter"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// unit is what a pass delivers at one due time: a whole object, or with
// pacing by event time a piece of one (split.go's sliceByTime).
type unit struct {
	f     *fetched
	piece timedPiece // key -1: the whole object
	at    time.Time  // due by this time on the pass's schedule
	// first: the object's first unit; last: its last, after which it is
	// done (counted, released).
	first, last bool
	// checkpoint: the object after which the pass's place may be saved once
	// this unit is delivered (nil: none): with pieces out of capture order,
	// the latest object that it and every object before it are done.
	checkpoint *fetched
}

// batch is what the unit delivers.
func (u unit) batch() sessionstore.Batch {
	if u.piece.key >= 0 {
		return u.piece.batch
	}
	return u.f.batch
}

// byObject yields every object as one unit due at its time (capture time,
// or its earliest event): replay paced by capture time. The previous
// object's decoding slot is freed when the next is taken.
func byObject(objects <-chan fetched) iter.Seq[unit] {
	return func(yield func(unit) bool) {
		var release func()
		defer func() {
			if release != nil {
				release()
			}
		}()
		for f := range objects {
			if release != nil {
				release()
			}
			release = f.release
			if !yield(unit{f: &f, piece: timedPiece{key: -1}, at: f.at, first: true, last: true, checkpoint: &f}) {
				return
			}
		}
	}
}

// eventTimeline orders the pieces of objects by event time across
// signals: replay paced by event time. Objects come in capture order;
// within one signal their events follow that order (true of a seed, and of
// a live capture), but across signals they do not (a seed made with
// clock: fast stores each signal's many seconds in objects captured within
// milliseconds). So a piece is given out once every signal the session
// holds has shown an event at or after it, or has no object left (its last
// capture time passed), or the listing ended; and, to bound memory, when
// more than limit objects are held (the earliest piece then goes out,
// possibly ahead of a later object's earlier piece, which will be late).
// Objects are taken off the prefetch's slots as they are held, so memory
// is bounded by limit objects here and the prefetch's own.
func eventTimeline(objects <-chan fetched, limit int, lastCapture map[sessionstore.Signal]time.Time) iter.Seq[unit] {
	return func(yield func(unit) bool) {
		t := &timeline{limit: limit, lastCapture: lastCapture, latest: map[sessionstore.Signal]time.Time{}}
		more := true
		for {
			for more && !t.ready() {
				f, ok := <-objects
				if !ok {
					more = false
					break
				}
				f.release() // held here, counted in limit
				t.add(&f)
			}
			if t.pending.Len() == 0 {
				return
			}
			if !yield(t.next()) {
				return
			}
		}
	}
}

type timeline struct {
	limit       int
	lastCapture map[sessionstore.Signal]time.Time // per signal of the session
	latest      map[sessionstore.Signal]time.Time // per signal: the latest event time seen
	taken       time.Time                         // capture time of the last object taken
	pending     pieceHeap
	held        []*heldObject // objects taken and not done, in capture order
	seq         int
}

type heldObject struct {
	f       *fetched
	left    int // pieces not given out
	started bool
}

type heldPiece struct {
	obj   *heldObject
	piece timedPiece
	seq   int // order taken: ties keep capture order
}

func (t *timeline) add(f *fetched) {
	o := &heldObject{f: f}
	t.held = append(t.held, o)
	if f.obj.CaptureTime.After(t.taken) {
		t.taken = f.obj.CaptureTime
	}
	if f.err == nil && f.batch.ItemCount() == 0 {
		return // nothing of the part in it: done
	}
	var pieces []timedPiece
	if f.err == nil {
		pieces = sliceByTime(f.batch, f.at, f.lastEvent)
		if f.lastEvent.After(t.latest[f.obj.Signal]) {
			t.latest[f.obj.Signal] = f.lastEvent
		}
	}
	if pieces == nil {
		pieces = []timedPiece{{key: -1, at: f.at, batch: f.batch}}
	}
	for _, p := range pieces {
		o.left++
		t.seq++
		heap.Push(&t.pending, heldPiece{obj: o, piece: p, seq: t.seq})
	}
}

// ready reports whether the earliest piece may go out.
func (t *timeline) ready() bool {
	if t.pending.Len() == 0 {
		return false
	}
	if len(t.held) >= t.limit {
		return true
	}
	first := t.pending[0]
	if first.obj.f.err != nil {
		return true // a bad object is reported straight away
	}
	for sig, last := range t.lastCapture {
		if t.taken.After(last) {
			continue // every object of sig has been taken
		}
		if t.latest[sig].Before(first.piece.at) {
			return false // a later object of sig may hold earlier events
		}
	}
	return true
}

// next gives out the earliest piece.
func (t *timeline) next() unit {
	p := heap.Pop(&t.pending).(heldPiece)
	o := p.obj
	u := unit{f: o.f, piece: p.piece, at: p.piece.at, first: !o.started}
	o.started = true
	o.left--
	if o.left == 0 {
		u.last = true
		for len(t.held) > 0 && t.held[0].left == 0 {
			u.checkpoint = t.held[0].f
			t.held = t.held[1:]
		}
	}
	return u
}

type pieceHeap []heldPiece

func (h pieceHeap) Len() int { return len(h) }
func (h pieceHeap) Less(i, j int) bool {
	if c := h[i].piece.at.Compare(h[j].piece.at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h pieceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pieceHeap) Push(x any)   { *h = append(*h, x.(heldPiece)) }
func (h *pieceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

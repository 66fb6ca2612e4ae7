package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"maps"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// tally is what one run has done, written by its pass loop, listing and
// read-ahead, and read by the progress reporter, the control API and the
// summary at the end: one count of each thing, under one lock.
type tally struct {
	mu         sync.Mutex
	passes     int   // passes completed
	objects    int64 // objects delivered whole, all passes
	items      map[sessionstore.Signal]int64
	dropped    int64            // items the pipeline refused for good
	duplicates int64            // later copies of objects skipped (same uuid)
	bad        map[string]int64 // objects skipped, by reason
	lateness   latencyHist      // all passes

	// The current pass.
	pass        int
	passStart   time.Time
	passObjects int64       // objects of this pass delivered whole
	passItems   int64       // items of this pass delivered
	passLate    latencyHist // lateness of this pass
	lastAt      time.Time   // pacing time of the last delivered unit
	lastDue     time.Time   // and when it was due
}

func newTally() *tally {
	return &tally{items: map[sessionstore.Signal]int64{}, bad: map[string]int64{}}
}

// resumed counts the passes a checkpointed run had completed.
func (t *tally) resumed(passes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.passes = passes
}

func (t *tally) startPass(pass int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pass, t.passStart, t.passObjects, t.passItems = pass, now, 0, 0
	t.passLate = latencyHist{}
	t.lastAt, t.lastDue = time.Time{}, time.Time{}
}

func (t *tally) passDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.passes++
}

// delivered counts a unit (an object, or a piece of one paced by event
// time) handed to its pipeline: items accepted, due at due for pacing time
// at, late by late (counted only when paced), objectDone at an object's
// last piece.
func (t *tally) delivered(sig sessionstore.Signal, at, due time.Time, items int, late time.Duration, paced, objectDone bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if objectDone {
		t.objects++
		t.passObjects++
	}
	t.items[sig] += int64(items)
	t.passItems += int64(items)
	t.lastAt, t.lastDue = at, due
	if paced {
		t.lateness.add(late)
		t.passLate.add(late)
	}
}

func (t *tally) droppedItems(n int) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropped += int64(n)
}

func (t *tally) duplicate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.duplicates++
}

func (t *tally) badObject(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bad[reason]++
}

// summary is a tally at one moment, for the log, the control API and tests.
type summary struct {
	passes      int
	objects     int64
	items       map[sessionstore.Signal]int64
	dropped     int64
	duplicates  int64
	badByReason map[string]int64
	badObjects  int64
	lateness    latencyHist
	pass        int
	passStart   time.Time
	passObjects int64
	passItems   int64
	passLate    latencyHist
	lastAt      time.Time
	lastDue     time.Time
}

func (t *tally) summary() summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := summary{passes: t.passes, objects: t.objects, items: maps.Clone(t.items), dropped: t.dropped,
		duplicates: t.duplicates, badByReason: maps.Clone(t.bad), lateness: t.lateness,
		pass: t.pass, passStart: t.passStart, passObjects: t.passObjects, passItems: t.passItems,
		passLate: t.passLate, lastAt: t.lastAt, lastDue: t.lastDue}
	for _, n := range t.bad {
		s.badObjects += n
	}
	return s
}

// passesDone is the number of passes completed.
func (t *tally) passesDone() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.passes
}

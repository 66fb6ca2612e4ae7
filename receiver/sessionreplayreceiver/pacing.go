package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// schedule computes when each object of a pass is due. Every due time is
// derived from the pass anchor (start) and the object's capture time, never
// from a sum of sleeps, so lateness of one object does not shift the rest:
// due_i = start + offset_i / speed, where offset_i is the capture time since
// the pass's first object with every gap longer than maxGap cut to maxGap
// (an exact integer sum, so no rounding drift either).
type schedule struct {
	start  time.Time
	speed  float64
	maxGap time.Duration

	started bool
	first   time.Time // c_0
	prev    time.Time // capture time of the previous object
	offset  time.Duration
}

func newSchedule(start time.Time, speed float64, maxGap time.Duration) *schedule {
	return &schedule{start: start, speed: speed, maxGap: maxGap}
}

// due returns when the object captured at c is due.
func (s *schedule) due(c time.Time) time.Time {
	return s.at(s.advance(c))
}

// begin starts the schedule at c (the session's first object) before its
// first due object.
func (s *schedule) begin(c time.Time) {
	if !s.started {
		s.started, s.first, s.prev = true, c, c
	}
}

// advance adds the object captured at c and returns its capture offset.
func (s *schedule) advance(c time.Time) time.Duration {
	s.begin(c)
	gap := c.Sub(s.prev)
	if gap < 0 {
		gap = 0 // objects arrive in capture order; a tie or clock step costs no time
	}
	if s.maxGap > 0 && gap > s.maxGap {
		gap = s.maxGap
	}
	s.offset += gap
	s.prev = c
	return s.offset
}

// at converts a (compressed) capture offset into wall time.
func (s *schedule) at(offset time.Duration) time.Time {
	if s.speed == 0 {
		return s.start
	}
	return s.start.Add(time.Duration(float64(offset) / s.speed))
}

// next returns the anchor of the following pass: the session length after
// this pass's anchor at this speed (the tail beyond the last object being
// length minus the capture span), or now if the pipeline was slower.
func (s *schedule) next(length time.Duration, now time.Time) time.Time {
	tail := length - s.prev.Sub(s.first)
	if tail < 0 {
		tail = 0
	}
	if s.maxGap > 0 && tail > s.maxGap {
		tail = s.maxGap
	}
	w := s.at(s.offset + tail)
	if now.After(w) {
		return now
	}
	return w
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
	// shared: a sharded replay. Every shard paces by the session's clock
	// (offsets over all its objects, clock), anchored on the session's
	// first object, and loops by the session's length, so that the shards
	// together are the unsharded replay.
	shared bool
	clock  *schedule
	// sessionEvents is the span of the session's event times (metadata),
	// for the length of a shared pass.
	sessionEvents time.Duration
	// A pass resumed from a checkpoint: the last object it delivered, and
	// its schedule at that point.
	resumeAfter *sessionstore.Object
	resumeSched *schedule

	// Fixed by pass 0, for `relative` loops.
	c0     time.Time           // capture time of the session's first replayed object
	delta0 time.Duration       // W_0 - c_0
	length time.Duration       // session length: pass k is shifted k lengths further
	events pdatawalk.TimeRange // original timestamps of pass 0
}

// nextPass fixes the session length after pass 0 and anchors the next pass.
func (p *passState) nextPass(now time.Time) {
	if p.shared && p.clock != nil && p.clock.started {
		// The session's clock, not this shard's part of it.
		p.sched.started, p.sched.first, p.sched.prev, p.sched.offset = true, p.clock.first, p.clock.prev, p.clock.offset
	}
	if p.pass == 0 {
		span := p.sched.prev.Sub(p.sched.first)
		if p.shared {
			span = max(span, p.sessionEvents)
		} else {
			span = max(span, time.Duration(p.events.Hi-p.events.Lo))
		}
		p.length = span + time.Millisecond
	}
	p.anchor = p.sched.next(p.length, now)
}

// resolvePace turns pace_by auto into what the session needs: event time
// for a seed session whose events outran its capture (made with
// clock: fast), capture time for any other session. Only a seed's event
// times are the generator's own schedule; captured data can carry
// timestamps of any kind (a load generator's made-up ones, clocks that are
// wrong), and only pace_by: event_time paces it by them.
func resolvePace(p PaceBy, m *sessionstore.Metadata) PaceBy {
	if p != PaceByAuto {
		return p
	}
	if m.SessionType == sessionstore.SessionTypeSeed && eventsOutrunCapture(m) {
		return PaceByEventTime
	}
	return PaceByCaptureTime
}

// eventsOutrunCapture reports whether the session's event time ran faster
// than its capture time, as its metadata tells: its events span more than
// twice its captures (and a second more), as in a seed made with
// clock: fast, whose minutes of events are captured in a moment. Pacing
// such a session by capture time would replay it as one burst.
func eventsOutrunCapture(m *sessionstore.Metadata) bool {
	ev, first, last, ok := eventAndCaptureRanges(m)
	return ok && ev.End.Sub(ev.Start) > 2*last.Sub(first)+time.Second
}

// eventAndCaptureRanges returns the session's event time range and its
// first and last capture times, if its metadata has both (ok).
func eventAndCaptureRanges(m *sessionstore.Metadata) (ev *sessionstore.TimeRange, first, last time.Time, ok bool) {
	ev = m.EventTimeRange
	if ev == nil || ev.Start.IsZero() {
		return nil, first, last, false
	}
	first, last = m.CaptureRange()
	return ev, first, last, !first.IsZero()
}

package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// sessionKind tells how a session came to be written by this exporter.
type sessionKind int

const (
	// kindOwn is one of the exporter's own sessions (session.id, rotated,
	// or asked for through the control API).
	kindOwn sessionKind = iota
	// kindRouted is a session named by the routing attribute.
	kindRouted
	// kindEarlier is an own session of an earlier run of this exporter,
	// written again because a persistent queue delivered its data again.
	kindEarlier
)

// signals indexes per-signal counts.
var signals = [3]sessionstore.Signal{sessionstore.SignalTraces, sessionstore.SignalMetrics, sessionstore.SignalLogs}

func signalIndex(s sessionstore.Signal) int { return slices.Index(signals[:], s) }

// counts is a count per signal.
type counts [3]int64

func (c *counts) add(s sessionstore.Signal, n int64) { c[signalIndex(s)] += n }
func (c counts) of(s sessionstore.Signal) int64      { return c[signalIndex(s)] }
func (c counts) total() int64                        { return c[0] + c[1] + c[2] }
func (c counts) itemCounts() *sessionstore.ItemCounts {
	return sessionstore.CountsOf(c.of)
}

func countsOf(ic *sessionstore.ItemCounts) counts {
	return counts{ic.Of(sessionstore.SignalTraces), ic.Of(sessionstore.SignalMetrics), ic.Of(sessionstore.SignalLogs)}
}

// ledger is what became of the items a session accepted in this run and
// that a stored view says an earlier run accepted: stored items are in the
// metadata's counts; the rest are here.
type ledger struct {
	// pending are accepted items whose fate is not known yet: waiting in
	// the sending queue or being stored.
	pending counts
	// expected are the items an earlier run left in its persistent queue
	// (its view's queuedItems) that have not come back yet.
	expected counts
	// lost are items that could not be stored, in this run and (from the
	// stored view) earlier ones.
	lost counts
	// dropped are items the sending queue had no room for (backpressure:
	// drop), in this run and earlier ones.
	dropped counts
	// lostUncounted: the stored session said failed without counting what
	// it lost (older metadata); it stays failed.
	lostUncounted bool
}

// queued is what the session still waits for.
func (l ledger) queued() counts {
	var q counts
	for i := range q {
		q[i] = l.pending[i] + l.expected[i]
	}
	return q
}

// statusOf is a session's status, a pure function of its ledger: active
// while open or while items are still to come; then failed if any item was
// lost or dropped, completed otherwise.
func statusOf(closed bool, l ledger) sessionstore.Status {
	switch {
	case !closed || l.queued().total() > 0:
		return sessionstore.StatusActive
	case l.lost.total() > 0 || l.dropped.total() > 0 || l.lostUncounted:
		return sessionstore.StatusFailed
	default:
		return sessionstore.StatusCompleted
	}
}

// session is one session this exporter writes to: its ledger, its
// metadata (counts of what it stored), and how far its metadata.json is
// written. One lock guards all of it; opening the session in the store and
// writing its metadata are ordered by their own locks, so that no push
// waits for another session's store calls.
type session struct {
	id   string
	kind sessionKind
	// own describes an own session (nil for the others).
	own *ownSession

	// openMu orders the store reads that open the session.
	openMu sync.Mutex
	// writeMu orders the writes of this session's metadata, so that its
	// snapshots land in order.
	writeMu sync.Mutex

	mu      sync.Mutex
	created time.Time
	started time.Time // first data accepted (own sessions rotate from it)
	opened  bool      // read from (or created in) the store
	meta    *sessionstore.Metadata
	ledger  ledger
	// writer names this exporter's view in the session; viewWritten: this
	// run has written it (a foreign instance in it later means another
	// live writer with the same writer id).
	writer      string
	viewWritten bool
	recount     bool // the writer's share could not be recounted (see continueSession)
	// lostPieces are the pieces (with signal) this writer counted lost
	// while its queue was persistent, by pieceRef.key (see giveUp).
	lostPieces map[string]sessionstore.LostPiece
	// inheritedFrom and inherited: counts taken over from another run's
	// open view (see continued).
	inheritedFrom string
	inherited     *sessionstore.Metadata
	closed        bool
	dirty         bool // changed since metadata was last written
	stored        bool // metadata.json written at least once (here or by an earlier run)
	lastWrite     time.Time
	lastData      time.Time
}

func newSession(id string, kind sessionKind, now time.Time) *session {
	return &session{id: id, kind: kind, created: now}
}

// accept counts items accepted for the session (pending until their fate
// is known); refuse takes back items the sending queue refused.
func (s *session) accept(signal sessionstore.Signal, n int64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.pending.add(signal, n)
	if s.started.IsZero() {
		s.started = now
	}
}

func (s *session) refuse(signal sessionstore.Signal, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.pending.add(signal, -n)
}

// arrived counts items of this session that reached a push without being
// accepted in this run: redelivered by a persistent queue (some of them
// may be the items an earlier run left queued), or routed here by the
// attribute.
func (s *session) arrived(signal sessionstore.Signal, n int64, redelivered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.pending.add(signal, n)
	s.dirty = true
	if redelivered {
		i := signalIndex(signal)
		s.ledger.expected[i] = max(0, s.ledger.expected[i]-n)
	}
	if s.started.IsZero() {
		s.started = s.created
	}
}

// recordStored records an object of the session that is stored now: its items
// are counted and no longer pending.
func (s *session) recordStored(o *object, rawBytes, storedBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.pending.add(o.signal, -o.items)
	s.meta.Add(o.signal, o.captured, o.items, rawBytes, storedBytes)
	for _, p := range o.parts {
		s.meta.ExtendEventTime(p.eventStart, p.eventEnd)
		for idx, ph := range p.phases {
			s.meta.AddPhaseItems(idx, ph.resource, ph.items)
		}
		for th, n := range p.sampling {
			s.meta.AddSampling(th, n)
		}
	}
	s.lastData = o.captured
	s.dirty = true
}

// recordFound records an object that a persistent queue delivered again
// and that was stored before: counted when it was stored (or by the
// recount of the session that continued it), it changes nothing.
func (s *session) recordFound(o *object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastData = latest(s.lastData, o.captured)
}

// maxLostPieces bounds the lost pieces a session remembers (a store
// refusing everything for hours must not grow metadata without end);
// beyond it a piece delivered again after it was lost counts as stored
// and stays counted lost.
const maxLostPieces = 1000

// rememberLost notes a piece counted lost, in case it comes back.
func (s *session) rememberLost(key string, signal sessionstore.Signal, items int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostPieces == nil {
		s.lostPieces = map[string]sessionstore.LostPiece{}
	}
	if len(s.lostPieces) < maxLostPieces {
		s.lostPieces[key] = sessionstore.LostPiece{Name: key, Signal: signal, Items: items}
		s.dirty = true
	}
}

// revive reports whether a piece delivered again was counted lost here;
// then it is pending again, no longer lost.
func (s *session) revive(key string, signal sessionstore.Signal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lostPieces[key]
	if !ok {
		return false
	}
	delete(s.lostPieces, key)
	i := signalIndex(signal)
	s.ledger.lost[i] = max(0, s.ledger.lost[i]-p.Items)
	s.ledger.pending[i] += p.Items
	s.dirty = true
	return true
}

// disown gives back the counts inherited from another run that turned
// out to be alive: they are its own.
func (s *session) disown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inherited == nil {
		return
	}
	s.meta.SubtractCounts(s.inherited)
	s.inheritedFrom, s.inherited = "", nil
	s.dirty = true
}

// recordLost records items that will never be stored.
func (s *session) recordLost(signal sessionstore.Signal, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.pending.add(signal, -n)
	s.ledger.lost.add(signal, n)
	s.dirty = true
}

// removeObject takes an object the recorder deleted out of the counts;
// oldestLeft is the capture time of the oldest object of its signal left.
func (s *session) removeObject(o indexedObject, oldestLeft *time.Time) {
	if o.uncounted {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta.Remove(o.signal, o.items, o.raw, o.stored, oldestLeft)
	s.dirty = true
}

// recordDropped records items dropped because the sending queue had no
// room for them; fromPending: they were counted pending (accepted into
// this own session), not routed.
func (s *session) recordDropped(signal sessionstore.Signal, n int64, fromPending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fromPending {
		s.ledger.pending.add(signal, -n)
	}
	s.ledger.dropped.add(signal, n)
	s.dirty = true
}

// close ends the session at t (rotation, idleness, the control API, or
// the collector stopping). final: the collector stops, so items still
// pending will never be stored in this run: they are lost, or, with a
// persistent queue, they wait in it for the next run.
func (s *session) close(t time.Time, final, persistent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if final && !persistent && s.ledger.pending.total() > 0 {
		for i, n := range s.ledger.pending {
			s.ledger.lost[i] += n
		}
		s.ledger.pending = counts{}
		s.dirty = true
	}
	if s.closed {
		return
	}
	s.closed = true
	if s.meta != nil {
		end := t.UTC()
		s.meta.EndTime = &end
	}
	s.dirty = true
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// hasDropped reports whether the session counts dropped items.
func (s *session) hasDropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.dropped.total() > 0
}

// writerName is this exporter's name among the session's writers (set
// when the session is opened).
func (s *session) writerName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writer
}

// isOpen reports whether the session is opened in the store and not
// closed.
func (s *session) isOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened && !s.closed
}

// hasData reports whether anything was ever accepted for the session or
// stored in it.
func (s *session) hasData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.started.IsZero() || s.opened
}

func (s *session) pendingItems() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.pending.total()
}

func (s *session) storedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meta == nil {
		return 0
	}
	return s.meta.TotalSizeBytes
}

func (s *session) isOpened() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// heartbeat is how often an open session's view is rewritten at least.
const heartbeat = sessionstore.LiveWindow / 5

// snapshot returns the metadata to write, if a write is due, with the
// status the session's ledger gives it now.
func (s *session) snapshot(now time.Time, interval time.Duration, force bool) *sessionstore.Metadata {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return nil
	}
	// An open session's view is rewritten at least every heartbeat even
	// without news, so that readers can tell a live writer from a crashed
	// one (sessionstore.LiveWindow).
	due := !s.stored || (s.dirty && (force || s.closed || now.Sub(s.lastWrite) >= interval)) ||
		(!s.closed && now.Sub(s.lastWrite) >= heartbeat)
	if !due {
		return nil
	}
	s.dirty = false
	return s.viewLocked(now)
}

// view returns the session's metadata as it stands (nil before it is
// opened), without marking it written.
func (s *session) view(now time.Time) *sessionstore.Metadata {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened {
		return s.viewLocked(now)
	}
	if s.started.IsZero() {
		return nil
	}
	// Data accepted, nothing stored yet: what it will say.
	m := sessionstore.NewMetadata(s.id, sessionstore.SessionTypeCapture, s.started, "")
	if s.own != nil {
		d := s.own.desc
		m.Description, m.DiagnosticSessionID, m.Labels = d.description, d.diagnosticSessionID, d.labels
		m.EnabledFlags = append([]string{}, d.enabledFlags...)
	}
	m.LostItems = s.ledger.lost.itemCounts()
	m.DroppedItems = s.ledger.dropped.itemCounts()
	m.QueuedItems = s.ledger.queued().itemCounts()
	m.UpdatedTime = now.UTC()
	return m
}

func (s *session) viewLocked(now time.Time) *sessionstore.Metadata {
	m := s.meta.Clone()
	m.Status = statusOf(s.closed, s.ledger)
	m.LostItems = s.ledger.lost.itemCounts()
	m.DroppedItems = s.ledger.dropped.itemCounts()
	m.QueuedItems = s.ledger.queued().itemCounts()
	m.NeedsRecount = s.recount
	m.LostPieces = nil
	for _, k := range slices.Sorted(maps.Keys(s.lostPieces)) {
		m.LostPieces = append(m.LostPieces, s.lostPieces[k])
	}
	m.UpdatedTime = now.UTC()
	return m
}

// written records a write of a snapshot; a failed write leaves the session
// dirty so that the next round retries.
func (s *session) written(now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.dirty = true
		return
	}
	s.stored = true
	s.viewWritten = true
	s.lastWrite = now
}

// settled reports whether the session is closed with nothing pending and
// its final metadata stored, so that the manager can forget it.
func (s *session) settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return s.closed && s.started.IsZero() // never had data: nothing to write
	}
	return s.closed && !s.dirty && s.stored && s.ledger.pending.total() == 0
}

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultRecountObjectBytes caps the decompressed size of one object while
// recounting (the replay's default max_object_bytes is smaller; a recount
// should count what any configured replay could read).
const DefaultRecountObjectBytes = 256 << 20

// Recount is what the data objects of a session hold, counted from them.
type Recount struct {
	// Counts holds the counts, sizes, capture times and event time range
	// of the readable objects; its other fields are those of NewMetadata.
	Counts *Metadata
	// Objects is the number of data objects listed (keys that follow the
	// layout), unreadable ones included.
	Objects int
	// Bad describes each object that is not a readable data object of its
	// signal (a stray key, corrupt, truncated, over maxBytes), with its key.
	Bad []string
	// Duplicates are the keys of later copies of an object (same uuid: the
	// same batch stored again, e.g. redelivered after a crash); they are
	// not counted.
	Duplicates []string
}

// RecountSession reads every data object of a session, in capture order,
// and counts what it holds, inflating at most maxBytes per object. Bad
// objects and later copies of an object are listed in the result and not
// counted; a store failure ends the recount with an error.
func RecountSession(ctx context.Context, s Store, id string, maxBytes int64) (*Recount, error) {
	rc := &Recount{Counts: NewMetadata(id, SessionTypeCapture, time.Time{}, "")}
	counted := map[string]bool{} // uuids of the objects counted
	for o, err := range ListObjectsByTime(ctx, s, id) {
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				rc.Bad = append(rc.Bad, fmt.Sprintf("%s: %v", o.Key, err))
				continue
			}
			return nil, fmt.Errorf("list session %s: %w", id, err)
		}
		rc.Objects++
		if counted[o.ID] {
			rc.Duplicates = append(rc.Duplicates, o.Key)
			continue
		}
		b, raw, err := ReadObject(ctx, s, o, maxBytes)
		if err != nil {
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge) {
				rc.Bad = append(rc.Bad, err.Error())
				continue
			}
			return nil, fmt.Errorf("read %s: %w", o.Key, err)
		}
		counted[o.ID] = true
		rc.Counts.AddObject(o, b, raw)
	}
	return rc, nil
}

// AddObject counts a stored object from what it holds (b, read from it,
// raw bytes uncompressed): its items, sizes and capture time, the event
// times and the sampling of its spans. A recount and an extract count
// objects this way.
func (m *Metadata) AddObject(o Object, b Batch, raw int) {
	m.Add(o.Signal, o.CaptureTime, int64(b.ItemCount()), int64(raw), o.Size)
	m.ExtendEventTime(b.EventRange())
	if o.Signal == SignalTraces {
		for th, n := range TracesSampling(b.Traces) {
			m.AddSampling(th, n)
		}
	}
}

// TakeCounts replaces every count of m (items, sizes, per-signal stats,
// event time range) with those of counted, keeping the rest of m.
func (m *Metadata) TakeCounts(counted *Metadata) {
	c := counted.Clone()
	m.CapturedTraces, m.CapturedMetrics, m.CapturedLogs = c.CapturedTraces, c.CapturedMetrics, c.CapturedLogs
	m.TotalSizeBytes, m.Signals, m.EventTimeRange, m.Sampling = c.TotalSizeBytes, c.Signals, c.EventTimeRange, c.Sampling
}

// SubtractCounts takes the counts of part (items, sizes, objects and
// items per signal, seed phase items) out of m: a share of m that turns
// out to be another writer's. Time ranges stay as they are.
func (m *Metadata) SubtractCounts(part *Metadata) {
	m.CapturedTraces = max(0, m.CapturedTraces-part.CapturedTraces)
	m.CapturedMetrics = max(0, m.CapturedMetrics-part.CapturedMetrics)
	m.CapturedLogs = max(0, m.CapturedLogs-part.CapturedLogs)
	m.TotalSizeBytes = max(0, m.TotalSizeBytes-part.TotalSizeBytes)
	for sig, p := range part.Signals {
		st := m.Signals[sig]
		if st == nil || p == nil {
			continue
		}
		st.Objects, st.Items = max(0, st.Objects-p.Objects), max(0, st.Items-p.Items)
		st.Bytes, st.CompressedBytes = max(0, st.Bytes-p.Bytes), max(0, st.CompressedBytes-p.CompressedBytes)
	}
	if m.Seed != nil && part.Seed != nil {
		for _, ph := range part.Seed.Phases {
			for i := range m.Seed.Phases {
				if m.Seed.Phases[i].Index == ph.Index {
					m.Seed.Phases[i].Items = max(0, m.Seed.Phases[i].Items-ph.Items)
				}
			}
		}
	}
	m.subtractSampling(part)
}

// CaptureRange returns the first and last capture time over all signals
// (zero times when nothing was stored).
func (m *Metadata) CaptureRange() (first, last time.Time) {
	for _, s := range m.Signals {
		if s == nil { // "signals": {"traces": null} in a hand-edited file
			continue
		}
		if s.FirstCaptureTime != nil && (first.IsZero() || s.FirstCaptureTime.Before(first)) {
			first = *s.FirstCaptureTime
		}
		if s.LastCaptureTime != nil && s.LastCaptureTime.After(last) {
			last = *s.LastCaptureTime
		}
	}
	return first, last
}

// CaptureOverlaps reports whether the session may hold objects captured
// in [from, to): its capture times (first to last, over all signals)
// overlap the window. Metadata without capture times (the original
// tooling's, or a session that stored nothing) tells only its start: it
// may, unless it started at or after to.
func (m *Metadata) CaptureOverlaps(from, to time.Time) bool {
	first, last := m.CaptureRange()
	if first.IsZero() {
		return m.StartTime.IsZero() || m.StartTime.Before(to)
	}
	return first.Before(to) && !last.Before(from)
}

// CountMismatches lists, readably, the counts on which stored metadata and
// a recount disagree, and an active status (a writer that did not close
// the session: crashed, or still running).
func CountMismatches(stored, counted *Metadata) []string {
	var out []string
	cmp := func(name string, a, b int64) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: metadata says %d, objects hold %d", name, a, b))
		}
	}
	cmp("capturedTraces", stored.CapturedTraces, counted.CapturedTraces)
	cmp("capturedMetrics", stored.CapturedMetrics, counted.CapturedMetrics)
	cmp("capturedLogs", stored.CapturedLogs, counted.CapturedLogs)
	cmp("totalSizeBytes", stored.TotalSizeBytes, counted.TotalSizeBytes)
	for _, sig := range Signals {
		a, b := stored.Signals[sig], counted.Signals[sig]
		if a == nil {
			a = &SignalStats{}
		}
		if b == nil {
			b = &SignalStats{}
		}
		cmp("signals."+string(sig)+".objects", a.Objects, b.Objects)
		cmp("signals."+string(sig)+".items", a.Items, b.Items)
		cmp("signals."+string(sig)+".bytes", a.Bytes, b.Bytes)
		cmp("signals."+string(sig)+".compressedBytes", a.CompressedBytes, b.CompressedBytes)
	}
	if stored.Status == StatusActive && !stored.Stopped() {
		out = append(out, "status is active (the writer did not close it: crashed or still running)")
	}
	return out
}

// Repaired is the stored metadata (or, when it is missing or unreadable, a
// new one) with every count taken from a recount. A session left active
// (by a crash) or without metadata becomes completed, ending at its last
// object; a start time that is unknown becomes its first object's.
func Repaired(stored, counted *Metadata, now time.Time) *Metadata {
	var m *Metadata
	if stored != nil {
		m = stored.Clone()
		m.TakeCounts(counted)
	} else {
		m = counted.Clone()
	}
	first, last := m.CaptureRange()
	if m.StartTime.IsZero() {
		m.StartTime = first
	}
	// Items still queued for a writer's next run are given up: lost.
	m.LostItems = addCounts(m.LostItems, m.QueuedItems)
	m.QueuedItems, m.LostPieces, m.NeedsRecount, m.Instance = nil, nil, false, ""
	if m.Status == StatusActive || stored == nil {
		m.Status = StatusCompleted
		if m.Incomplete() {
			m.Status = StatusFailed
		}
		if !last.IsZero() {
			end := last
			m.EndTime = &end
		}
	}
	m.UpdatedTime = now.UTC()
	return m
}

// DeleteSession removes a session: its data objects, then its
// metadata.json (late, so that a half-deleted session is still listed and
// can be removed again), then anything else under its prefix. It returns
// how many data objects it deleted.
func DeleteSession(ctx context.Context, s Store, id string) (int, error) {
	if err := ValidateSessionID(id); err != nil {
		return 0, err
	}
	n := 0
	for info, err := range s.List(ctx, RawPrefix(id)) {
		if err != nil {
			return n, fmt.Errorf("list session %s: %w", id, err)
		}
		if err := s.Delete(ctx, info.Key); err != nil {
			return n, fmt.Errorf("delete %s: %w", info.Key, err)
		}
		n++
	}
	if err := s.Delete(ctx, MetadataKey(id)); err != nil {
		return n, fmt.Errorf("delete %s: %w", MetadataKey(id), err)
	}
	for info, err := range s.List(ctx, SessionPrefix(id)) {
		if err != nil {
			return n, fmt.Errorf("list session %s: %w", id, err)
		}
		if err := s.Delete(ctx, info.Key); err != nil {
			return n, fmt.Errorf("delete %s: %w", info.Key, err)
		}
	}
	return n, nil
}

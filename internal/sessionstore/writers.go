package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Several writers of one session (collectors sharing a fixed id, or seed
// traffic split between collectors by a load balancer) each keep their own
// view in sessions/{id}/writers/{writer}.json: what that writer stored, and
// its state (status active: open, completed: ended, failed). metadata.json
// is the merge of every writer's view, rewritten by each writer after it
// updates its own file; it says completed only when every writer has ended.
// No lock server and no conditional writes are needed: a writer never
// writes another's file, and every merge starts from all of them.

const writersDir = "writers/"

// WriterKey is the key of a writer's own file in a session.
func WriterKey(sessionID, writer string) string {
	return sessionsDir + sessionID + "/" + writersDir + writer + ".json"
}

// WriteWriter stores m, the view of writer, as its file in session
// m.SessionID. writer follows the session id rules.
func WriteWriter(ctx context.Context, s Store, writer string, m *Metadata) error {
	if err := ValidateSessionID(writer); err != nil {
		return fmt.Errorf("writer id: %w", err)
	}
	if err := ValidateSessionID(m.SessionID); err != nil {
		return err
	}
	if m.Annotations != nil {
		// A view read from metadata.json (a repair's): its annotations
		// are not a writer's; metadata.json gets them from the store.
		m = m.Clone()
		m.overlay(nil)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode writer %s of session %s: %w", writer, m.SessionID, err)
	}
	return s.Put(ctx, WriterKey(m.SessionID, writer), append(data, '\n'))
}

// ReadWriter loads one writer's view of a session (ErrNotFound if it has
// none).
func ReadWriter(ctx context.Context, s Store, id, writer string) (*Metadata, error) {
	return readMetadataKey(ctx, s, id, WriterKey(id, writer))
}

// ReadWriters loads every writer's view of a session, by writer. An
// unreadable file is left out and reported in the error (matching
// ErrCorrupt) next to the views that could be read; a store failure
// returns no views.
func ReadWriters(ctx context.Context, s Store, id string) (map[string]*Metadata, error) {
	if err := ValidateSessionID(id); err != nil {
		return nil, err
	}
	prefix := sessionsDir + id + "/" + writersDir
	out := map[string]*Metadata{}
	var bad []error
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("list writers of session %s: %w", id, err)
		}
		writer, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, prefix), ".json")
		if !ok || ValidateSessionID(writer) != nil {
			continue
		}
		m, err := readMetadataKey(ctx, s, id, info.Key)
		switch {
		case err == nil:
			out[writer] = m
		case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotFound):
			bad = append(bad, err)
		default:
			return nil, err
		}
	}
	return out, errors.Join(bad...)
}

// LiveWindow is how recently a writer whose view says open must have
// rewritten it to be taken for live (still writing). A writer rewrites its
// view every metadata_interval (session_capture: 10s by default) while it
// stores data, at least every LiveWindow/5 while it has nothing new, and
// retries a failed write on the next round: five minutes leaves room for
// clocks of hosts that disagree. An open view older than that is a writer
// that crashed.
const LiveWindow = 5 * time.Minute

// LiveWriters returns, sorted, the writers whose view says open (neither
// completed nor failed, as Merge reads it, and without an end time) and was updated less than
// LiveWindow before now, or after now (that host's clock runs ahead):
// writers that are still writing the session, and will write their view,
// with their own counts, again.
func LiveWriters(views map[string]*Metadata, now time.Time) []string {
	var live []string
	for w, v := range views {
		if v == nil || v.Status == StatusCompleted || v.Status == StatusFailed || v.EndTime != nil {
			continue // ended (an end time and items queued for its next run: stopped)
		}
		if now.Sub(v.UpdatedTime) < LiveWindow {
			live = append(live, w)
		}
	}
	slices.Sort(live)
	return live
}

// Merge is a session's metadata from its writers' views: counts, sizes,
// per-signal stats, lost items and phase items summed, time ranges and
// flags united, descriptive fields from the writer that started first; it
// is completed when every writer has ended, failed when any failed, and
// active otherwise. Nil views and nil signal stats are skipped (ReadWriters
// returns none); without a view, the merge is nil.
func Merge(views map[string]*Metadata) *Metadata {
	writers := slices.Sorted(func(yield func(string) bool) {
		for w, v := range views {
			if v != nil && !yield(w) {
				return
			}
		}
	})
	slices.SortStableFunc(writers, func(a, b string) int { return views[a].StartTime.Compare(views[b].StartTime) })
	var m *Metadata
	// stopped: every writer has stopped, some with items of the session
	// still in its persistent queue (its view active, with an end time).
	allEnded, allStopped, anyFailed := true, true, false
	for _, w := range writers {
		v := views[w]
		if m == nil {
			m = v.Clone()
			m.CapturedTraces, m.CapturedMetrics, m.CapturedLogs, m.TotalSizeBytes = 0, 0, 0, 0
			m.Signals, m.EventTimeRange, m.LostItems, m.DroppedItems, m.QueuedItems, m.EndTime = map[Signal]*SignalStats{}, nil, nil, nil, nil, nil
			m.Instance, m.NeedsRecount, m.LostPieces, m.Sampling = "", false, nil, nil
			m.overlay(nil) // a session's metadata.json merged with others' (a replay's sessions): annotations are its own
			if m.Seed != nil {
				m.Seed.Phases = []Phase{}
			}
		}
		mergeView(m, v)
		switch v.Status {
		case StatusFailed:
			anyFailed = true
		case StatusCompleted:
		default:
			allEnded = false
			allStopped = allStopped && v.EndTime != nil
		}
	}
	if m == nil {
		return nil
	}
	switch {
	case anyFailed && allEnded:
		m.Status = StatusFailed
	case allEnded:
		m.Status = StatusCompleted
	case allStopped:
		m.Status = StatusActive // waits for its writers' next runs; the end time says they stopped
	default:
		m.Status = StatusActive
		m.EndTime = nil
	}
	return m
}

// Stopped reports whether an active session's writers have all stopped,
// with items of it still in a persistent queue for their next runs.
func (m *Metadata) Stopped() bool {
	return m.Status == StatusActive && m.EndTime != nil && m.QueuedItems.Total() > 0
}

// mergeView adds one writer's view to the merge m.
func mergeView(m, v *Metadata) {
	m.CapturedTraces += v.CapturedTraces
	m.CapturedMetrics += v.CapturedMetrics
	m.CapturedLogs += v.CapturedLogs
	m.TotalSizeBytes += v.TotalSizeBytes
	for sig, st := range v.Signals {
		if st == nil { // ReadWriters refuses such a view; a caller's own may hold one
			continue
		}
		cur := m.Signals[sig]
		if cur == nil {
			cur = &SignalStats{}
			m.Signals[sig] = cur
		}
		cur.Objects += st.Objects
		cur.Items += st.Items
		cur.Bytes += st.Bytes
		cur.CompressedBytes += st.CompressedBytes
		cur.FirstCaptureTime = earliest(cur.FirstCaptureTime, st.FirstCaptureTime)
		cur.LastCaptureTime = latestOf(cur.LastCaptureTime, st.LastCaptureTime)
	}
	if r := v.EventTimeRange; r != nil {
		m.ExtendEventTime(r.Start, r.End)
	}
	if v.StartTime.Before(m.StartTime) || m.StartTime.IsZero() {
		m.StartTime = v.StartTime
	}
	m.UpdatedTime = *latestOf(&m.UpdatedTime, &v.UpdatedTime)
	if v.EndTime != nil {
		m.EndTime = latestOf(m.EndTime, v.EndTime)
	}
	for _, f := range v.EnabledFlags {
		if !slices.Contains(m.EnabledFlags, f) {
			m.EnabledFlags = append(m.EnabledFlags, f)
		}
	}
	slices.Sort(m.EnabledFlags)
	for k, val := range v.Labels {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		if _, ok := m.Labels[k]; !ok {
			m.Labels[k] = val
		}
	}
	m.LostItems = addCounts(m.LostItems, v.LostItems)
	m.DroppedItems = addCounts(m.DroppedItems, v.DroppedItems)
	for _, sh := range v.Sampling {
		m.AddSampling(sh.Threshold, sh.Spans)
	}
	m.QueuedItems = addCounts(m.QueuedItems, v.QueuedItems)
	m.NeedsRecount = m.NeedsRecount || v.NeedsRecount
	if v.Seed != nil {
		if m.Seed == nil {
			seed := *v.Seed
			seed.Phases = []Phase{}
			m.Seed = &seed
		}
		for _, ph := range v.Seed.Phases {
			i := slices.IndexFunc(m.Seed.Phases, func(p Phase) bool { return p.Index == ph.Index })
			if i < 0 {
				m.Seed.Phases = append(m.Seed.Phases, ph)
				continue
			}
			m.Seed.Phases[i].Items += ph.Items
		}
		slices.SortFunc(m.Seed.Phases, func(a, b Phase) int { return a.Index - b.Index })
	}
}

// addCounts returns sum + c (sum may be nil; nil when both are empty).
func addCounts(sum, c *ItemCounts) *ItemCounts {
	if c.Total() == 0 {
		return sum
	}
	if sum == nil {
		sum = &ItemCounts{}
	}
	sum.Traces += c.Traces
	sum.Metrics += c.Metrics
	sum.Logs += c.Logs
	return sum
}

func earliest(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.Before(*a)) {
		return b
	}
	return a
}

func latestOf(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

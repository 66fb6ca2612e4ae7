package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// errNoSession reports that the wanted session is not in the store.
var errNoSession = errors.New("no such session")

// selectSession resolves the configured session: an explicit id must
// exist; auto picks among completed, non-empty sessions that pass the
// filter.
func selectSession(ctx context.Context, store sessionstore.Store, cfg *Config, rnd *rand.Rand) (*sessionstore.Metadata, error) {
	if cfg.Session != AutoSession {
		return readSession(ctx, store, cfg.Session)
	}
	list, err := sessionstore.ListSessions(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("list sessions in %s: %w", store, err)
	}
	var candidates []*sessionstore.Metadata
	for _, s := range list {
		if s.Err != nil || !matches(s.Metadata, &cfg.Filter) {
			continue
		}
		candidates = append(candidates, s.Metadata)
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: no completed, non-empty session in %s matches%s; %s",
			errNoSession, store, describeFilter(&cfg.Filter), describeSessions(list, nil))
	}
	return pick(candidates, cfg.Selection, rnd), nil
}

func matches(m *sessionstore.Metadata, f *FilterConfig) bool {
	if m.Status != sessionstore.StatusCompleted || m.Items() == 0 {
		return false
	}
	if f.SessionType != "" && string(m.SessionType) != f.SessionType {
		return false
	}
	for k, v := range f.Labels {
		if got, ok := m.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// readSession reads the metadata of session id; one that does not exist
// is errNoSession, with what the store holds.
func readSession(ctx context.Context, store sessionstore.Store, id string) (*sessionstore.Metadata, error) {
	m, err := sessionstore.ReadMetadata(ctx, store, id)
	if errors.Is(err, sessionstore.ErrNotFound) {
		list, lerr := sessionstore.ListSessions(ctx, store)
		return nil, fmt.Errorf("%w %q in %s; %s", errNoSession, id, store, describeSessions(list, lerr))
	}
	if err != nil {
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	return m, nil
}

// newer orders sessions by start time, then id.
func newer(a, b *sessionstore.Metadata) int {
	if d := a.StartTime.Compare(b.StartTime); d != 0 {
		return d
	}
	return strings.Compare(a.SessionID, b.SessionID)
}

// pick applies a strategy; ties go to the newest session, then the id, so
// the choice is stable.
func pick(c []*sessionstore.Metadata, sel Selection, rnd *rand.Rand) *sessionstore.Metadata {
	switch sel {
	case SelectionLargest:
		return slices.MaxFunc(c, func(a, b *sessionstore.Metadata) int {
			if a.Items() != b.Items() {
				return cmpInt(a.Items(), b.Items())
			}
			return newer(a, b)
		})
	case SelectionSmallest:
		return slices.MinFunc(c, func(a, b *sessionstore.Metadata) int {
			if a.Items() != b.Items() {
				return cmpInt(a.Items(), b.Items())
			}
			return -newer(a, b)
		})
	case SelectionRandom:
		slices.SortFunc(c, newer)
		return c[rnd.IntN(len(c))]
	default:
		return slices.MaxFunc(c, newer)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func describeFilter(f *FilterConfig) string {
	var parts []string
	if f.SessionType != "" {
		parts = append(parts, "session_type "+f.SessionType)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		parts = append(parts, fmt.Sprintf("label %s=%s", k, f.Labels[k]))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// describeSessions says what a listing of the store holds, for error
// messages.
func describeSessions(list []sessionstore.SessionInfo, err error) string {
	if err != nil {
		return "could not list sessions: " + err.Error()
	}
	if len(list) == 0 {
		return "the store holds no sessions"
	}
	const most = 20
	var parts []string
	for i, s := range list {
		if i == most {
			parts = append(parts, fmt.Sprintf("… and %d more", len(list)-most))
			break
		}
		switch {
		case s.Err != nil:
			parts = append(parts, s.ID+" (unreadable metadata)")
		default:
			parts = append(parts, fmt.Sprintf("%s (%s, %d items)", s.ID, s.Metadata.Status, s.Metadata.Items()))
		}
	}
	return "sessions there: " + strings.Join(parts, ", ")
}

// selectWindow returns the sessions selection: window takes, oldest
// first: completed, non-empty, matching the filter, and capturing during
// time_range (widened by the time an item may take to arrive: clockSkew
// before, arrivalLag after).
func selectWindow(ctx context.Context, store sessionstore.Store, cfg *Config) ([]*sessionstore.Metadata, error) {
	start, end, err := cfg.TimeRange.absolute()
	if err != nil {
		return nil, err
	}
	list, err := sessionstore.ListSessions(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("list sessions in %s: %w", store, err)
	}
	var picked []*sessionstore.Metadata
	for _, s := range list {
		if s.Err == nil && matches(s.Metadata, &cfg.Filter) && s.Metadata.CaptureOverlaps(start.Add(-clockSkew), end.Add(arrivalLag)) {
			picked = append(picked, s.Metadata)
		}
	}
	if len(picked) == 0 {
		return nil, fmt.Errorf("%w: no completed, non-empty session in %s%s was capturing from %s to %s; %s", errNoSession, store,
			describeFilter(&cfg.Filter), start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), describeSessions(list, nil))
	}
	slices.SortFunc(picked, newer)
	return picked, nil
}

// readSessions reads the metadata of the sessions sessions: names.
func readSessions(ctx context.Context, store sessionstore.Store, ids []string) ([]*sessionstore.Metadata, error) {
	ms := make([]*sessionstore.Metadata, 0, len(ids))
	for _, id := range ids {
		m, err := readSession(ctx, store, id)
		if err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// mergeMetadata is the view of several sessions as one (of one, that
// session's own metadata): merged as the
// views of one session's writers are (sessionstore.Merge: counts summed,
// time ranges united, completed only when all completed, failed when any
// failed), named by their ids joined by commas.
func mergeMetadata(ms []*sessionstore.Metadata) *sessionstore.Metadata {
	if len(ms) == 1 {
		return ms[0]
	}
	views := map[string]*sessionstore.Metadata{}
	ids := make([]string, len(ms))
	for i, m := range ms {
		views[m.SessionID], ids[i] = m, m.SessionID
	}
	out := sessionstore.Merge(views)
	out.SessionID = strings.Join(ids, ",")
	return out
}

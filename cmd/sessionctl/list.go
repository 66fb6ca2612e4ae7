package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// listFilter selects sessions by their metadata; its zero value selects
// every session.
type listFilter struct {
	typ    sessionstore.SessionType
	status sessionstore.Status
	labels map[string]string // every one must match
	since  time.Time         // started at or after
}

// empty reports whether the filter selects every session, unreadable
// ones included.
func (f *listFilter) empty() bool {
	return f.typ == "" && f.status == "" && len(f.labels) == 0 && f.since.IsZero()
}

// matches reports whether a session with metadata m is selected. A session
// whose metadata could not be read (m nil) matches only the empty filter:
// nothing is known of its type, status, labels or start.
func (f *listFilter) matches(m *sessionstore.Metadata) bool {
	if m == nil {
		return f.empty()
	}
	if f.typ != "" && m.SessionType != f.typ {
		return false
	}
	if f.status != "" && m.Status != f.status {
		return false
	}
	for k, v := range f.labels {
		if got, ok := m.Labels[k]; !ok || got != v {
			return false
		}
	}
	return f.since.IsZero() || !m.StartTime.Before(f.since)
}

// parseListFilter reads the values of --type, --status and --since (the
// labels come parsed), naming a bad value in the error.
func parseListFilter(typ, status, since string, labels map[string]string, now time.Time) (listFilter, error) {
	f := listFilter{labels: labels}
	switch t := sessionstore.SessionType(typ); t {
	case "", sessionstore.SessionTypeCapture, sessionstore.SessionTypeSeed, sessionstore.SessionTypeTraining:
		f.typ = t
	default:
		return f, fmt.Errorf("--type %q: want capture, seed or training", typ)
	}
	switch s := sessionstore.Status(status); s {
	case "", sessionstore.StatusActive, sessionstore.StatusCompleted, sessionstore.StatusFailed:
		f.status = s
	default:
		return f, fmt.Errorf("--status %q: want active, completed or failed", status)
	}
	if since == "" {
		return f, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
		f.since = t.UTC()
		return f, nil
	}
	d, err := time.ParseDuration(since)
	if err != nil {
		return f, fmt.Errorf("--since %q: want an RFC 3339 time (2026-12-01T00:00:00Z) or a duration meaning that long ago (24h)", since)
	}
	if d < 0 {
		return f, fmt.Errorf("--since %q: a duration must not be negative: it means that long ago (%s)", since, since[1:])
	}
	f.since = now.Add(-d)
	return f, nil
}

// listEntry is a session as list --json prints it: what metadata.json says
// of its identity, state, size and ground truth, or why it could not be
// read.
type listEntry struct {
	ID          string                   `json:"id"`
	Type        sessionstore.SessionType `json:"type,omitempty"`
	Status      sessionstore.Status      `json:"status,omitempty"`
	StartTime   *time.Time               `json:"startTime,omitempty"`
	EndTime     *time.Time               `json:"endTime,omitempty"`
	Counts      *sessionstore.ItemCounts `json:"counts,omitempty"` // spans, data points, log records
	StoredBytes int64                    `json:"storedBytes,omitempty"`
	Labels      map[string]string        `json:"labels,omitempty"`
	Description string                   `json:"description,omitempty"`
	// Seed is a seed session's pattern, parameters and phase table.
	Seed         *sessionstore.SeedInfo   `json:"seed,omitempty"`
	LostItems    *sessionstore.ItemCounts `json:"lostItems,omitempty"`
	DroppedItems *sessionstore.ItemCounts `json:"droppedItems,omitempty"`
	Error        string                   `json:"error,omitempty"`
}

func newListEntry(s sessionstore.SessionInfo) listEntry {
	if s.Err != nil {
		return listEntry{ID: s.ID, Error: s.Err.Error()}
	}
	m := s.Metadata
	start := m.StartTime
	return listEntry{
		ID:           s.ID,
		Type:         m.SessionType,
		Status:       m.Status,
		StartTime:    &start,
		EndTime:      m.EndTime,
		Counts:       &sessionstore.ItemCounts{Traces: m.CapturedTraces, Metrics: m.CapturedMetrics, Logs: m.CapturedLogs},
		StoredBytes:  m.TotalSizeBytes,
		Labels:       m.Labels,
		Description:  m.Description,
		Seed:         m.Seed,
		LostItems:    m.LostItems,
		DroppedItems: m.DroppedItems,
	}
}

// list prints the store's sessions that pass the filters, as a table or
// as one JSON array.
func (c *cli) list(args []string) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	asJSON := fs.Bool("json", false, "print one JSON array of the sessions")
	typ := fs.String("type", "", "only sessions of this type: capture, seed or training")
	status := fs.String("status", "", "only sessions of this status: active, completed or failed")
	since := fs.String("since", "", "only sessions started at or after this RFC 3339 time, or this long ago (a duration: 24h)")
	labels := labelsFlag{}
	fs.Var(labels, "label", "only sessions with the label key=value (repeat: all must match)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 0 {
		return c.fail("list takes no arguments (filters: --type, --status, --label, --since)")
	}
	filter, err := parseListFilter(*typ, *status, *since, labels, time.Now())
	if err != nil {
		return c.fail("list: %v", err)
	}
	list, err := sessionstore.ListSessions(c.ctx, c.st)
	if err != nil {
		return c.fail("list: %v", err)
	}
	entries := []listEntry{}
	var rows []sessionRow
	unreadable := 0
	for _, s := range list {
		if s.Err != nil {
			s.Metadata = nil
		}
		if !filter.matches(s.Metadata) {
			if s.Metadata == nil {
				unreadable++
			}
			continue
		}
		entries = append(entries, newListEntry(s))
		row := sessionRow{id: s.ID, m: s.Metadata}
		if s.Err != nil {
			row.err = s.Err.Error()
		}
		rows = append(rows, row)
	}
	if unreadable > 0 {
		fmt.Fprintf(c.errw, "sessionctl: list: %d sessions with unreadable metadata.json left out by the filters (list without filters shows them)\n", unreadable)
	}
	if *asJSON {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return c.fail("list: %v", err)
		}
		return exitOK
	}
	writeSessionTable(c.out, rows, false)
	return exitOK
}

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
)

// Annotations are what people add to a session after it was captured
// (`sessionctl annotate`, POST /v1/sessions/{id}/annotations): phases by
// event time, labels, flags and notes.
//
// Each annotate stores its change as an object of its own,
// sessions/{id}/annotations/{unixMillis}-{uuid}.json, never rewritten:
// two annotators at once write two objects, so neither loses the other's
// change, with no conditional write. The session's annotations are the
// changes applied in key order (a later change to the same phase or label
// wins). Live writers rewrite metadata.json from their views, which know
// nothing of annotations: WriteMetadata overlays the annotations on
// whatever it writes, so every rewrite keeps them. Writer views and the
// listing of data objects never see them.

const (
	annotationsDir = "annotations/"
	// maxAnnotationBytes caps one stored change: a larger one is refused
	// when written, and read as corrupt.
	maxAnnotationBytes = 1 << 20
	// annotateAttempts bounds how often Annotate rewrites metadata.json
	// when writers or annotators change the session while it writes.
	annotateAttempts = 8
	maxPhaseName     = 128
	maxLabelKey      = 256
	maxText          = 4096
)

// Annotations is a session's annotations, as metadata.json's
// `annotations` field holds them. Their labels are also in `labels` (an
// annotated value over a writer's) and their flags in `enabledFlags`.
type Annotations struct {
	Phases []AnnotatedPhase  `json:"phases,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Flags  []string          `json:"flags,omitempty"`
	Notes  []string          `json:"notes,omitempty"`
}

// AnnotatedPhase is a named range of event time [Start, End).
type AnnotatedPhase struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// AnnotationRequest is one annotate: what it adds and removes. Removals
// apply before additions.
type AnnotationRequest struct {
	Phases       []PhaseSpec       `json:"phases,omitempty"`
	RemovePhases []string          `json:"remove_phases,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	RemoveLabels []string          `json:"remove_labels,omitempty"`
	Flags        []string          `json:"flags,omitempty"`
	Notes        []string          `json:"notes,omitempty"`
}

// PhaseSpec names a phase and its range of event time: From and To are
// RFC 3339 times or durations from the session's first event (as
// session_replay's time_range takes them).
type PhaseSpec struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// annotationChange is one stored annotate, its phases resolved to times.
type annotationChange struct {
	SchemaVersion int               `json:"schemaVersion"`
	Time          time.Time         `json:"time"`
	By            string            `json:"by,omitempty"`
	Phases        []AnnotatedPhase  `json:"phases,omitempty"`
	RemovePhases  []string          `json:"removePhases,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	RemoveLabels  []string          `json:"removeLabels,omitempty"`
	Flags         []string          `json:"flags,omitempty"`
	Notes         []string          `json:"notes,omitempty"`
}

// ParseRangeEnd parses one end of a range of event time: an RFC 3339
// time, or a non-negative duration from the session's first event
// (isOffset). "" is open.
func ParseRangeEnd(s string) (at time.Time, offset time.Duration, isOffset bool, err error) {
	if s == "" {
		return time.Time{}, 0, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), 0, false, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, 0, false, errors.New("want an RFC 3339 time or a duration from the session start (e.g. 5m)")
	}
	if d < 0 {
		return time.Time{}, 0, false, errors.New("a duration from the session start must not be negative")
	}
	return time.Time{}, d, true, nil
}

// EventBase is where offsets into a session count from: its first
// event, or its start when it has no event time range.
func (m *Metadata) EventBase() time.Time {
	if m.EventTimeRange != nil && !m.EventTimeRange.Start.IsZero() {
		return m.EventTimeRange.Start
	}
	return m.StartTime
}

// checkText refuses an empty or over-long text or one with control
// characters (newlines and tabs too, unless multiline).
func checkText(field, s string, limit int, multiline bool) error {
	if strings.TrimSpace(s) == "" {
		return confutil.Errorf(field, "must not be empty")
	}
	if len(s) > limit {
		return confutil.Errorf(field, "is %d bytes long, at most %d allowed", len(s), limit)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return confutil.Errorf(field, "%q: must not hold a control character", s)
		}
	}
	return nil
}

// resolve checks req and resolves its phases against base, the session's
// first event. Errors are FieldErrors naming the request's field.
func (req AnnotationRequest) resolve(base time.Time) (*annotationChange, error) {
	if len(req.Phases)+len(req.RemovePhases)+len(req.Labels)+len(req.RemoveLabels)+len(req.Flags)+len(req.Notes) == 0 {
		return nil, &confutil.FieldError{Err: errors.New("nothing to annotate: give a phase, label, flag or note to add, or a phase or label to remove")}
	}
	c := &annotationChange{SchemaVersion: SchemaVersion, RemovePhases: req.RemovePhases, RemoveLabels: req.RemoveLabels, Flags: req.Flags, Notes: req.Notes}
	at := func(field, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, confutil.Errorf(field, "must not be empty")
		}
		t, off, isOff, err := ParseRangeEnd(s)
		if err != nil {
			return time.Time{}, confutil.Errorf(field, "%q: %w", s, err)
		}
		if isOff {
			return base.Add(off), nil
		}
		return t, nil
	}
	for i, p := range req.Phases {
		field := fmt.Sprintf("phases[%d]", i)
		if err := checkText(field+".name", p.Name, maxPhaseName, false); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(c.Phases, func(q AnnotatedPhase) bool { return q.Name == p.Name }) {
			return nil, confutil.Errorf(field+".name", "%q: given twice", p.Name)
		}
		if slices.Contains(req.RemovePhases, p.Name) {
			return nil, confutil.Errorf(field+".name", "%q: both added and removed", p.Name)
		}
		start, err := at(field+".from", p.From)
		if err != nil {
			return nil, err
		}
		end, err := at(field+".to", p.To)
		if err != nil {
			return nil, err
		}
		if !end.After(start) {
			return nil, confutil.Errorf(field, "from %s is not before to %s", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
		}
		c.Phases = append(c.Phases, AnnotatedPhase{Name: p.Name, Start: start, End: end})
	}
	for i, name := range req.RemovePhases {
		if err := checkText(fmt.Sprintf("remove_phases[%d]", i), name, maxPhaseName, false); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(req.Labels)) {
		if k == "" {
			return nil, confutil.Errorf("labels", "a key is empty")
		}
		if err := checkText("labels."+k, k, maxLabelKey, false); err != nil {
			return nil, err
		}
		if slices.Contains(req.RemoveLabels, k) {
			return nil, confutil.Errorf("labels."+k, "both added and removed")
		}
		if v := req.Labels[k]; v != "" {
			if err := checkText("labels."+k, v, maxText, false); err != nil {
				return nil, err
			}
		}
	}
	c.Labels = req.Labels
	for i, k := range req.RemoveLabels {
		if err := checkText(fmt.Sprintf("remove_labels[%d]", i), k, maxLabelKey, false); err != nil {
			return nil, err
		}
	}
	for i, f := range req.Flags {
		if err := checkText(fmt.Sprintf("flags[%d]", i), f, maxLabelKey, false); err != nil {
			return nil, err
		}
	}
	for i, n := range req.Notes {
		if err := checkText(fmt.Sprintf("notes[%d]", i), n, maxText, true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// apply adds one change to a.
func (a *Annotations) apply(c *annotationChange) {
	a.Phases = slices.DeleteFunc(a.Phases, func(p AnnotatedPhase) bool {
		return slices.Contains(c.RemovePhases, p.Name) || slices.ContainsFunc(c.Phases, func(q AnnotatedPhase) bool { return q.Name == p.Name })
	})
	a.Phases = append(a.Phases, c.Phases...)
	slices.SortStableFunc(a.Phases, func(x, y AnnotatedPhase) int {
		if d := x.Start.Compare(y.Start); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	for _, k := range c.RemoveLabels {
		delete(a.Labels, k)
	}
	for k, v := range c.Labels {
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		a.Labels[k] = v
	}
	for _, f := range c.Flags {
		if !slices.Contains(a.Flags, f) {
			a.Flags = append(a.Flags, f)
		}
	}
	slices.Sort(a.Flags)
	a.Notes = append(a.Notes, c.Notes...)
}

// empty reports whether a holds nothing.
func (a *Annotations) empty() bool {
	return a == nil || len(a.Phases)+len(a.Labels)+len(a.Flags)+len(a.Notes) == 0
}

// Phase returns the annotated phase called name.
func (a *Annotations) Phase(name string) (AnnotatedPhase, bool) {
	if a == nil {
		return AnnotatedPhase{}, false
	}
	i := slices.IndexFunc(a.Phases, func(p AnnotatedPhase) bool { return p.Name == name })
	if i < 0 {
		return AnnotatedPhase{}, false
	}
	return a.Phases[i], true
}

// annotationsPrefix is where a session's annotation changes are stored.
func annotationsPrefix(id string) string { return sessionsDir + id + "/" + annotationsDir }

// annotationKeys lists the keys of a session's stored changes, in the
// order they apply.
func annotationKeys(ctx context.Context, s Store, id string) ([]string, error) {
	prefix := annotationsPrefix(id)
	var keys []string
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("list annotations of session %s: %w", id, err)
		}
		if strings.HasSuffix(info.Key, ".json") && !strings.Contains(strings.TrimPrefix(info.Key, prefix), "/") {
			keys = append(keys, info.Key)
		}
	}
	return keys, nil
}

// ReadAnnotations returns a session's annotations: its stored changes
// applied in order (nil when it has none). A change that cannot be read
// as one (corrupt, too large, of an unknown schema version) is left out
// and reported as an error matching ErrCorrupt next to the rest.
func ReadAnnotations(ctx context.Context, s Store, id string) (*Annotations, error) {
	if err := ValidateSessionID(id); err != nil {
		return nil, err
	}
	keys, err := annotationKeys(ctx, s, id)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	a := &Annotations{}
	var bad []error
	for _, key := range keys {
		data, err := readBounded(ctx, s, key, maxAnnotationBytes)
		if errors.Is(err, ErrNotFound) {
			continue // gone since the listing (the session is being removed)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		var c annotationChange
		if err == nil {
			if err = json.Unmarshal(data, &c); err != nil {
				err = fmt.Errorf("%w: decode %s: %w", ErrCorrupt, key, err)
			} else if c.SchemaVersion != SchemaVersion {
				err = fmt.Errorf("%w: %s: schemaVersion %d, want %d", ErrCorrupt, key, c.SchemaVersion, SchemaVersion)
			}
		}
		if err != nil {
			bad = append(bad, err)
			continue
		}
		a.apply(&c)
	}
	return a, errors.Join(bad...)
}

// readBounded reads the object under key, at most limit bytes of it (a
// larger one matches ErrCorrupt).
func readBounded(ctx context.Context, s Store, key string, limit int64) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := ReadAll(rc, limit)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%w: read %s: %w", ErrCorrupt, key, err)
		}
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return data, nil
}

// overlay puts a on m: it takes out what m's own annotations put in its
// labels and flags (m may be a metadata.json read back), then sets a as
// m's annotations, its labels over m's and its flags among m's.
func (m *Metadata) overlay(a *Annotations) {
	if old := m.Annotations; old != nil {
		for k, v := range old.Labels {
			if m.Labels[k] == v {
				delete(m.Labels, k)
			}
		}
		m.EnabledFlags = slices.DeleteFunc(m.EnabledFlags, func(f string) bool { return slices.Contains(old.Flags, f) })
		if len(m.Labels) == 0 {
			m.Labels = nil
		}
	}
	m.Annotations = nil
	if a.empty() {
		return
	}
	m.Annotations = a
	for k, v := range a.Labels {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels[k] = v
	}
	for _, f := range a.Flags {
		if !slices.Contains(m.EnabledFlags, f) {
			m.EnabledFlags = append(m.EnabledFlags, f)
		}
	}
	slices.Sort(m.EnabledFlags)
}

// Annotate stores req as a change of session id's annotations and
// rewrites its metadata.json, with every annotation stored so far, from
// its writers' views (from metadata.json itself for a session without
// any): its status and counts stay what the writers say. by says who
// annotated (kept in the change). It returns the metadata written. A
// session without a metadata.json matches ErrNotFound; bad input is a
// confutil.FieldError naming the request's field.
//
// When writers or other annotators change the session while it writes,
// it writes again from what they wrote; a live writer that keeps doing so
// (after annotateAttempts rounds) shows the annotation in its next
// rewrite anyway, since the change is stored first.
func Annotate(ctx context.Context, s Store, id string, req AnnotationRequest, by string) (*Metadata, error) {
	if err := ValidateSessionID(id); err != nil {
		return nil, err
	}
	cur, err := ReadMetadata(ctx, s, id)
	if err != nil {
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	change, err := req.resolve(cur.EventBase())
	if err != nil {
		return nil, err
	}
	keys, err := annotationKeys(ctx, s, id)
	if err != nil {
		return nil, err
	}
	// Keys order the changes: one made after another sorts after it,
	// whatever the clocks say.
	change.Time, change.By = time.Now().UTC(), by
	ms := change.Time.UnixMilli()
	if len(keys) > 0 {
		last := strings.TrimPrefix(keys[len(keys)-1], annotationsPrefix(id))
		if i := strings.IndexByte(last, '-'); i > 0 {
			if prev, err := strconv.ParseInt(last[:i], 10, 64); err == nil && prev >= ms {
				ms = prev + 1
			}
		}
	}
	data, err := json.MarshalIndent(change, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode annotation of session %s: %w", id, err)
	}
	if len(data)+1 > maxAnnotationBytes {
		return nil, &confutil.FieldError{Err: fmt.Errorf("the annotation is %d bytes encoded, at most %d allowed: annotate in several steps", len(data)+1, maxAnnotationBytes)}
	}
	key := fmt.Sprintf("%s%013d-%s.json", annotationsPrefix(id), ms, uuid.NewString())
	if err := s.Put(ctx, key, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("store annotation of session %s: %w", id, err)
	}
	// The change is stored: whatever fails now, the next write of
	// metadata.json (a writer's, a repair's, another annotate's) shows it.
	stored := func(err error) error {
		return fmt.Errorf("annotation of session %s stored as %s, but metadata.json not rewritten with it: %w", id, key, err)
	}
	var m *Metadata
	before, base, err := annotateBase(ctx, s, id)
	if err != nil {
		return nil, stored(err)
	}
	for range annotateAttempts {
		applied, err := writeMetadata(ctx, s, base)
		if err != nil {
			return nil, stored(err)
		}
		m = base
		after, next, err := annotateBase(ctx, s, id)
		if err != nil {
			return nil, stored(err)
		}
		now, err := ReadAnnotations(ctx, s, id)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return nil, stored(err)
		}
		if bytes.Equal(before, after) && sameAnnotations(applied, now) {
			break
		}
		before, base = after, next
	}
	return m, nil
}

// annotateBase returns what metadata.json is rewritten from: the merge of
// the session's writers' views (and those views encoded, to tell whether
// a writer changed them meanwhile), or metadata.json itself for a session
// without views, or whose merge completes it before a recount that the
// writer completing it made.
func annotateBase(ctx context.Context, s Store, id string) ([]byte, *Metadata, error) {
	views, err := ReadWriters(ctx, s, id)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, nil, err
	}
	enc, err := json.Marshal(views)
	if err != nil {
		return nil, nil, fmt.Errorf("encode writers of session %s: %w", id, err)
	}
	if m := Merge(views); m != nil && (m.Status != StatusCompleted || !m.NeedsRecount) {
		return enc, m, nil
	}
	m, err := ReadMetadata(ctx, s, id)
	if err != nil {
		return nil, nil, fmt.Errorf("session %q: %w", id, err)
	}
	return enc, m, nil
}

func sameAnnotations(a, b *Annotations) bool {
	if a.empty() || b.empty() {
		return a.empty() == b.empty()
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// extract cuts a window of capture times out of sessions into a new
// session: every data object captured in [from, to), whole, copied by the
// store (CopyObject on S3, a hard link on a directory) under the new
// session's key of the same signal, capture time and uuid, so that it
// replays like any session, in the same order. Each object is read first
// (through the decompressed size cap) to count what it holds; a bad one is
// not copied, but reported. metadata.json is written last, completed, with
// the counts of the objects copied: until then the new session has none,
// and an extract that stopped part-way leaves only objects (which
// `sessionctl rm --yes ID` removes; extract refuses that id until then).

// extractReport is what extract --json prints: the new session's totals
// and what each session gave.
type extractReport struct {
	Session          string                          `json:"session"`
	Status           sessionstore.Status             `json:"status"`
	From             time.Time                       `json:"from"`
	To               time.Time                       `json:"to"`
	Objects          int64                           `json:"objects"`
	Items            sessionstore.ItemCounts         `json:"items"`
	StoredBytes      int64                           `json:"storedBytes"`
	RawBytes         int64                           `json:"rawBytes"`
	FirstCaptureTime time.Time                       `json:"firstCaptureTime"`
	LastCaptureTime  time.Time                       `json:"lastCaptureTime"`
	BadObjects       int64                           `json:"badObjects"`
	Sources          []sessionstore.ExtractedSession `json:"sources"`
	Skipped          []extractSkipped                `json:"skipped,omitempty"`
}

// extractSkipped is a session overlapping the window that extract did not
// take (without --session): active, or its metadata unreadable.
type extractSkipped struct {
	Session string `json:"session"`
	Reason  string `json:"reason"`
}

// extractSource is a session to cut from: its metadata (nil when it has
// none readable: metaErr says why) and what was taken from it.
type extractSource struct {
	meta    *sessionstore.Metadata
	metaErr error
	took    sessionstore.ExtractedSession
}

// status describes the source's status for the output.
func (s *extractSource) status() string {
	if s.meta == nil {
		if errors.Is(s.metaErr, sessionstore.ErrNotFound) {
			return "no metadata.json"
		}
		return "metadata.json unreadable"
	}
	return statusText(s.meta)
}

func (c *cli) extract(args []string) int {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	fromFlag := fs.String("from", "", "start of the window of capture times, inclusive: an RFC 3339 time (2026-11-28T23:10:00Z),\n"+
		"a duration from now with its sign (-2h), or now")
	toFlag := fs.String("to", "", "end of the window, exclusive (as --from)")
	var sessions listFlag
	fs.Var(&sessions, "session", "a session to cut from, whatever its status (repeat for more); default: every completed or\n"+
		"failed session whose capture times overlap the window")
	id := fs.String("id", "", "id of the new session (default: generated, extract-<time>-<hex>)")
	description := fs.String("description", "", "its description")
	labels := labelsFlag{}
	fs.Var(labels, "label", "a label key=value of the new session (repeat for more)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	maxBytes := fs.Int64("max-object-bytes", sessionstore.DefaultRecountObjectBytes, "decompressed size cap per object (each is read to count its items)")
	parallel := fs.Int("parallel", 4, "objects read and copied at a time")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) > 0 {
		return c.fail("extract takes no arguments (the sessions: --session ID): %s", strings.Join(pos, " "))
	}
	if *fromFlag == "" || *toFlag == "" {
		return c.fail("extract needs --from and --to, the window of capture times (e.g. --from 2026-11-28T23:10:00Z --to 2026-11-28T23:40:00Z, or --from -2h --to -1h)")
	}
	now := time.Now().UTC()
	from, err := parseWindowEnd("--from", *fromFlag, now)
	if err != nil {
		return c.fail("%v", err)
	}
	to, err := parseWindowEnd("--to", *toFlag, now)
	if err != nil {
		return c.fail("%v", err)
	}
	if !from.Before(to) {
		return c.fail("--from %s is not before --to %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	if *parallel < 1 || *maxBytes < 1 {
		return c.fail("--parallel and --max-object-bytes: want at least 1")
	}
	newID := *id
	if newID == "" {
		newID = sessionstore.NewSessionID("extract", now)
	}
	if err := c.checkNewSession(newID); err != nil {
		return c.fail("%v", err)
	}
	var srcs []*extractSource
	var skipped []extractSkipped
	if len(sessions) > 0 {
		srcs, err = c.namedSources(sessions)
	} else {
		srcs, skipped, err = c.overlappingSources(from, to)
	}
	if err != nil {
		return c.fail("%v", err)
	}
	x := &extraction{st: c.st, errw: c.errw, id: newID, from: from, to: to, maxBytes: *maxBytes, srcs: srcs,
		counts: sessionstore.NewMetadata(newID, sessionstore.SessionTypeCapture, time.Time{}, "sessionctl extract")}
	if err := x.run(c.ctx, *parallel); err != nil {
		if x.copying {
			return c.fail("extract: %v; sessions/%s/ holds the objects copied so far and no metadata.json: sessionctl rm --yes %s removes them",
				err, newID, newID)
		}
		return c.fail("extract: %v", err)
	}
	if len(sessions) == 0 {
		// Of the sessions that overlap by their metadata, those used.
		srcs = slices.DeleteFunc(srcs, func(s *extractSource) bool {
			t := s.took
			return t.Objects+t.BadObjects+t.Duplicates+t.Gone == 0
		})
	}
	bad, gone := int64(0), int64(0)
	for _, s := range srcs {
		bad, gone = bad+s.took.BadObjects, gone+s.took.Gone
	}
	m := x.counts
	first, last := m.CaptureRange()
	if first.IsZero() { // no object copied
		c.printSkipped(skipped, *asJSON)
		if bad+gone > 0 {
			fmt.Fprintf(c.errw, "sessionctl: extract: nothing to extract: the %s captured in [%s, %s) are bad or gone (see above); no session written\n",
				plural(bad+gone, "object"), from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
		} else {
			fmt.Fprintf(c.errw, "sessionctl: extract: nothing to extract: no session holds objects captured in [%s, %s); no session written\n",
				from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
		}
		return exitProblems
	}
	m.StartTime, m.EndTime = first, &last
	m.Status = sessionstore.StatusCompleted
	m.SessionType = extractedType(srcs)
	m.Description = *description
	if len(labels) > 0 {
		m.Labels = maps.Clone(labels)
	}
	m.ExtractedFrom = &sessionstore.ExtractInfo{From: from, To: to, Sessions: make([]sessionstore.ExtractedSession, len(srcs))}
	for i, s := range srcs {
		m.ExtractedFrom.Sessions[i] = s.took
	}
	m.UpdatedTime = time.Now().UTC()
	if err := sessionstore.WriteMetadata(c.ctx, c.st, m); err != nil {
		return c.fail("extract: write metadata.json: %v; sessions/%s/ holds the objects copied and no metadata.json: sessionctl rm --yes %s removes them",
			err, newID, newID)
	}
	rep := extractReport{
		Session:          newID,
		Status:           m.Status,
		From:             from,
		To:               to,
		Items:            sessionstore.ItemCounts{Traces: m.CapturedTraces, Metrics: m.CapturedMetrics, Logs: m.CapturedLogs},
		StoredBytes:      m.TotalSizeBytes,
		FirstCaptureTime: first,
		LastCaptureTime:  last,
		BadObjects:       bad,
		Sources:          m.ExtractedFrom.Sessions,
		Skipped:          skipped,
	}
	for _, st := range m.Signals {
		rep.Objects += st.Objects
		rep.RawBytes += st.Bytes
	}
	if *asJSON {
		if err := json.NewEncoder(c.out).Encode(rep); err != nil {
			return c.fail("extract: %v", err)
		}
	} else {
		c.writeExtract(srcs, skipped, &rep, gone)
	}
	if bad+gone > 0 {
		return exitProblems
	}
	return exitOK
}

// parseWindowEnd reads --from or --to: an RFC 3339 time, a signed
// duration from now, or now.
func parseWindowEnd(name, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if s[0] != '-' && s[0] != '+' {
			return time.Time{}, fmt.Errorf("%s %q: a time relative to now needs a sign (-%s)", name, s, s)
		}
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want an RFC 3339 time (2026-11-28T23:10:00Z), a duration from now with its sign (-1h) or now", name, s)
}

// checkNewSession refuses an id a new session cannot have (see
// sessionstore.CheckNewSessionID), and one under which objects are stored
// without a metadata.json: what an interrupted extract leaves.
func (c *cli) checkNewSession(id string) error {
	if err := sessionstore.CheckNewSessionID(c.ctx, c.st, id); err != nil {
		return err
	}
	for _, err := range c.st.List(c.ctx, sessionstore.SessionPrefix(id)) {
		if err != nil {
			return fmt.Errorf("session %s: %w", id, err)
		}
		return fmt.Errorf("sessions/%s/ holds objects but no metadata.json (an interrupted extract?): sessionctl rm --yes %s removes them", id, id)
	}
	return nil
}

// namedSources are the sessions of --session, once each, in the order
// given, whatever their status: each must exist (a metadata.json, readable
// or not, or objects).
func (c *cli) namedSources(ids []string) ([]*extractSource, error) {
	var out []*extractSource
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := c.checkSession(id); err != nil {
			return nil, err
		}
		m, err := sessionstore.ReadMetadata(c.ctx, c.st, id)
		if errors.Is(err, sessionstore.ErrUnsupportedVersion) {
			return nil, err // a newer release's session: not read
		}
		src := &extractSource{meta: m, metaErr: err, took: sessionstore.ExtractedSession{Session: id}}
		if m != nil {
			src.took.Status = m.Status
		}
		out = append(out, src)
	}
	return out, nil
}

// overlappingSources are the completed and failed sessions whose capture
// times overlap [from, to), by their first capture; the others that
// overlap, or may (unreadable metadata), are skipped and said so. An
// active session is still being written (or a recorder's rolling session,
// whose oldest objects go): named with --session, it gives what it has
// stored so far.
func (c *cli) overlappingSources(from, to time.Time) ([]*extractSource, []extractSkipped, error) {
	list, err := sessionstore.ListSessions(c.ctx, c.st)
	if err != nil {
		return nil, nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []*extractSource
	var skipped []extractSkipped
	for _, s := range list {
		switch {
		case s.Err != nil:
			skipped = append(skipped, extractSkipped{Session: s.ID,
				Reason: fmt.Sprintf("metadata.json: %v; --session %s takes its objects", s.Err, s.ID)})
		case !s.Metadata.CaptureOverlaps(from, to):
		case s.Metadata.Status == sessionstore.StatusCompleted || s.Metadata.Status == sessionstore.StatusFailed:
			out = append(out, &extractSource{meta: s.Metadata, took: sessionstore.ExtractedSession{Session: s.ID, Status: s.Metadata.Status}})
		default:
			skipped = append(skipped, extractSkipped{Session: s.ID,
				Reason: fmt.Sprintf("%s (still being written; --session %s takes what it has stored so far)", s.Metadata.Status, s.ID)})
		}
	}
	slices.SortStableFunc(out, func(a, b *extractSource) int {
		fa, _ := a.meta.CaptureRange()
		fb, _ := b.meta.CaptureRange()
		return fa.Compare(fb)
	})
	return out, skipped, nil
}

// extractedType is the type of the sessions that gave objects, if they
// agree (and say); capture otherwise.
func extractedType(srcs []*extractSource) sessionstore.SessionType {
	var typ sessionstore.SessionType
	for _, s := range srcs {
		if s.took.Objects == 0 {
			continue
		}
		if s.meta == nil || (typ != "" && s.meta.SessionType != typ) {
			return sessionstore.SessionTypeCapture
		}
		typ = s.meta.SessionType
	}
	if typ == "" {
		return sessionstore.SessionTypeCapture
	}
	return typ
}

// extraction copies the objects of a window from its sources into session
// id and counts them.
type extraction struct {
	st       sessionstore.Store
	errw     io.Writer
	id       string
	from, to time.Time
	maxBytes int64
	srcs     []*extractSource

	mu      sync.Mutex
	counts  *sessionstore.Metadata // of the objects copied
	copying bool                   // a copy was tried: the new session may hold objects
}

// extractJob is one object of the window, of source src.
type extractJob struct {
	src *extractSource
	o   sessionstore.Object
}

// run lists each source's objects of the window (from the hour directory of
// from, until the first captured at or after to) and has them read,
// counted and copied, parallel at a time. An object whose uuid was listed
// already (the same batch in two sessions) is left out. The first error
// of the store ends it.
func (x *extraction) run(ctx context.Context, parallel int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan extractJob)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := x.take(ctx, j); err != nil {
					cancel(err)
				}
			}
		})
	}
	err := x.list(ctx, jobs)
	close(jobs)
	wg.Wait()
	if err != nil {
		cancel(err)
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// list sends the objects of the window to jobs.
func (x *extraction) list(ctx context.Context, jobs chan<- extractJob) error {
	seen := map[string]bool{} // uuids listed
	for _, src := range x.srcs {
		l := sessionstore.NewObjectLister(x.st, src.took.Session)
		l.From(x.from)
		for o, err := range l.All(ctx) {
			if err != nil {
				if errors.Is(err, sessionstore.ErrCorrupt) {
					x.note("%v: left out", err) // not a data object's key
					continue
				}
				return fmt.Errorf("list session %s: %w", src.took.Session, err)
			}
			if o.CaptureTime.Before(x.from) {
				continue
			}
			if !o.CaptureTime.Before(x.to) {
				break
			}
			if seen[o.ID] {
				x.mu.Lock()
				src.took.Duplicates++
				x.mu.Unlock()
				continue
			}
			seen[o.ID] = true
			select {
			case jobs <- extractJob{src: src, o: o}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	return nil
}

// take reads an object, to count what it holds, and copies it; a bad one
// is reported and left out, as is one deleted since it was listed.
func (x *extraction) take(ctx context.Context, j extractJob) error {
	o := j.o
	b, raw, err := sessionstore.ReadObject(ctx, x.st, o, x.maxBytes)
	switch {
	case errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrTooLarge):
		x.note("%v: not copied", err)
		x.mu.Lock()
		j.src.took.BadObjects++
		x.mu.Unlock()
		return nil
	case errors.Is(err, sessionstore.ErrNotFound):
		x.gone(j, err)
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", o.Key, err)
	}
	x.mu.Lock()
	x.copying = true
	x.mu.Unlock()
	if _, err := sessionstore.CopyToSession(ctx, x.st, o.Key, x.id); err != nil {
		if errors.Is(err, sessionstore.ErrNotFound) {
			x.gone(j, err)
			return nil
		}
		return err
	}
	items := int64(b.ItemCount())
	x.mu.Lock()
	defer x.mu.Unlock()
	x.counts.AddObject(o, b, raw)
	t := &j.src.took
	t.Objects++
	t.StoredBytes += o.Size
	switch o.Signal {
	case sessionstore.SignalTraces:
		t.Items.Traces += items
	case sessionstore.SignalMetrics:
		t.Items.Metrics += items
	case sessionstore.SignalLogs:
		t.Items.Logs += items
	}
	return nil
}

// gone counts an object deleted since it was listed.
func (x *extraction) gone(j extractJob, err error) {
	x.note("%s: deleted since it was listed (%v): not copied", j.o.Key, err)
	x.mu.Lock()
	j.src.took.Gone++
	x.mu.Unlock()
}

// note reports on stderr.
func (x *extraction) note(format string, a ...any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	fmt.Fprintf(x.errw, "sessionctl: extract: "+format+"\n", a...)
}

// writeExtract prints a line per session used, the sessions skipped and
// the new session's totals.
func (c *cli) writeExtract(srcs []*extractSource, skipped []extractSkipped, rep *extractReport, gone int64) {
	for _, s := range srcs {
		t := s.took
		fmt.Fprintf(c.out, "from %s, %s: %d objects, %d spans, %d data points, %d log records%s\n", t.Session, s.status(),
			t.Objects, t.Items.Traces, t.Items.Metrics, t.Items.Logs, leftOut(t.BadObjects, t.Duplicates, t.Gone))
	}
	c.printSkipped(skipped, false)
	fmt.Fprintf(c.out, "%s: %s, %d objects (%s stored), %d spans, %d data points, %d log records; captured %s to %s, from %s",
		rep.Session, rep.Status, rep.Objects, bytesHuman(rep.StoredBytes), rep.Items.Traces, rep.Items.Metrics, rep.Items.Logs,
		rep.FirstCaptureTime.Format(time.RFC3339Nano), rep.LastCaptureTime.Format(time.RFC3339Nano), plural(int64(len(srcs)), "session"))
	if rep.BadObjects > 0 {
		fmt.Fprintf(c.out, "; %s skipped (see stderr)", plural(rep.BadObjects, "bad object"))
	}
	if gone > 0 {
		fmt.Fprintf(c.out, "; %s deleted before they could be copied (see stderr)", plural(gone, "object"))
	}
	fmt.Fprintln(c.out)
}

// printSkipped prints the sessions skipped (for --json, only when nothing
// else is printed: on stderr).
func (c *cli) printSkipped(skipped []extractSkipped, toStderr bool) {
	w := c.out
	if toStderr {
		w = c.errw
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Session, s.Reason)
	}
}

// leftOut says what extract left out of a session.
func leftOut(bad, dups, gone int64) string {
	var parts []string
	if bad > 0 {
		parts = append(parts, "skipped "+plural(bad, "bad object"))
	}
	if dups > 0 {
		parts = append(parts, "skipped "+plural(dups, "duplicate")+" (copied already, the same uuid)")
	}
	if gone > 0 {
		parts = append(parts, plural(gone, "object")+" deleted before it could be copied")
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

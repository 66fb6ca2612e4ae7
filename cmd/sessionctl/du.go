package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// duCounts sums objects. RawBytes and Items are nil where unknown: per hour
// without --decode, and per signal when metadata.json does not say.
type duCounts struct {
	Objects     int64  `json:"objects"`
	StoredBytes int64  `json:"storedBytes"`
	RawBytes    *int64 `json:"rawBytes,omitempty"`
	Items       *int64 `json:"items,omitempty"`
}

func (c *duCounts) addObject(size int64) {
	c.Objects++
	c.StoredBytes += size
}

func addTo(p **int64, n int64) {
	if *p == nil {
		*p = new(int64)
	}
	**p += n
}

// add sums o into c; an unknown value makes the sum unknown.
func (c *duCounts) add(o *duCounts, first bool) {
	c.Objects += o.Objects
	c.StoredBytes += o.StoredBytes
	for _, f := range []struct{ dst, src **int64 }{{&c.RawBytes, &o.RawBytes}, {&c.Items, &o.Items}} {
		switch {
		case *f.src == nil:
			*f.dst = nil
		case first || *f.dst != nil:
			addTo(f.dst, **f.src)
		}
	}
}

type duHour struct {
	Hour    string                            `json:"hour"` // YYYY-MM-DD/HH, as in the keys (UTC)
	Signals map[sessionstore.Signal]*duCounts `json:"signals"`
}

// duSession is what du reports for one session.
type duSession struct {
	Session string `json:"session"`
	// ItemsFrom says where items and raw bytes per signal come from:
	// "objects" (--decode), "metadata.json", or "" (unknown).
	ItemsFrom string                            `json:"itemsFrom"`
	Hours     []*duHour                         `json:"hours"`
	Signals   map[sessionstore.Signal]*duCounts `json:"signals"`
	Total     duCounts                          `json:"total"`
	// OtherBytes are stored bytes under keys that are not data objects.
	OtherBytes int64 `json:"otherStoredBytes,omitempty"`
	// BadObjects could not be decoded (--decode) or have keys that are
	// not data object keys; Duplicates are later copies of an object
	// (same uuid), stored but not counted in items and raw bytes.
	BadObjects int `json:"badObjects,omitempty"`
	Duplicates int `json:"duplicates,omitempty"`
	// note is the metadata.json disagreement, for the text output.
	note []string
}

// du sums stored bytes, raw bytes and items of sessions per signal and per
// hour. See the usage for which numbers come from where.
func (c *cli) du(args []string) int {
	fs := flag.NewFlagSet("du", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	decode := fs.Bool("decode", false, "read and decode every object: items and raw bytes per hour, totals from the objects")
	asJSON := fs.Bool("json", false, "one JSON object per session per line")
	maxBytes := fs.Int64("max-object-bytes", sessionstore.DefaultRecountObjectBytes, "decompressed size cap per object (--decode)")
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(ids) == 0 {
		return c.fail("du needs at least one session id")
	}
	code := exitOK
	var all []*duSession
	for _, id := range ids {
		if err := c.checkSession(id); err != nil {
			return c.fail("%v", err)
		}
		s, err := c.duOne(id, *decode, *maxBytes)
		if err != nil {
			return c.fail("du: %v", err)
		}
		if s.BadObjects > 0 {
			code = exitProblems
		}
		all = append(all, s)
		if *asJSON {
			if err := json.NewEncoder(c.out).Encode(s); err != nil {
				return c.fail("du: %v", err)
			}
		}
	}
	if !*asJSON {
		writeDu(c.out, all)
	}
	return code
}

func (c *cli) duOne(id string, decode bool, maxBytes int64) (*duSession, error) {
	s := &duSession{Session: id, Signals: map[sessionstore.Signal]*duCounts{}}
	sig := func(m map[sessionstore.Signal]*duCounts, k sessionstore.Signal) *duCounts {
		if m[k] == nil {
			m[k] = &duCounts{}
		}
		return m[k]
	}
	seen := map[string]bool{}
	var hour *duHour
	for o, err := range sessionstore.ListObjects(c.ctx, c.st, id) {
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) {
				s.BadObjects++
				s.OtherBytes += o.Size
				fmt.Fprintf(c.errw, "sessionctl: du: %v\n", err)
				continue
			}
			return nil, fmt.Errorf("list %s: %w", id, err)
		}
		h := o.CaptureTime.UTC().Format("2006-01-02/15")
		if hour == nil || hour.Hour != h {
			hour = &duHour{Hour: h, Signals: map[sessionstore.Signal]*duCounts{}}
			s.Hours = append(s.Hours, hour)
		}
		hc, sc := sig(hour.Signals, o.Signal), sig(s.Signals, o.Signal)
		hc.addObject(o.Size)
		sc.addObject(o.Size)
		if !decode {
			continue
		}
		if seen[o.ID] {
			s.Duplicates++
			continue
		}
		seen[o.ID] = true
		b, raw, err := sessionstore.ReadObject(c.ctx, c.st, o, maxBytes)
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrTooLarge) {
				s.BadObjects++
				fmt.Fprintf(c.errw, "sessionctl: du: %v\n", err)
				continue
			}
			return nil, fmt.Errorf("read %w", err)
		}
		for _, x := range []*duCounts{hc, sc} {
			addTo(&x.RawBytes, int64(raw))
			addTo(&x.Items, int64(b.ItemCount()))
		}
	}
	if decode {
		s.ItemsFrom = "objects"
		for _, h := range s.Hours {
			for _, hc := range h.Signals {
				// Every object of the hour was bad or a duplicate: zero.
				addTo(&hc.RawBytes, 0)
				addTo(&hc.Items, 0)
			}
		}
		for _, sc := range s.Signals {
			addTo(&sc.RawBytes, 0)
			addTo(&sc.Items, 0)
		}
	}
	m, err := sessionstore.ReadMetadata(c.ctx, c.st, id)
	switch {
	case err == nil:
		c.duMetadata(s, m, decode)
	case errors.Is(err, sessionstore.ErrNotFound), errors.Is(err, sessionstore.ErrCorrupt), errors.Is(err, sessionstore.ErrUnsupportedVersion):
		if !decode {
			s.note = append(s.note, fmt.Sprintf("metadata.json: %v: items and raw bytes unknown (--decode counts them)", err))
		}
	default:
		return nil, err
	}
	first := true
	for _, k := range sessionstore.Signals {
		if sc := s.Signals[k]; sc != nil {
			s.Total.add(sc, first)
			first = false
		}
	}
	s.Total.StoredBytes += s.OtherBytes
	return s, nil
}

// duMetadata takes the items and raw bytes per signal from metadata.json
// (without --decode), or notes where it disagrees with the objects.
func (c *cli) duMetadata(s *duSession, m *sessionstore.Metadata, decode bool) {
	captured := map[sessionstore.Signal]int64{
		sessionstore.SignalTraces: m.CapturedTraces, sessionstore.SignalMetrics: m.CapturedMetrics, sessionstore.SignalLogs: m.CapturedLogs,
	}
	if decode {
		for _, k := range sessionstore.Signals {
			var got int64
			if sc := s.Signals[k]; sc != nil && sc.Items != nil {
				got = *sc.Items
			}
			if captured[k] != got {
				s.note = append(s.note, fmt.Sprintf("metadata.json says %d %s items, the objects hold %d (sessionctl verify)", captured[k], k, got))
			}
		}
		return
	}
	s.ItemsFrom = "metadata.json"
	for _, k := range sessionstore.Signals {
		sc := s.Signals[k]
		if sc == nil {
			if captured[k] == 0 {
				continue
			}
			sc = &duCounts{}
			s.Signals[k] = sc
		}
		if st := m.Signals[k]; st != nil {
			sc.Items, sc.RawBytes = ptr(st.Items), ptr(st.Bytes)
		} else {
			// The original tooling's metadata counts items, not raw bytes.
			sc.Items = ptr(captured[k])
		}
	}
}

func ptr(n int64) *int64 { return &n }

// writeDu writes the sessions as aligned tables.
func writeDu(w io.Writer, all []*duSession) {
	var grand duCounts
	grandSignals := map[sessionstore.Signal]*duCounts{}
	for i, s := range all {
		if i > 0 {
			fmt.Fprintln(w)
		}
		from := "items and raw bytes per signal from metadata.json (per hour: --decode)"
		switch {
		case s.ItemsFrom == "objects":
			from = "items and raw bytes counted from the objects"
		case s.ItemsFrom == "":
			from = "items and raw bytes unknown"
		}
		fmt.Fprintf(w, "%s: %d objects, %s stored; %s\n", s.Session, s.Total.Objects, bytesHuman(s.Total.StoredBytes), from)
		t := &table{right: []bool{false, false, true, true, true, true}}
		t.row("HOUR", "SIGNAL", "OBJECTS", "STORED", "RAW", "ITEMS")
		for _, h := range s.Hours {
			for _, k := range sessionstore.Signals {
				if hc := h.Signals[k]; hc != nil {
					t.counts(h.Hour, string(k), hc)
				}
			}
		}
		for _, k := range sessionstore.Signals {
			if sc := s.Signals[k]; sc != nil {
				t.counts("total", string(k), sc)
				if grandSignals[k] == nil {
					grandSignals[k] = &duCounts{}
					grandSignals[k].add(sc, true)
				} else {
					grandSignals[k].add(sc, false)
				}
			}
		}
		if s.OtherBytes > 0 {
			t.row("total", "other", "-", bytesHuman(s.OtherBytes), "-", "-")
		}
		t.counts("total", "all", &s.Total)
		t.write(w)
		for _, n := range s.note {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		if s.Duplicates > 0 {
			fmt.Fprintf(w, "note: %d later copies of objects (same uuid) are counted as stored, not in items and raw bytes\n", s.Duplicates)
		}
		if s.BadObjects > 0 {
			fmt.Fprintf(w, "note: %d bad objects (see stderr)\n", s.BadObjects)
		}
		grand.add(&s.Total, i == 0)
	}
	if len(all) < 2 {
		return
	}
	fmt.Fprintf(w, "\nall %d sessions:\n", len(all))
	t := &table{right: []bool{false, true, true, true, true}}
	t.row("SIGNAL", "OBJECTS", "STORED", "RAW", "ITEMS")
	for _, k := range sessionstore.Signals {
		if sc := grandSignals[k]; sc != nil {
			t.row(string(k), strconv.FormatInt(sc.Objects, 10), bytesHuman(sc.StoredBytes), human(sc.RawBytes), count(sc.Items))
		}
	}
	t.row("all", strconv.FormatInt(grand.Objects, 10), bytesHuman(grand.StoredBytes), human(grand.RawBytes), count(grand.Items))
	t.write(w)
}

func human(p *int64) string {
	if p == nil {
		return "-"
	}
	return bytesHuman(*p)
}

func count(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// table aligns columns: text to the left, numbers to the right.
type table struct {
	right []bool
	rows  [][]string
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) counts(hour, signal string, c *duCounts) {
	t.row(hour, signal, strconv.FormatInt(c.Objects, 10), bytesHuman(c.StoredBytes), human(c.RawBytes), count(c.Items))
}

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.right))
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var sb strings.Builder
	for _, r := range t.rows {
		sb.Reset()
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				sb.WriteString("  ")
			}
			if t.right[i] {
				sb.WriteString(pad + c)
			} else if i < len(r)-1 {
				sb.WriteString(c + pad)
			} else {
				sb.WriteString(c)
			}
		}
		sb.WriteByte('\n')
		_, _ = io.WriteString(w, sb.String())
	}
}

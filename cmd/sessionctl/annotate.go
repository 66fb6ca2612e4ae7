package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// phaseFlag is --phase NAME=FROM..TO, given once per phase.
type phaseFlag []sessionstore.PhaseSpec

func (p *phaseFlag) String() string {
	var out []string
	for _, s := range *p {
		out = append(out, s.Name+"="+s.From+".."+s.To)
	}
	return strings.Join(out, ",")
}

func (p *phaseFlag) Set(v string) error {
	name, rng, ok := strings.Cut(v, "=")
	from, to, ok2 := strings.Cut(rng, "..")
	if !ok || !ok2 {
		return fmt.Errorf("--phase %q: want NAME=FROM..TO (FROM and TO RFC 3339 times or durations from the session's first event, e.g. incident=5m..8m)", v)
	}
	*p = append(*p, sessionstore.PhaseSpec{Name: name, From: from, To: to})
	return nil
}

// annotate adds phases, labels, flags and notes to a session (and removes
// phases and labels), on the store or, with --control, through the API.
func (c *cli) annotate(args []string) int {
	fs := flag.NewFlagSet("annotate", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	var req sessionstore.AnnotationRequest
	labels := labelsFlag{}
	fs.Var((*phaseFlag)(&req.Phases), "phase", "a phase NAME=FROM..TO of event time, [FROM, TO): RFC 3339 times or durations\nfrom the session's first event (repeat for more; an existing NAME is replaced)")
	fs.Var((*listFlag)(&req.RemovePhases), "remove-phase", "an annotated phase to remove (repeat for more)")
	fs.Var(labels, "label", "a label key=value (repeat for more)")
	fs.Var((*listFlag)(&req.RemoveLabels), "remove-label", "an annotated label to remove (repeat for more)")
	fs.Var((*listFlag)(&req.Flags), "flag", "a flag that was enabled during the session (repeat for more)")
	fs.Var((*listFlag)(&req.Notes), "note", "a note (repeat for more)")
	store := new(string)
	asJSON := new(bool)
	if c.api != nil {
		store = fs.String("store", "", "annotate it in this store, as the API names it")
		asJSON = fs.Bool("json", false, "print the API's JSON (the metadata.json written)")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.fail("annotate needs one session id (and --phase, --label, --flag, --note, --remove-phase or --remove-label)")
	}
	id := pos[0]
	if err := sessionstore.ValidateSessionID(id); err != nil {
		return c.fail("%v", err)
	}
	if len(labels) > 0 {
		req.Labels = labels
	}
	var m *sessionstore.Metadata
	if c.api != nil {
		q := url.Values{}
		if *store != "" {
			q.Set("store", *store)
		}
		m = new(sessionstore.Metadata)
		body, err := c.api.do(c.ctx, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/annotations", q, req)
		if err = c.api.unmarshal(body, err, m); err != nil {
			return c.apiFail(err)
		}
		if *asJSON {
			c.print(true, body, nil)
			return exitOK
		}
	} else if m, err = sessionstore.Annotate(c.ctx, c.st, id, req, "sessionctl"); err != nil {
		if errors.Is(err, sessionstore.ErrNotFound) {
			return c.fail("%v", err)
		}
		return c.fail("annotate %s: %v", id, err)
	}
	writeAnnotations(c.out, m)
	return exitOK
}

// writeAnnotations writes a session's annotations, one line each.
func writeAnnotations(w io.Writer, m *sessionstore.Metadata) {
	fmt.Fprintf(w, "session %s annotated (status %s)\n", m.SessionID, m.Status)
	a := m.Annotations
	if a == nil {
		return
	}
	for _, p := range a.Phases {
		fmt.Fprintf(w, "phase %s: %s .. %s (%s)\n", p.Name, p.Start.UTC().Format(time.RFC3339Nano), p.End.UTC().Format(time.RFC3339Nano), p.End.Sub(p.Start))
	}
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		fmt.Fprintf(w, "label %s=%s\n", k, a.Labels[k])
	}
	for _, f := range a.Flags {
		fmt.Fprintf(w, "flag %s\n", f)
	}
	for _, n := range a.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

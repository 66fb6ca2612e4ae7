package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// phases prints a seed session's phase table (metadata.json's
// seed.phases), or a session's annotated phases, from the store or, with
// --control, from the API.
func (c *cli) phases(args []string) int {
	fs := flag.NewFlagSet("phases", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	store := new(string)
	if c.api != nil {
		store = fs.String("store", "", "read it from this store, as the API names it")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.fail("phases needs one session id")
	}
	id := pos[0]
	var m *sessionstore.Metadata
	if c.api != nil {
		m = new(sessionstore.Metadata)
		if _, err := c.remoteMetadata(id, *store, m); err != nil {
			return c.remoteErr(err)
		}
	} else if m, err = sessionstore.ReadMetadata(c.ctx, c.st, id); err != nil {
		return c.fail("%v", err)
	}
	if (m.Seed == nil || len(m.Seed.Phases) == 0) && m.Annotations != nil && len(m.Annotations.Phases) > 0 {
		writeAnnotatedPhases(c.out, id, m.Annotations.Phases)
		return exitOK
	}
	if m.Seed == nil || len(m.Seed.Phases) == 0 {
		typ := string(m.SessionType)
		if typ == "" {
			typ = "untyped"
		}
		fmt.Fprintf(c.errw, "sessionctl: session %s has no phase table (it is a %s session; seed_gen writes one into the seed sessions it generates)\n", id, typ)
		return exitProblems
	}
	writePhases(c.out, id, m.Seed)
	return exitOK
}

// writeAnnotatedPhases writes a session's annotated phases.
func writeAnnotatedPhases(w io.Writer, id string, phases []sessionstore.AnnotatedPhase) {
	fmt.Fprintf(w, "session %s: %d annotated phases\n", id, len(phases))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tSTART\tEND\tDURATION")
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Start.UTC().Format(time.RFC3339Nano), p.End.UTC().Format(time.RFC3339Nano), p.End.Sub(p.Start))
	}
	_ = tw.Flush()
}

// writePhases writes a seed session's pattern, seed and phase table.
func writePhases(w io.Writer, id string, s *sessionstore.SeedInfo) {
	fmt.Fprintf(w, "session %s: pattern %s, seed %d, %d phases\n", id, orDash(s.Pattern), s.Seed, len(s.Phases))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tINDEX\tSTART\tEND\tDURATION\tFLAGS\tITEMS")
	for _, p := range s.Phases {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", orDash(p.Name), p.Index,
			p.Start.UTC().Format(time.RFC3339Nano), p.End.UTC().Format(time.RFC3339Nano),
			p.End.Sub(p.Start), flagsText(p.Flags), p.Items)
	}
	_ = tw.Flush()
}

// flagsText is the flags a phase turns on (non-zero), name=value sorted by
// name, or "-": seed_gen lists every flag of the pattern in every phase,
// mostly at 0.
func flagsText(flags map[string]float64) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		if flags[k] != 0 {
			kv = append(kv, k+"="+strconv.FormatFloat(flags[k], 'g', -1, 64))
		}
	}
	if len(kv) == 0 {
		return "-"
	}
	return strings.Join(kv, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

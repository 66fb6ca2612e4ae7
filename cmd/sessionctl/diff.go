package main

import (
	"flag"
	"fmt"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// diff compares two sessions of the store (see internal/sessiondiff).
func (c *cli) diff(args []string) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	shifted := fs.Bool("shifted", false, "ids may differ by a consistent remapping and times by a shift per object (a replay)")
	maxDiffs := fs.Int("max-differences", sessiondiff.DefaultMaxDifferences, "differences shown per section (counts, items, trace shapes)")
	signal := fs.String("signal", "", "compare only this signal: traces, metrics or logs")
	maxBytes := fs.Int64("max-object-bytes", sessionstore.DefaultRecountObjectBytes, "decompressed size cap per object")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 2 {
		return c.fail("diff needs two session ids: A B")
	}
	sig, err := parseSignal(*signal)
	if err != nil {
		return c.fail("diff: %v", err)
	}
	if *maxDiffs < 1 {
		return c.fail("diff: --max-differences must be at least 1")
	}
	for _, id := range pos {
		if err := c.checkSession(id); err != nil {
			return c.fail("%v", err)
		}
	}
	opts := sessiondiff.Options{Shifted: *shifted, MaxDifferences: *maxDiffs}
	if sig != "" {
		opts.Signals = []sessionstore.Signal{sig}
	}
	r, err := sessiondiff.Compare(c.source(pos[0], sig, *maxBytes), c.source(pos[1], sig, *maxBytes), opts)
	if err != nil {
		return c.fail("diff: %v", err)
	}
	if err := r.WriteText(c.out, pos[0], pos[1]); err != nil {
		return c.fail("diff: %v", err)
	}
	if !r.Equal() {
		return exitProblems
	}
	return exitOK
}

// source reads a session for a comparison, object by object in capture
// order: later copies of an object are skipped (as replay does), spans are
// read whatever sig says (log records and exemplars point at them), and a
// bad object is an error (the comparison would be wrong without it).
func (c *cli) source(id string, sig sessionstore.Signal, maxBytes int64) sessiondiff.Source {
	return func(fn func(sessionstore.Batch) error) error {
		seen := map[string]bool{}
		for o, err := range sessionstore.ListObjectsByTime(c.ctx, c.st, id) {
			if err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			if sig != "" && o.Signal != sig && o.Signal != sessionstore.SignalTraces {
				continue
			}
			if seen[o.ID] {
				continue
			}
			seen[o.ID] = true
			b, _, err := sessionstore.ReadObject(c.ctx, c.st, o, maxBytes)
			if err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	}
}

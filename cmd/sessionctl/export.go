package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Export formats.
const (
	formatJSONL   = "jsonl"
	formatParquet = "parquet"
)

// maxFlagColumns bounds the flag columns a scan of the objects adds (the
// phase table holds at most 64 flags per phase).
const maxFlagColumns = 256

// export writes a row per span, metric data point and log record of a
// session, in capture order, as JSON lines or parquet. Objects are read
// and decoded one at a time through the decompressed size cap, and rows
// leave in bounded row groups: memory does not grow with the session.
func (c *cli) export(args []string) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	format := fs.String("format", "", "jsonl (a JSON object per row and line) or parquet")
	out := fs.String("out", "", "write to this file (default: stdout; parquet is never written to a terminal)")
	maxBytes := fs.Int64("max-object-bytes", sessionstore.DefaultRecountObjectBytes, "decompressed size cap per object")
	rowGroupRows := fs.Int64("row-group-rows", 32768, "parquet: rows per row group (what the writer holds in memory)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	switch {
	case len(pos) != 1:
		return c.fail("export needs one session id")
	case *format == "":
		return c.fail("export needs --format jsonl or parquet")
	case *format != formatJSONL && *format != formatParquet:
		return c.fail("export: --format %q: want jsonl or parquet", *format)
	case *rowGroupRows < 1:
		return c.fail("export: --row-group-rows %d: want at least 1", *rowGroupRows)
	}
	id := pos[0]
	if err := c.checkSession(id); err != nil {
		return c.fail("%v", err)
	}
	toStdout := *out == "" || *out == "-"
	if *format == formatParquet && toStdout && c.tty && !isDevNull(c.out) {
		return c.fail("export: parquet is binary: not written to a terminal (--out FILE, or redirect stdout)")
	}

	// What the schema needs before the first row: the session's type and
	// labels, and its phase flags.
	var typ sessionstore.SessionType
	var labels map[string]string
	var flags []string
	var annotated []sessionstore.AnnotatedPhase
	m, err := sessionstore.ReadMetadata(c.ctx, c.st, id)
	switch {
	case err == nil:
		typ, labels = m.SessionType, m.Labels
		if m.Annotations != nil {
			annotated = m.Annotations.Phases
		}
		flags = phaseFlags(m)
	case errors.Is(err, sessionstore.ErrCorrupt), errors.Is(err, sessionstore.ErrNotFound), errors.Is(err, sessionstore.ErrUnsupportedVersion):
		fmt.Fprintf(c.errw, "sessionctl: export: %s: metadata.json: %v: no session type or labels in the rows\n", id, err)
	default:
		return c.fail("export: %v", err)
	}
	if *format == formatParquet && (m == nil || m.Seed == nil || len(m.Seed.Phases) == 0) {
		// No phase table: the flags are found in the data, by a first pass.
		if flags, err = c.scanFlags(id, *maxBytes); err != nil {
			return c.fail("export: %v", err)
		}
	}

	w, commit, abort, err := openOutput(c.out, *out, toStdout)
	if err != nil {
		return c.fail("export: %v", err)
	}
	var sink rowSink
	var pq *parquetSink
	if *format == formatParquet {
		pq, err = newParquetSink(w, flags, labels, *rowGroupRows, map[string]string{"recordreplay.session_id": id})
		sink = pq
	} else {
		sink, err = newJSONLSink(w, labels)
	}
	if err != nil {
		abort()
		return c.fail("export: %v", err)
	}
	st, err := c.exportRows(id, typ, annotated, sink, *maxBytes)
	if err == nil {
		err = sink.close()
	}
	if err == nil {
		err = commit()
	}
	if err != nil {
		abort()
		return c.fail("export: %s: %v", id, err)
	}
	summary := fmt.Sprintf("sessionctl: export: %s: %d rows (%d spans, %d data points, %d log records) from %s",
		id, st.rows.Total(), st.rows.Traces, st.rows.Metrics, st.rows.Logs, plural(st.objects, "object"))
	if st.bad > 0 {
		summary += "; " + plural(st.bad, "bad object") + " skipped"
	}
	fmt.Fprintln(c.errw, summary)
	if pq != nil {
		if unknown := pq.unknownFlags(); len(unknown) > 0 {
			fmt.Fprintf(c.errw, "sessionctl: export: %s: flags not in the metadata's phase table, left out of the columns: %s\n", id, strings.Join(unknown, ", "))
		}
	}
	if st.bad > 0 {
		return exitProblems
	}
	return exitOK
}

// phaseFlags are the flag names of a seed session's phase table, sorted.
func phaseFlags(m *sessionstore.Metadata) []string {
	if m.Seed == nil {
		return nil
	}
	set := map[string]bool{}
	for _, p := range m.Seed.Phases {
		for name := range p.Flags {
			set[name] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// exportStats counts what an export wrote and skipped.
type exportStats struct {
	rows    sessionstore.ItemCounts
	objects int64 // read and exported
	bad     int64 // skipped: corrupt or over the cap
}

// eachBatch calls fn with the session's objects, decoded, one at a time in
// capture order; bad objects (a key off the layout, corrupt, over the cap)
// go to bad and are skipped, as are later copies of an object (the same
// uuid: replay delivers it once). A store error ends it.
func (c *cli) eachBatch(id string, maxBytes int64, bad func(error), fn func(sessionstore.Batch) error) error {
	seen := map[string]bool{}
	for o, err := range sessionstore.ListObjectsByTime(c.ctx, c.st, id) {
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) {
				bad(err)
				continue
			}
			return fmt.Errorf("list %s: %w", id, err)
		}
		if seen[o.ID] {
			continue
		}
		seen[o.ID] = true
		b, _, err := sessionstore.ReadObject(c.ctx, c.st, o, maxBytes)
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrTooLarge) {
				bad(err)
				continue
			}
			return fmt.Errorf("read %w", err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// exportRows writes the rows of the session's objects into sink.
func (c *cli) exportRows(id string, typ sessionstore.SessionType, annotated []sessionstore.AnnotatedPhase, sink rowSink, maxBytes int64) (exportStats, error) {
	var st exportStats
	maker := newRowMaker(id, typ, sink.write)
	maker.annotated(annotated)
	err := c.eachBatch(id, maxBytes, func(err error) {
		st.bad++
		fmt.Fprintf(c.errw, "sessionctl: export: skipped: %v\n", err)
	}, func(b sessionstore.Batch) error {
		n, err := maker.batch(b)
		switch b.Signal {
		case sessionstore.SignalTraces:
			st.rows.Traces += n
		case sessionstore.SignalMetrics:
			st.rows.Metrics += n
		case sessionstore.SignalLogs:
			st.rows.Logs += n
		}
		st.objects++
		return err
	})
	return st, err
}

// scanFlags reads the session once for the phase flags its items and
// resources carry (test.phase.flag.<name>), for a session without a
// phase table. Bad objects are left to the export to report.
func (c *cli) scanFlags(id string, maxBytes int64) ([]string, error) {
	set := map[string]bool{}
	maker := newRowMaker(id, "", func(r *exportRow) error {
		for name := range r.Flags {
			if len(set) < maxFlagColumns {
				set[name] = true
			}
		}
		return nil
	})
	err := c.eachBatch(id, maxBytes, func(error) {}, func(b sessionstore.Batch) error {
		_, err := maker.batch(b)
		return err
	})
	return slices.Sorted(maps.Keys(set)), err
}

// isDevNull reports whether w is the null device, a character device that
// isTerminal cannot tell from a terminal.
func isDevNull(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(fi, null)
}

// openOutput opens where an export goes: stdout, or path. A regular file
// is written under a temporary name in its directory and renamed by
// commit, so an export that fails leaves no partial file (abort removes
// it); a path that exists and is not a regular file (/dev/null, a pipe)
// is written in place.
func openOutput(stdout io.Writer, path string, toStdout bool) (w io.Writer, commit func() error, abort func(), err error) {
	if toStdout {
		return stdout, func() error { return nil }, func() {}, nil
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, nil, err
		}
		return f, f.Close, func() { _ = f.Close() }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, nil, nil, err
	}
	commit = func() error {
		if err := f.Chmod(0o644); err != nil { // CreateTemp's 0600 is for the temporary name only
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), path)
	}
	abort = func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	return f, commit, abort, nil
}

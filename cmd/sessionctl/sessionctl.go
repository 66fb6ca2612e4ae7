package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

const usage = `sessionctl manages recorded sessions, on a store or through a running collector.

Usage:
  sessionctl [store flags] list [--json] [--type T] [--status S] [--label k=v]... [--since T]
  sessionctl [store flags] show ID
  sessionctl [store flags] phases ID
  sessionctl [store flags] verify [--repair [--force]] [--max-object-bytes N] ID...
  sessionctl [store flags] cat ID [--signal traces|metrics|logs] [--json] [--max-object-bytes N]
  sessionctl [store flags] du ID... [--decode] [--json] [--max-object-bytes N]
  sessionctl [store flags] diff A B [--shifted] [--max-differences N] [--signal S] [--max-object-bytes N]
  sessionctl [store flags] extract --from T --to T [--session ID]... [--id NEW] [--label k=v]...
                           [--description D] [--json] [--parallel N] [--max-object-bytes N]
  sessionctl [store flags] annotate ID [--phase NAME=FROM..TO]... [--label k=v]... [--flag F]...
                           [--note TEXT]... [--remove-phase NAME]... [--remove-label k]...
  sessionctl [store flags] export ID --format jsonl|parquet [--out FILE] [--row-group-rows N] [--max-object-bytes N]
  sessionctl [store flags] rm --yes ID...
  sessionctl [store flags] prune --older-than DURATION [--dry-run]

  sessionctl --control URL [--token T] sessions [--type T] [--status S] [--store S] [--json]
  sessionctl --control URL [--token T] show ID | phases ID [--store S]
  sessionctl --control URL [--token T] annotate ID [annotate's flags] [--store S] [--json]
  sessionctl --control URL [--token T] capture list | status [C] | pause [C] | resume [C] [--json]
  sessionctl --control URL [--token T] capture new [C] [--id ID] [--description D] [--label k=v]...
                                         [--flag F]... [--diagnostic ID] [--json]
  sessionctl --control URL [--token T] replay list | stop [C] [--json]
  sessionctl --control URL [--token T] replay status [C] [--watch [--interval 1s]] [--json]
  sessionctl --control URL [--token T] replay start [C] [--session ID | --sessions ID,ID...] [--selection S]
                                         [--speed X] [--timestamps M] [--loops N] [--max-duration D]
                                         [--phase P]... [--time-range START..END] [--copies N]
                                         [--wait [--interval 1s]] [--json]

list  prints the store's sessions: type, status, start, duration, counts,
      stored size. --json prints one JSON array instead: per session its id,
      type, status, start and end, counts per signal, stored bytes, labels,
      description and, for a seed, its pattern and phase table (a session whose
      metadata.json is unreadable: its id and error). Filters, for both:
      --type, --status, --label k=v (repeatable: all must match), --since T (an
      RFC 3339 time, or a duration meaning that long ago: sessions started at
      or after it). A session with unreadable metadata matches no filter.
verify recounts a session from its objects and compares the counts with its
      metadata.json (exit 1 on a mismatch or bad objects). --repair rewrites
      metadata.json from the objects: later copies of an object are deleted, a
      session left active by a crash becomes completed, ending at its last
      object. It refuses a session that a writer is still writing (its view in
      writers/ says open and was updated in the last 5m): that writer writes
      its view, with its own counts, again, and they would count twice. Stop
      the writer first (capture new ends its session; or stop its collector),
      or wait until its view is 5m old, and repair again; --force repairs
      anyway, for a writer known to be gone (it crashed less than 5m ago).
annotate adds to a captured session what was going on: phases (a name and a
      range of event time [FROM, TO); FROM and TO are RFC 3339 times or
      durations from the session's first event, as a replay's time_range takes
      them), labels, flags and notes; --remove-phase and --remove-label take
      annotated ones away. They go into metadata.json (annotations; labels
      into labels, flags into enabledFlags) beside live writers, which keep
      them, and concurrent annotators each land. A replay's phases: [NAME]
      replays an annotated phase's items. Prints what the session has.
phases prints a seed session's phase table (metadata.json's seed.phases):
      name, index, start, end, duration, the flags it turns on (non-zero) and
      items of each phase, with the pattern and seed; for another session, its
      annotated phases (name, start, end, duration). A session without any:
      exit 1.
cat   prints a session's items in capture order, one line each: capture time,
      signal, service.name, then the span (name, kind, ids, duration, status,
      attributes), data point (metric, type, value, attributes) or log record
      (severity, body, ids). --json prints OTLP/JSON instead: one export request
      per stored object per line, the file exporter's format (jq reads it).
      Bad objects are reported on stderr and skipped; the exit status is then 1.
du    sums a session's objects per hour (its raw/YYYY-MM-DD/HH directories) and
      per signal. Objects and stored bytes come from the listing; items and raw
      (uncompressed) bytes per signal from metadata.json, as the writers counted
      them; per hour they show "-". --decode reads and decodes every object (the
      whole session) to count items and raw bytes per hour as well, and takes the
      totals from the objects too.
diff  compares session A with session B (e.g. a seed session with the capture
      of its replay): items per signal, per service and per span name / metric
      name / log severity; their attributes (resource, scope, item); trace
      shapes (parent/child trees from span ids, orphans included). Without
      --shifted, timestamps and trace/span ids must be equal. With --shifted,
      ids may differ by a consistent remapping and every item may be shifted in
      time by its own amount (a replay with timestamps current shifts each
      object by its own), but each item's internal timing must match: a span's
      duration and event offsets, a data point's interval, a log's observed
      offset. Exit 0 when equal (one line: items compared, the time shift), 1
      with the first differences, 2 on usage or read errors. Spans are read
      whatever --signal says: log records and exemplars point at them.
extract cuts the window of capture times [--from, --to) out of sessions into a
      new session NEW: every object captured in it, whole, copied by the store (a
      server-side copy on S3, a hard link on a directory) under NEW's key of the
      same capture time and uuid, so NEW replays like any session, in the same
      order; an object whose uuid was copied already is left out. T: an RFC 3339
      time, a duration from now with its sign (-2h), or now. Without --session,
      every completed or failed session whose capture times overlap the window
      (an active one is skipped and named: --session takes what it has stored so
      far). Each object is read to count what it holds; a bad one is not copied
      but reported (exit 1). metadata.json is written last: completed, with the
      counts of the objects copied and extractedFrom (the window and, per source,
      what was taken). NEW (default extract-<time>-<hex>) is refused if invalid,
      taken, or differing from an existing id only by case. An extract that stops
      part-way leaves objects and no metadata.json: rm --yes NEW removes them.
      Nothing in the window: exit 1, no session. Output: a line per source, then
      NEW's totals; --json: one JSON object.
export writes a row per span, metric data point and log record of a session,
      in capture order, as JSON lines or parquet (stdout, never a terminal for
      parquet; or --out FILE, renamed into place once complete): session id and
      type, signal, service.name, name (span name, metric name, log body),
      trace/span/parent ids (hex, empty where absent), time (unix nanos), a
      span's end, duration, kind and status, a point's metric type and value
      (count and sum for histograms and summaries), a log's severity, and the
      ground truth: phase_name, phase_index, fault_name, fault_root_cause (the
      item's test.* attributes, else its resource's), flag_<name> per phase
      flag, label_<key> per session label. Parquet's flag columns come from the
      phase table in metadata.json (without one, a first pass over the data
      finds them); row groups hold at most --row-group-rows rows. Objects are
      read one at a time; bad ones are reported on stderr and skipped, and
      the exit status is then 1. The last line on stderr counts the rows.

--control URL drives a running collector's session_control API (URL like
http://127.0.0.1:4320; a bare host:port means http) instead of a store:
  sessions       its stores' sessions, as list prints them (list works too)
  show, phases   read a session's metadata.json from it
  capture        list the registered session_capture exporters, or status, new
                 (complete the current session and open a new one), pause (drop
                 and count what arrives), resume one of them
  replay         list the registered session_replay receivers, or status, start
                 (with overrides of its config: only the flags given are sent),
                 stop one of them
C is a component id (session_capture, session_replay/shard0); without it, the
only registered capture or replay. Output: one line per capture or replay;
--json prints the API's JSON as it is. replay status --watch (and start --wait)
follows the progress, one line redrawn on a terminal, else one line per
interval:
  [#####-----] 52.3%  pass 0  objects 10/20  items 520/1000  p99 1.2ms  ETA 4.8s  running
and exits 0 when the replay finishes, 1 when it is stopped, 130 on Ctrl-C (the
replay goes on). An error of the API prints "error: <code>: <detail>" and exits
1; a usage error exits 2.

Flags (store flags: a directory by default; S3 when --s3-bucket is set; S3 credentials
come from the AWS environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles, roles):
`

// repairWriter is the writer whose view holds the counts of a repair.
const repairWriter = "sessionctl-repair"

// exit codes
const (
	exitOK       = 0
	exitProblems = 1 // verify found mismatches or bad objects, cat, du or extract bad objects, diff differences, extract nothing in its window; an API error, a stopped replay, no phase table
	exitUsage    = 2
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sessionctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "./data", "filesystem store root")
	bucket := fs.String("s3-bucket", "", "S3 bucket (selects the s3 backend)")
	prefix := fs.String("s3-prefix", "", "key prefix inside the bucket")
	region := fs.String("s3-region", "us-east-1", "S3 region")
	endpoint := fs.String("s3-endpoint", "", "S3 endpoint, e.g. http://minio:9000 (empty: AWS)")
	pathStyle := fs.Bool("s3-path-style", false, "path-style addressing (MinIO and most S3-compatible servers)")
	controlURL := fs.String("control", "", "URL of a running collector's session_control API, e.g. http://127.0.0.1:4320:\n"+
		"commands act through it instead of on a store")
	token := fs.String("token", "", "the control API's token, sent as \"Authorization: Bearer <token>\"\n"+
		"(default: $SESSIONCTL_CONTROL_TOKEN, else $CONTROL_TOKEN)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each control API request")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	c := &cli{ctx: ctx, out: stdout, errw: stderr, tty: isTerminal(stdout)}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var storeFlags, controlFlags []string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "dir" || strings.HasPrefix(f.Name, "s3-"):
			storeFlags = append(storeFlags, "--"+f.Name)
		case f.Name == "token" || f.Name == "timeout":
			controlFlags = append(controlFlags, "--"+f.Name)
		}
	})
	if *controlURL != "" {
		if len(storeFlags) > 0 {
			return c.fail("--control and %s exclude each other: a running collector's API, or a store", strings.Join(storeFlags, ", "))
		}
		api, err := newAPIClient(*controlURL, *token, *timeout)
		if err != nil {
			return c.fail("%v", err)
		}
		defer api.close()
		c.api = api
		return c.remote(cmd, rest)
	}
	if len(controlFlags) > 0 {
		return c.fail("%s: only with --control URL", strings.Join(controlFlags, ", "))
	}
	switch cmd {
	case "sessions", "capture", "replay":
		return c.fail("%s needs --control URL: the session_control API of a running collector (the sessions of a store: list)", cmd)
	}
	cfg := sessionstore.NewDefaultConfig()
	cfg.Directory = *dir
	if *bucket != "" {
		cfg.Backend = sessionstore.BackendS3
		cfg.S3.Bucket, cfg.S3.Prefix, cfg.S3.Region = *bucket, *prefix, *region
		cfg.S3.Endpoint, cfg.S3.UsePathStyle = *endpoint, *pathStyle
	} else if _, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(stderr, "sessionctl: store directory %s: %v\n", *dir, err)
		return exitUsage
	}
	st, err := sessionstore.Open(ctx, &cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sessionctl: %v\n", err)
		return exitUsage
	}
	defer st.Close()
	c.st = sessionstore.WithTimeout(st, cfg.Timeout)
	switch cmd {
	case "list", "ls":
		return c.list(rest)
	case "show":
		return c.show(rest)
	case "phases":
		return c.phases(rest)
	case "verify":
		return c.verify(rest)
	case "cat":
		return c.cat(rest)
	case "du":
		return c.du(rest)
	case "diff":
		return c.diff(rest)
	case "rm":
		return c.rm(rest)
	case "prune":
		return c.prune(rest)
	case "extract":
		return c.extract(rest)
	case "annotate":
		return c.annotate(rest)
	case "export":
		return c.export(rest)
	}
	fmt.Fprintf(stderr, "sessionctl: unknown command %q (list, show, phases, verify, cat, du, diff, extract, annotate, export, rm, prune; with --control: sessions, show, phases, annotate, capture, replay)\n", cmd)
	return exitUsage
}

type cli struct {
	ctx  context.Context
	st   sessionstore.Store // of the store commands
	api  *apiClient         // of the --control commands
	out  io.Writer
	errw io.Writer
	tty  bool // out is a terminal
}

func (c *cli) fail(format string, a ...any) int {
	fmt.Fprintf(c.errw, "sessionctl: "+format+"\n", a...)
	return exitUsage
}

// sessionRow is a session of list (and of sessions, through the API).
type sessionRow struct {
	store, id string
	m         *sessionstore.Metadata
	err       string // why m could not be read
}

// writeSessionTable writes the table of list; withStore adds a STORE
// column (the API lists the sessions of several stores).
func writeSessionTable(w io.Writer, rows []sessionRow, withStore bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	store := func(sessionRow) string { return "" }
	if withStore {
		fmt.Fprint(tw, "STORE\t")
		store = func(r sessionRow) string { return r.store + "\t" }
	}
	fmt.Fprintln(tw, "SESSION\tTYPE\tSTATUS\tSTART\tDURATION\tSPANS\tPOINTS\tLOGS\tSTORED")
	for _, r := range rows {
		if r.m == nil {
			fmt.Fprintf(tw, "%s%s\t?\tunreadable\t\t\t\t\t\t%s\n", store(r), r.id, r.err)
			continue
		}
		m := r.m
		dur := "-"
		if m.EndTime != nil {
			dur = m.EndTime.Sub(m.StartTime).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", store(r), r.id, m.SessionType, statusText(m),
			m.StartTime.Format(time.RFC3339), dur, m.CapturedTraces, m.CapturedMetrics, m.CapturedLogs, bytesHuman(m.TotalSizeBytes))
	}
	_ = tw.Flush()
}

// statusText is a session's status with what it misses: items a writer
// dropped (its sending queue was full under backpressure: drop) or lost.
func statusText(m *sessionstore.Metadata) string {
	var miss []string
	if n := m.DroppedItems.Total(); n > 0 {
		miss = append(miss, fmt.Sprintf("%d dropped", n))
	}
	if n := m.LostItems.Total(); n > 0 {
		miss = append(miss, fmt.Sprintf("%d lost", n))
	}
	if len(miss) == 0 {
		return string(m.Status)
	}
	return fmt.Sprintf("%s (%s)", m.Status, strings.Join(miss, ", "))
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments (diff A B --shifted, as the usage shows them) and
// returns the positional ones; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseSignal reads a --signal value ("" for all signals).
func parseSignal(s string) (sessionstore.Signal, error) {
	if s == "" || sessionstore.Signal(s).Valid() {
		return sessionstore.Signal(s), nil
	}
	return "", fmt.Errorf("unknown signal %q: want traces, metrics or logs", s)
}

// checkSession fails unless the session id is valid and the session has
// metadata.json (readable or not) or data objects.
func (c *cli) checkSession(id string) error {
	if err := sessionstore.ValidateSessionID(id); err != nil {
		return err
	}
	_, err := sessionstore.ReadMetadata(c.ctx, c.st, id)
	if err == nil || errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrUnsupportedVersion) {
		return nil
	}
	if !errors.Is(err, sessionstore.ErrNotFound) {
		return err
	}
	for _, err := range sessionstore.ListObjects(c.ctx, c.st, id) {
		if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
			return err
		}
		return nil
	}
	return fmt.Errorf("no such session %q", id)
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func (c *cli) show(args []string) int {
	if len(args) != 1 {
		return c.fail("show needs one session id")
	}
	m, err := sessionstore.ReadMetadata(c.ctx, c.st, args[0])
	if err != nil {
		return c.fail("%v", err)
	}
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return c.fail("%v", err)
	}
	return exitOK
}

// verify recounts a session from its objects and compares with its
// metadata; --repair writes the recounted metadata (a session left active by
// a crash becomes completed, ending at its last object).
func (c *cli) verify(args []string) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	repair := fs.Bool("repair", false, "rewrite metadata.json from the objects")
	force := fs.Bool("force", false, "with --repair: repair even while a writer looks live (its view open and updated\n"+
		"in the last "+sessionstore.LiveWindow.String()+"); only for a writer known to be gone, a running one would count its items twice")
	maxBytes := fs.Int64("max-object-bytes", 256<<20, "decompressed size cap per object")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		return c.fail("verify needs at least one session id")
	}
	if *force && !*repair {
		return c.fail("verify --force: only with --repair")
	}
	code := exitOK
	for _, id := range fs.Args() {
		if r := c.verifyOne(id, *repair, *force, *maxBytes); r != exitOK {
			code = r
		}
	}
	return code
}

func (c *cli) verifyOne(id string, repair, force bool, maxBytes int64) int {
	if err := sessionstore.ValidateSessionID(id); err != nil {
		return c.fail("%v", err)
	}
	stored, err := sessionstore.ReadMetadata(c.ctx, c.st, id)
	missing := errors.Is(err, sessionstore.ErrNotFound)
	if err != nil && !missing && !errors.Is(err, sessionstore.ErrCorrupt) {
		return c.fail("%v", err)
	}
	if err != nil {
		fmt.Fprintf(c.out, "%s: metadata.json: %v\n", id, err)
		stored = nil
	}
	rc, err := sessionstore.RecountSession(c.ctx, c.st, id, maxBytes)
	if err != nil {
		return c.fail("%v", err)
	}
	counted, bad, objects := rc.Counts, rc.Bad, rc.Objects
	counted.CreatedBy = "sessionctl verify --repair"
	if missing && objects == 0 {
		return c.fail("no such session %q", id)
	}
	problems := slices.Clone(bad)
	for _, key := range rc.Duplicates {
		problems = append(problems, fmt.Sprintf("%s: duplicate: the same batch as an earlier object (same uuid), not counted", key))
	}
	if stored != nil {
		problems = append(problems, sessionstore.CountMismatches(stored, counted)...)
	} else {
		problems = append(problems, "metadata.json missing or unreadable")
	}
	for _, p := range problems {
		fmt.Fprintf(c.out, "%s: %s\n", id, p)
	}
	queued := int64(0)
	if stored != nil {
		queued = stored.QueuedItems.Total()
	}
	if len(problems) == 0 {
		fmt.Fprintf(c.out, "%s: ok (%d objects, %d spans, %d data points, %d log records)\n",
			id, objects, counted.CapturedTraces, counted.CapturedMetrics, counted.CapturedLogs)
		if queued > 0 {
			fmt.Fprintf(c.out, "%s: %d items wait in a stopped collector's persistent queue; its next run stores them\n", id, queued)
		}
		return exitOK
	}
	if !repair {
		return exitProblems
	}
	// The writers' own views agree with the old counts; one view of the
	// repaired counts replaces them, so that a writer that goes on later
	// (from its own file, now gone: from zero) merges with what the
	// objects hold. A writer still running keeps its counts in memory and
	// writes them again: the repaired view would count its items a second
	// time. So a session with a live writer is left as it is.
	now := time.Now()
	views, err := sessionstore.ReadWriters(c.ctx, c.st, id)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return c.fail("%v", err)
	}
	if live := sessionstore.LiveWriters(views, now); len(live) > 0 && !force {
		described := make([]string, len(live))
		for i, w := range live {
			described[i] = fmt.Sprintf("%s (open, its view updated %s ago)", w, max(now.Sub(views[w].UpdatedTime), 0).Round(time.Second))
		}
		fmt.Fprintf(c.errw, "sessionctl: %s: not repaired: still being written by %s, whose items would count twice when it writes its view again: "+
			"stop the writer (sessionctl --control URL capture new ends its session; or stop its collector) or wait until its view is %s old, "+
			"then repair again; --force repairs anyway, only for a writer that is gone (crashed)\n",
			id, strings.Join(described, ", "), sessionstore.LiveWindow)
		return exitProblems
	}
	if queued > 0 && !force {
		fmt.Fprintf(c.errw, "sessionctl: %s: not repaired: %d items of it wait in a stopped collector's persistent queue, and its next run stores them: "+
			"start it again, or --force to repair anyway (they then count as lost)\n", id, queued)
		return exitProblems
	}
	// Later copies of an object go (the first stays): replay would skip
	// them anyway, and nothing counts them.
	for _, key := range rc.Duplicates {
		if err := c.st.Delete(c.ctx, key); err != nil {
			return c.fail("delete duplicate %s: %v", key, err)
		}
	}
	fixed := sessionstore.Repaired(stored, counted, now)
	if len(views) > 0 || err != nil {
		if err := sessionstore.WriteWriter(c.ctx, c.st, repairWriter, fixed); err != nil {
			return c.fail("write repaired view of %s: %v", id, err)
		}
		for w := range views {
			if w != repairWriter {
				if err := c.st.Delete(c.ctx, sessionstore.WriterKey(id, w)); err != nil {
					return c.fail("%v", err)
				}
			}
		}
	}
	if err := sessionstore.WriteMetadata(c.ctx, c.st, fixed); err != nil {
		return c.fail("write metadata of %s: %v", id, err)
	}
	fmt.Fprintf(c.out, "%s: repaired (status %s, %d spans, %d data points, %d log records, %d duplicates removed, %d bad objects left in place)\n",
		id, fixed.Status, fixed.CapturedTraces, fixed.CapturedMetrics, fixed.CapturedLogs, len(rc.Duplicates), len(bad))
	return exitOK
}

func (c *cli) rm(args []string) int {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	yes := fs.Bool("yes", false, "really delete")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		return c.fail("rm needs at least one session id")
	}
	if !*yes {
		return c.fail("rm deletes sessions for good: add --yes")
	}
	for _, id := range fs.Args() {
		if err := c.remove(id); err != nil {
			return c.fail("%v", err)
		}
	}
	return exitOK
}

// remove deletes a session.
func (c *cli) remove(id string) error {
	n, err := sessionstore.DeleteSession(c.ctx, c.st, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s: removed (%d objects)\n", id, n)
	return nil
}

func (c *cli) prune(args []string) int {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	olderThan := fs.Duration("older-than", 0, "remove sessions that started longer ago than this (e.g. 720h)")
	dryRun := fs.Bool("dry-run", false, "only list what would be removed")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *olderThan <= 0 {
		return c.fail("prune needs --older-than, e.g. --older-than 720h")
	}
	list, err := sessionstore.ListSessions(c.ctx, c.st)
	if err != nil {
		return c.fail("list: %v", err)
	}
	cutoff := time.Now().Add(-*olderThan)
	for _, s := range list {
		if s.Err != nil || s.Metadata.Status == sessionstore.StatusActive || !s.Metadata.StartTime.Before(cutoff) {
			continue // unreadable and active sessions are never pruned
		}
		if *dryRun {
			fmt.Fprintf(c.out, "%s: would remove (started %s)\n", s.ID, s.Metadata.StartTime.Format(time.RFC3339))
			continue
		}
		if err := c.remove(s.ID); err != nil {
			return c.fail("%v", err)
		}
	}
	return exitOK
}

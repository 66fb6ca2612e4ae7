package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// exitInterrupted is the exit status of a command ended by Ctrl-C (128 +
// SIGINT, as shells report it).
const exitInterrupted = 130

// remote runs a command through the control API (--control).
func (c *cli) remote(cmd string, args []string) int {
	switch cmd {
	case "sessions", "list", "ls":
		return c.remoteSessions(args)
	case "show":
		return c.remoteShow(args)
	case "phases":
		return c.phases(args)
	case "annotate":
		return c.annotate(args)
	case "capture":
		return c.capture(args)
	case "replay":
		return c.replay(args)
	case "verify", "cat", "du", "diff", "rm", "prune":
		return c.fail("%s works on a store (--dir or --s3-*), not through --control", cmd)
	}
	return c.fail("unknown command %q (with --control: sessions, show, phases, annotate, capture, replay)", cmd)
}

// apiFail reports an error of the API (error: <code>: <detail>) or of the
// request on stderr and returns the exit status.
func (c *cli) apiFail(err error) int {
	if c.ctx.Err() != nil {
		fmt.Fprintln(c.errw, "sessionctl: interrupted")
		return exitInterrupted
	}
	if e, ok := errors.AsType[*apiError](err); ok {
		// A component's error often starts with the kind the code says
		// ("conflict: …", "not found: …"): once is enough.
		detail := e.Detail
		for _, prefix := range []string{e.Code + ": ", strings.ReplaceAll(e.Code, "_", " ") + ": "} {
			if d, ok := strings.CutPrefix(detail, prefix); ok {
				detail = d
				break
			}
		}
		fmt.Fprintf(c.errw, "error: %s: %s\n", e.Code, detail)
		if e.Status == http.StatusUnauthorized && c.api.token == "" {
			fmt.Fprintf(c.errw, "sessionctl: the API wants a token: --token, or $%s\n", strings.Join(tokenEnv, " or $"))
		}
		return exitProblems
	}
	fmt.Fprintf(c.errw, "sessionctl: %v\n", err)
	return exitProblems
}

// print writes the answer as it came (--json) or the line human makes.
func (c *cli) print(asJSON bool, body []byte, human func() string) {
	if asJSON {
		_, _ = c.out.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			fmt.Fprintln(c.out)
		}
		return
	}
	fmt.Fprintln(c.out, human())
}

// remoteSession is one session of GET /v1/sessions.
type remoteSession struct {
	Store    string                 `json:"store"`
	ID       string                 `json:"id"`
	Metadata *sessionstore.Metadata `json:"metadata"`
	Error    string                 `json:"error"`
}

func (c *cli) remoteSessions(args []string) int {
	fs := flag.NewFlagSet("sessions", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	typ := fs.String("type", "", "only sessions of this type: capture, seed or training")
	status := fs.String("status", "", "only sessions of this status: active, completed or failed")
	store := fs.String("store", "", "only the sessions of this store, as the API names it (e.g. filesystem:./data)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 0 {
		return c.fail("sessions takes no arguments (filters: --type, --status, --store)")
	}
	q := url.Values{}
	for k, v := range map[string]string{"type": *typ, "status": *status, "store": *store} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list []remoteSession
	body, err := c.api.get(c.ctx, "/v1/sessions", q, &list)
	if err != nil {
		return c.apiFail(err)
	}
	if *asJSON {
		c.print(true, body, nil)
		return exitOK
	}
	rows := make([]sessionRow, len(list))
	stores := map[string]bool{}
	for i, s := range list {
		rows[i] = sessionRow{store: s.Store, id: s.ID, m: s.Metadata}
		if s.Metadata == nil {
			rows[i].err = s.Error
		}
		stores[s.Store] = true
	}
	writeSessionTable(c.out, rows, len(stores) > 1)
	return exitOK
}

// remoteShow prints a session's metadata.json as the API answers it: as
// stored.
func (c *cli) remoteShow(args []string) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	store := fs.String("store", "", "read it from this store, as the API names it")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.fail("show needs one session id")
	}
	body, err := c.remoteMetadata(pos[0], *store, nil)
	if err != nil {
		return c.remoteErr(err)
	}
	c.print(true, body, nil)
	return exitOK
}

// errUsage marks an error that is the user's input (exit 2).
type errUsage struct{ error }

// remoteErr is apiFail, or a usage error's exit.
func (c *cli) remoteErr(err error) int {
	if u, ok := errors.AsType[errUsage](err); ok {
		return c.fail("%v", u.error)
	}
	return c.apiFail(err)
}

// remoteMetadata reads a session's metadata.json (GET /v1/sessions/{id})
// and decodes it into m (unless nil).
func (c *cli) remoteMetadata(id, store string, m *sessionstore.Metadata) ([]byte, error) {
	if err := sessionstore.ValidateSessionID(id); err != nil {
		return nil, errUsage{err}
	}
	q := url.Values{}
	if store != "" {
		q.Set("store", store)
	}
	var v any
	if m != nil {
		v = m
	}
	return c.api.get(c.ctx, "/v1/sessions/"+url.PathEscape(id), q, v)
}

// pickComponent returns the component the positional arguments name, or
// the only registered one of kind ("captures" or "replays").
func (c *cli) pickComponent(kind string, pos []string) (string, int) {
	switch len(pos) {
	case 1:
		return pos[0], exitOK
	case 0:
	default:
		return "", c.fail("%s: one component at most, got %s", strings.TrimSuffix(kind, "s"), strings.Join(pos, " "))
	}
	var list []struct {
		Component string `json:"component"`
	}
	if _, err := c.api.get(c.ctx, "/v1/"+kind, nil, &list); err != nil {
		return "", c.apiFail(err)
	}
	switch len(list) {
	case 1:
		return list[0].Component, exitOK
	case 0:
		fmt.Fprintf(c.errw, "sessionctl: no %s is registered with the control API at %s (a component registers with `control: session_control` in its config)\n",
			strings.TrimSuffix(kind, "s"), c.api.base)
		return "", exitProblems
	}
	ids := make([]string, len(list))
	for i, e := range list {
		ids[i] = e.Component
	}
	return "", c.fail("%d %s are registered: name one of %s", len(list), kind, strings.Join(ids, ", "))
}

// capture runs capture list | status | new | pause | resume.
func (c *cli) capture(args []string) int {
	const actions = "list, status, new, pause, resume, snapshot"
	if len(args) == 0 {
		return c.fail("capture needs an action: %s", actions)
	}
	action := args[0]
	fs := flag.NewFlagSet("capture "+action, flag.ContinueOnError)
	fs.SetOutput(c.errw)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	var req control.SessionRequest
	var snap control.SnapshotRequest
	labels := labelsFlag{}
	switch action {
	case "list", "status", "pause", "resume":
	case "snapshot":
		fs.StringVar(&snap.ID, "id", "", "id of the snapshot session (default: generated, snapshot-<time>-<hex>)")
		fs.TextVar(&snap.Before, "before", control.Duration(0), "how far back from now the window starts, e.g. 10m (required; at most the recorder's window)")
		fs.TextVar(&snap.After, "after", control.Duration(0), "how long after now the window ends, e.g. 2m")
		fs.StringVar(&snap.Description, "description", "", "its description")
		fs.Var(labels, "label", "a label key=value (repeat for more)")
		fs.StringVar(&snap.DiagnosticSessionID, "diagnostic", "", "its diagnostic session id")
	case "new":
		fs.StringVar(&req.ID, "id", "", "id of the new session (default: generated, capture-<time>-<hex>)")
		fs.StringVar(&req.Description, "description", "", "its description")
		fs.Var(labels, "label", "a label key=value (repeat for more)")
		fs.Var((*listFlag)(&req.EnabledFlags), "flag", "an enabled flag (repeat for more)")
		fs.StringVar(&req.DiagnosticSessionID, "diagnostic", "", "its diagnostic session id")
	default:
		return c.fail("unknown capture action %q (%s)", action, actions)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage
	}
	if action == "list" {
		if len(pos) != 0 {
			return c.fail("capture list takes no arguments")
		}
		var list []control.CaptureState
		body, err := c.api.get(c.ctx, "/v1/captures", nil, &list)
		if err != nil {
			return c.apiFail(err)
		}
		c.print(*asJSON, body, func() string { return linesOf(list, captureLine, "no capture is registered") })
		return exitOK
	}
	if action == "snapshot" && snap.Before <= 0 {
		return c.fail("capture snapshot needs --before (e.g. --before 10m)")
	}
	comp, code := c.pickComponent("captures", pos)
	if code != exitOK {
		return code
	}
	if action == "snapshot" {
		if len(labels) > 0 {
			snap.Labels = labels
		}
		var ss control.SnapshotState
		body, err := c.api.post(c.ctx, componentPath("captures", comp)+"/snapshot", snap, &ss)
		if err != nil {
			return c.apiFail(err)
		}
		c.print(*asJSON, body, func() string {
			return fmt.Sprintf("%s: snapshot %s of %s, %s to %s (completed once that has passed)",
				comp, ss.Session, ss.Recorder, ss.From.Format(time.RFC3339), ss.To.Format(time.RFC3339))
		})
		return exitOK
	}
	var st control.CaptureState
	var body []byte
	path := componentPath("captures", comp)
	switch action {
	case "status":
		body, err = c.api.get(c.ctx, path, nil, &st)
	case "new":
		if len(labels) > 0 {
			req.Labels = labels
		}
		body, err = c.api.post(c.ctx, path+"/sessions", req, &st)
	default: // pause, resume
		body, err = c.api.post(c.ctx, path+"/"+action, nil, &st)
	}
	if err != nil {
		return c.apiFail(err)
	}
	c.print(*asJSON, body, func() string { return captureLine(st) })
	return exitOK
}

// captureLine says a capture's state in one line.
func captureLine(s control.CaptureState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", s.Component, s.State)
	if m := s.Session; m != nil {
		fmt.Fprintf(&b, ", session %s (%s; %d spans, %d data points, %d log records)",
			m.SessionID, statusText(m), m.CapturedTraces, m.CapturedMetrics, m.CapturedLogs)
	} else {
		b.WriteString(", no session yet")
	}
	if s.Store != "" {
		fmt.Fprintf(&b, ", store %s", s.Store)
	}
	d := s.DroppedWhilePaused
	if d["traces"]+d["metrics"]+d["logs"] > 0 {
		fmt.Fprintf(&b, ", dropped while paused: %d spans, %d data points, %d log records", d["traces"], d["metrics"], d["logs"])
	}
	d = s.DroppedOnOverflow
	if d["traces"]+d["metrics"]+d["logs"] > 0 {
		fmt.Fprintf(&b, ", dropped on a full queue: %d spans, %d data points, %d log records", d["traces"], d["metrics"], d["logs"])
	}
	return b.String()
}

// linesOf joins the lines of the elements, or says none.
func linesOf[T any](list []T, line func(T) string, none string) string {
	if len(list) == 0 {
		return none
	}
	lines := make([]string, len(list))
	for i, e := range list {
		lines[i] = line(e)
	}
	return strings.Join(lines, "\n")
}

// replay runs replay list | status | start | stop.
func (c *cli) replay(args []string) int {
	const actions = "list, status, start, stop"
	if len(args) == 0 {
		return c.fail("replay needs an action: %s", actions)
	}
	action := args[0]
	fs := flag.NewFlagSet("replay "+action, flag.ContinueOnError)
	fs.SetOutput(c.errw)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	var (
		watch, wait bool
		interval    time.Duration
		overrides   func() (control.ReplayRequest, error)
	)
	switch action {
	case "list", "stop":
	case "status":
		fs.BoolVar(&watch, "watch", false, "follow the progress until the replay is over")
		fs.DurationVar(&interval, "interval", time.Second, "how often --watch asks")
	case "start":
		fs.BoolVar(&wait, "wait", false, "then follow the progress until the replay is over (as status --watch)")
		fs.DurationVar(&interval, "interval", time.Second, "how often --wait asks")
		overrides = overrideFlags(fs)
	default:
		return c.fail("unknown replay action %q (%s)", action, actions)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage
	}
	if (watch || wait) && interval <= 0 {
		return c.fail("replay %s: --interval must be positive", action)
	}
	var req control.ReplayRequest
	if overrides != nil {
		if req, err = overrides(); err != nil {
			return c.fail("replay start: %v", err)
		}
	}
	if action == "list" {
		if len(pos) != 0 {
			return c.fail("replay list takes no arguments")
		}
		var list []control.ReplayStatus
		body, err := c.api.get(c.ctx, "/v1/replays", nil, &list)
		if err != nil {
			return c.apiFail(err)
		}
		c.print(*asJSON, body, func() string { return linesOf(list, replayLine, "no replay is registered") })
		return exitOK
	}
	comp, code := c.pickComponent("replays", pos)
	if code != exitOK {
		return code
	}
	path := componentPath("replays", comp)
	if watch {
		return c.watchReplay(comp, interval, *asJSON)
	}
	var st control.ReplayStatus
	var body []byte
	switch action {
	case "status":
		body, err = c.api.get(c.ctx, path, nil, &st)
	case "stop":
		body, err = c.api.post(c.ctx, path+"/stop", nil, &st)
	case "start":
		body, err = c.api.post(c.ctx, path+"/start", req, &st)
	}
	if err != nil {
		return c.apiFail(err)
	}
	c.print(*asJSON, body, func() string { return replayLine(st) })
	if wait {
		return c.watchReplay(comp, interval, *asJSON)
	}
	return exitOK
}

// overrideFlags defines replay start's overrides on fs; the function it
// returns makes the request of those the user set: the others are not
// sent, and keep the receiver's configured values (so the flags' defaults
// here mean nothing).
func overrideFlags(fs *flag.FlagSet) func() (control.ReplayRequest, error) {
	var (
		session     = fs.String("session", "", "replay this session (default: the receiver's config)")
		sessions    = fs.String("sessions", "", "replay these sessions as one timeline, comma-separated (e.g. the rotated sessions of an incident window)")
		copies      = fs.Int("copies", 1, "replay this many copies at once, each with its own trace ids and service.instance.id")
		selection   = fs.String("selection", "", "how to pick the session when none is named: latest, largest, smallest, random")
		speed       = fs.Float64("speed", 0, "speed factor (0: as fast as possible)")
		timestamps  = fs.String("timestamps", "", "current, relative or none")
		loops       = fs.Int("loops", 0, "passes (0: until stopped)")
		maxDuration = fs.Duration("max-duration", 0, "stop after this long (e.g. 10m)")
		timeRange   = fs.String("time-range", "", "replay only START..END: RFC 3339 times or offsets from the session start (5m..10m; one side may be empty)")
		phases      listFlag
	)
	fs.Var(&phases, "phase", "replay only this phase of a seed session (repeat for more)")
	return func() (control.ReplayRequest, error) {
		var req control.ReplayRequest
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "session":
				req.Session = session
			case "sessions":
				req.Sessions = strings.Split(*sessions, ",")
			case "copies":
				req.Copies = copies
			case "selection":
				req.Selection = selection
			case "speed":
				req.Speed = speed
			case "timestamps":
				req.Timestamps = timestamps
			case "loops":
				req.Loops = loops
			case "max-duration":
				req.MaxDuration = (*control.Duration)(maxDuration)
			case "phase":
				req.Phases = phases
			case "time-range":
				start, end, ok := strings.Cut(*timeRange, "..")
				if !ok || (start == "" && end == "") {
					err = fmt.Errorf("--time-range %q: want START..END (RFC 3339 times or offsets from the session start, e.g. 5m..10m; one side may be empty)", *timeRange)
				}
				req.TimeRange = &control.TimeRange{Start: start, End: end}
			}
		})
		return req, err
	}
}

// replayLine says a replay's status in one line.
func replayLine(s control.ReplayStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", s.Component, s.State)
	if s.Session == "" {
		return b.String()
	}
	fmt.Fprintf(&b, ", session %s, pass %d, objects %s, items %s (%.1f%%)", s.Session, s.Pass,
		ofTotal(s.ObjectsDone, s.ObjectsTotal), ofTotal(s.ItemsDone, s.ItemsTotal), s.Percent)
	if s.LatenessP50 != 0 || s.LatenessP99 != 0 {
		fmt.Fprintf(&b, ", lateness p50 %s p99 %s", short(time.Duration(s.LatenessP50)), short(time.Duration(s.LatenessP99)))
	}
	if s.ETA != 0 {
		fmt.Fprintf(&b, ", ETA %s", short(time.Duration(s.ETA)))
	}
	if s.Speed != 0 {
		fmt.Fprintf(&b, ", speed %sx", strconv.FormatFloat(s.Speed, 'g', -1, 64))
	} else {
		b.WriteString(", as fast as possible")
	}
	if !s.StartedAt.IsZero() {
		fmt.Fprintf(&b, ", started %s", s.StartedAt.UTC().Format(time.RFC3339))
	}
	if !s.EndedAt.IsZero() {
		fmt.Fprintf(&b, ", ended %s", s.EndedAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// ofTotal is done/total, or done alone when the total is unknown.
func ofTotal(done, total int64) string {
	if total <= 0 {
		return strconv.FormatInt(done, 10)
	}
	return fmt.Sprintf("%d/%d", done, total)
}

// short rounds a duration for reading: 1.2ms, 4.8s, 6m10s.
func short(d time.Duration) string {
	switch a := d.Abs(); {
	case a >= time.Minute:
		return d.Round(time.Second).String()
	case a >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case a >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case a >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}

// listFlag is a flag given once per value.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*l = append(*l, v)
	return nil
}

// labelsFlag is --label key=value, given once per label.
type labelsFlag map[string]string

func (l labelsFlag) String() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		kv = append(kv, k+"="+l[k])
	}
	return strings.Join(kv, ",")
}

func (l labelsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value", v)
	}
	if _, dup := l[k]; dup {
		return fmt.Errorf("label %q given twice", k)
	}
	l[k] = val
	return nil
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
)

// barWidth is the width of the progress bar, in characters.
const barWidth = 10

// watchReplay asks for the replay's status every interval and shows its
// progress: on a terminal one line redrawn in place, else one line per
// interval (no control characters); with asJSON each answer as it came.
// It returns when the replay is over: exitOK when it finished,
// exitProblems when it was stopped (or is idle: never started, nothing to
// watch); Ctrl-C ends the watch (exitInterrupted), never the replay.
func (c *cli) watchReplay(comp string, interval time.Duration, asJSON bool) int {
	path := componentPath("replays", comp)
	tty := c.tty && !asJSON
	drawn := false // a line is on the terminal without its newline
	endLine := func() {
		if drawn {
			fmt.Fprintln(c.out)
			drawn = false
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var st control.ReplayStatus
		body, err := c.api.get(c.ctx, path, nil, &st)
		if err != nil {
			endLine()
			if c.ctx.Err() != nil {
				return c.interrupted(comp)
			}
			return c.apiFail(err)
		}
		if st.State == control.Idle {
			endLine()
			fmt.Fprintf(c.errw, "sessionctl: replay %s is idle (never started): nothing to watch; sessionctl replay start %s starts it\n", comp, comp)
			return exitProblems
		}
		switch {
		case asJSON:
			c.print(true, body, nil)
		case tty:
			fmt.Fprintf(c.out, "\r%s\x1b[K", progressLine(st))
			drawn = true
		default:
			fmt.Fprintln(c.out, progressLine(st))
		}
		switch st.State {
		case control.Finished:
			endLine()
			return exitOK
		case control.Stopped:
			endLine()
			return exitProblems
		}
		select {
		case <-c.ctx.Done():
			endLine()
			return c.interrupted(comp)
		case <-tick.C:
		}
	}
}

// interrupted says that Ctrl-C ended the watch, not the replay.
func (c *cli) interrupted(comp string) int {
	fmt.Fprintf(c.errw, "sessionctl: interrupted; replay %s goes on (sessionctl replay stop %s stops it)\n", comp, comp)
	return exitInterrupted
}

// progressLine is the line --watch shows:
//
//	[#####-----] 52.3%  pass 0  objects 10/20  items 520/1000  p99 1.2ms  ETA 4.8s  running
func progressLine(s control.ReplayStatus) string {
	filled := min(max(int(s.Percent*barWidth/100), 0), barWidth)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s%s] %.1f%%  pass %d  objects %s  items %s",
		strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled), s.Percent,
		s.Pass, ofTotal(s.ObjectsDone, s.ObjectsTotal), ofTotal(s.ItemsDone, s.ItemsTotal))
	if s.LatenessP99 != 0 {
		fmt.Fprintf(&b, "  p99 %s", short(time.Duration(s.LatenessP99)))
	}
	if s.ETA != 0 {
		fmt.Fprintf(&b, "  ETA %s", short(time.Duration(s.ETA)))
	}
	fmt.Fprintf(&b, "  %s", s.State)
	return b.String()
}

// isTerminal reports whether w is a terminal (a character device: no
// dependency for it).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// arrivalLag is how long after its event time an item may reach the
// collector and still be read for a time_range: an object captured later
// than the range's end plus this is not read.
const arrivalLag = 5 * time.Minute

// clockSkew is how far an item's event time may be after its object's
// capture time in a session captured live: keys hold milliseconds, and the
// clocks of the senders and the collector are a little apart.
const clockSkew = time.Second

// parseRangeEnd parses one end of a time_range: an RFC 3339 time, or a
// non-negative duration from the session's start. "" is open.
func parseRangeEnd(s string) (at time.Time, offset time.Duration, isOffset bool, err error) {
	return sessionstore.ParseRangeEnd(s)
}

// check checks both ends and their order where it is known; errors name
// the fields within time_range (Config.Validate runs it: a Validate of its
// own would be run a second time by the collector's walk).
func (tr TimeRangeConfig) check() error {
	sAt, sOff, sIsOff, err := parseRangeEnd(tr.Start)
	if err != nil {
		return confutil.Errorf("start", "%q: %w", tr.Start, err)
	}
	eAt, eOff, eIsOff, err := parseRangeEnd(tr.End)
	if err != nil {
		return confutil.Errorf("end", "%q: %w", tr.End, err)
	}
	if tr.Start == "" || tr.End == "" || sIsOff != eIsOff {
		return nil // checked against the session at start
	}
	if (sIsOff && eOff <= sOff) || (!sIsOff && !eAt.After(sAt)) {
		return confutil.Errorf("", "start %q must be before end %q", tr.Start, tr.End)
	}
	return nil
}

// absolute returns both ends of the range as times: a selection by window
// needs them before any session is known.
func (tr TimeRangeConfig) absolute() (start, end time.Time, err error) {
	start, _, sOff, serr := parseRangeEnd(tr.Start)
	end, _, eOff, eerr := parseRangeEnd(tr.End)
	if serr != nil || eerr != nil || sOff || eOff || start.IsZero() || end.IsZero() {
		return time.Time{}, time.Time{}, fmt.Errorf("needs time_range with both ends RFC 3339 times (got start %q, end %q)", tr.Start, tr.End)
	}
	return start, end, nil
}

// part is the part of a session a replay delivers: items whose event time
// is in [start, end) (zero: open), of the listed phases (none: all), of
// the listed services (none: all).
//
// readFrom and readUntil bound, in capture time, the objects that can hold
// items of the part (zero: unbounded); objects outside are not read. They
// are set only for a session whose event times track its capture times.
//
// Phases of a seed session select by the phase attribute on resources
// (phases); annotated phases of any session select by event time, each
// [Start, End) (ranges: an item in any of them is kept).
type part struct {
	start, end          time.Time
	readFrom, readUntil time.Time
	phases              []string
	ranges              []sessionstore.AnnotatedPhase
	services            []string
}

// narrows reports whether the part is less than the whole session in
// time or phase (services filter items, not the pacing).
func (p *part) narrows() bool {
	return !p.timeOpen() || len(p.phases) > 0
}

// timeOpen reports whether the part keeps items of every event time.
func (p *part) timeOpen() bool {
	return p.start.IsZero() && p.end.IsZero() && len(p.ranges) == 0
}

// resolvePart turns the configured part into times and checks it against
// the session: offsets count from its first event (or its start), phases
// must be in its phase table (a seed's) or among its annotated phases
// (whose ranges of event time then select the items, as a time_range).
// Items are selected by event time, so that is the base of the offsets
// too; capture times bound what is read only where
// they follow the event times (see tracksCapture).
func resolvePart(cfg *Config, m *sessionstore.Metadata) (*part, error) {
	p := &part{phases: cfg.Phases, services: cfg.Services}
	base := m.EventBase()
	resolve := func(name, s string) (time.Time, error) {
		at, off, isOff, err := parseRangeEnd(s)
		if err != nil {
			return time.Time{}, &control.FieldError{Field: "time_range." + name, Err: fmt.Errorf("%q: %w", s, err)}
		}
		if isOff {
			return base.Add(off), nil
		}
		return at, nil
	}
	var err error
	if p.start, err = resolve("start", cfg.TimeRange.Start); err != nil {
		return nil, err
	}
	if p.end, err = resolve("end", cfg.TimeRange.End); err != nil {
		return nil, err
	}
	if !p.start.IsZero() && !p.end.IsZero() && !p.end.After(p.start) {
		return nil, &control.FieldError{Field: "time_range", Err: fmt.Errorf("start %s is not before end %s", p.start.Format(time.RFC3339Nano), p.end.Format(time.RFC3339Nano))}
	}
	if err := p.resolvePhases(m); err != nil {
		return nil, err
	}
	if tracksCapture(m) {
		from, until := p.start, p.end
		if len(p.ranges) > 0 {
			lo, hi := p.ranges[0].Start, p.ranges[0].End
			for _, r := range p.ranges[1:] {
				lo, hi = minTime(lo, r.Start), maxTime(hi, r.End)
			}
			if from.IsZero() || lo.After(from) {
				from = lo
			}
			if until.IsZero() || hi.Before(until) {
				until = hi
			}
		}
		if !from.IsZero() {
			p.readFrom = from.Add(-clockSkew)
		}
		if !until.IsZero() {
			p.readUntil = until.Add(arrivalLag)
		}
	}
	return p, nil
}

// resolvePhases finds each phase of the part in the session's seed
// phase table or among its annotated phases; annotated ones become
// ranges. One replay takes phases of one kind.
func (p *part) resolvePhases(m *sessionstore.Metadata) error {
	if len(p.phases) == 0 {
		return nil
	}
	var seed, have []string
	if m.Seed != nil {
		for _, ph := range m.Seed.Phases {
			seed = append(seed, ph.Name)
		}
	}
	have = append(have, seed...)
	if m.Annotations != nil {
		for _, ph := range m.Annotations.Phases {
			if !slices.Contains(have, ph.Name) {
				have = append(have, ph.Name)
			}
		}
	}
	var ranges []sessionstore.AnnotatedPhase
	var fromSeed []string
	for _, want := range p.phases {
		if slices.Contains(seed, want) {
			fromSeed = append(fromSeed, want)
			continue
		}
		if ph, ok := m.Annotations.Phase(want); ok {
			ranges = append(ranges, ph)
			continue
		}
		if len(have) == 0 {
			return &control.FieldError{Field: "phases", Err: fmt.Errorf("session %s has no phases (a seed session has its phase table; annotate others with `sessionctl annotate %s --phase NAME=FROM..TO`), so phase %q cannot be replayed", m.SessionID, m.SessionID, want)}
		}
		return &control.FieldError{Field: "phases", Err: fmt.Errorf("session %s has no phase %q; it has %s", m.SessionID, want, strings.Join(quoted(have), ", "))}
	}
	if len(fromSeed) > 0 && len(ranges) > 0 {
		return &control.FieldError{Field: "phases", Err: fmt.Errorf("session %s: %s are seed phases and %s annotated ones: replay one kind at a time",
			m.SessionID, strings.Join(quoted(fromSeed), ", "), strings.Join(quoted(phaseNames(ranges)), ", "))}
	}
	if len(ranges) > 0 {
		p.phases, p.ranges = nil, ranges
	}
	return nil
}

func phaseNames(ps []sessionstore.AnnotatedPhase) []string {
	out := make([]string, len(ps))
	for i, ph := range ps {
		out[i] = ph.Name
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// tracksCapture reports whether the session's event times follow its
// capture times the way a live capture's do: every item captured after it
// happened (within clockSkew) and within arrivalLag. Then an object
// captured before a range's start (less clockSkew), or more than
// arrivalLag after its end, holds none of its items. The metadata can only
// tell where this fails for the session as a whole: its first and last
// events must lie within [-arrivalLag, +clockSkew] of its first and last
// capture. A seed made with clock: fast (events run far ahead of capture),
// one anchored in the past or the future, or a session whose metadata
// lacks either range does not track its capture times: all of it is read
// and its items selected by event time alone.
func tracksCapture(m *sessionstore.Metadata) bool {
	ev, first, last, ok := eventAndCaptureRanges(m)
	if !ok {
		return false
	}
	near := func(event, capture time.Time) bool {
		return !event.Before(capture.Add(-arrivalLag)) && !event.After(capture.Add(clockSkew))
	}
	return near(ev.Start, first) && near(ev.End, last)
}

// readable reports whether an object captured at c can hold items of the
// part.
func (p *part) readable(c time.Time) bool {
	if !p.readFrom.IsZero() && c.Before(p.readFrom) {
		return false
	}
	return !p.over(c)
}

// over reports whether objects captured at c and later are past the part.
func (p *part) over(c time.Time) bool {
	return !p.readUntil.IsZero() && c.After(p.readUntil)
}

// keepTime reports whether an event time is in the part (a zero time, an
// item that says nothing, is kept only when the range is open).
func (p *part) keepTime(ts pcommon.Timestamp) bool {
	if p.timeOpen() {
		return true
	}
	if ts == 0 {
		return false
	}
	t := ts.AsTime()
	if (!p.start.IsZero() && t.Before(p.start)) || (!p.end.IsZero() && !t.Before(p.end)) {
		return false
	}
	return len(p.ranges) == 0 || slices.ContainsFunc(p.ranges, func(r sessionstore.AnnotatedPhase) bool {
		return !t.Before(r.Start) && t.Before(r.End)
	})
}

// keepResource reports whether a resource's items can be in the part:
// its service, and its phase (test.phase.name on the resource).
func (p *part) keepResource(res pcommon.Resource) bool {
	if len(p.services) > 0 {
		v, ok := res.Attributes().Get("service.name")
		if !ok || !slices.Contains(p.services, v.AsString()) {
			return false
		}
	}
	if len(p.phases) > 0 {
		v, ok := res.Attributes().Get(sessionstore.AttrPhaseName)
		if !ok || !slices.Contains(p.phases, v.AsString()) {
			return false
		}
	}
	return true
}

// apply removes from b what is outside the part and returns the items
// left. An open time range keeps every item of a kept resource: then only
// the scopes and resources left empty go, without a look at each item.
func (p *part) apply(b sessionstore.Batch) int {
	open := p.timeOpen()
	switch b.Signal {
	case sessionstore.SignalTraces:
		b.Traces.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			if !p.keepResource(rs.Resource()) {
				return true
			}
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				if !open {
					ss.Spans().RemoveIf(func(s ptrace.Span) bool { return !p.keepTime(s.StartTimestamp()) })
				}
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
	case sessionstore.SignalLogs:
		b.Logs.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			if !p.keepResource(rl.Resource()) {
				return true
			}
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
				if !open {
					sl.LogRecords().RemoveIf(func(l plog.LogRecord) bool {
						ts := l.Timestamp()
						if ts == 0 {
							ts = l.ObservedTimestamp()
						}
						return !p.keepTime(ts)
					})
				}
				return sl.LogRecords().Len() == 0
			})
			return rl.ScopeLogs().Len() == 0
		})
	case sessionstore.SignalMetrics:
		b.Metrics.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
			if !p.keepResource(rm.Resource()) {
				return true
			}
			rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
				sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
					if open {
						return pdatawalk.DataPointCount(m) == 0
					}
					return pdatawalk.KeepDataPoints(m, func(ts pcommon.Timestamp) bool { return p.keepTime(ts) }) == 0
				})
				return sm.Metrics().Len() == 0
			})
			return rm.ScopeMetrics().Len() == 0
		})
	}
	return b.ItemCount()
}

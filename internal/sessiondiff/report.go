package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// detail is what a report shows of one item, read on the second pass.
type detail struct {
	fields []Field
}

// errDone stops a second pass once every item wanted was read.
var errDone = errors.New("done")

// details reads the fields of the wanted items from the source again; an
// item it does not find (the source changed in between) gets none.
func (s *side) details(src Source, want map[wantKey]bool) (map[wantKey]*detail, error) {
	out := map[wantKey]*detail{}
	if len(want) == 0 {
		return out, nil
	}
	var next [3]int32 // items seen per signal
	fe := &fieldEmitter{shifted: s.shifted, resolve: s.refLabel}
	take := func(sig sessionstore.Signal, n int, emit func()) {
		k := wantKey{sig, next[n]}
		next[n]++
		if !want[k] {
			return
		}
		fe.fields = nil
		emit()
		out[k] = &detail{fields: fe.fields}
	}
	err := src(func(b sessionstore.Batch) error {
		switch b.Signal {
		case sessionstore.SignalTraces:
			for at, sp := range pdatawalk.Spans(b.Traces) {
				take(b.Signal, 0, func() {
					emitSpan(fe, sp, s.shifted)
					emitResource(fe, at.Resource)
					emitScope(fe, at.Scope)
				})
			}
		case sessionstore.SignalMetrics:
			if !s.metrics {
				break
			}
			for at, m := range pdatawalk.Metrics(b.Metrics) {
				points(m, func(_ pcommon.Timestamp, emit func(emitter, bool)) {
					take(b.Signal, 1, func() {
						emit(fe, s.shifted)
						emitMetric(fe, m)
						emitResource(fe, at.Resource)
						emitScope(fe, at.Scope)
					})
				})
			}
		case sessionstore.SignalLogs:
			if !s.logs {
				break
			}
			for at, lr := range pdatawalk.LogRecords(b.Logs) {
				take(b.Signal, 2, func() {
					emitLog(fe, lr, s.shifted)
					emitResource(fe, at.Resource)
					emitScope(fe, at.Scope)
				})
			}
		}
		if len(out) == len(want) {
			return errDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return nil, err
	}
	return out, nil
}

// summaryFields are the fields a missing or extra item is described by.
var summaryFields = map[sessionstore.Signal][]string{
	sessionstore.SignalTraces:  {"kind", "start", "duration", "status.code", "status.message"},
	sessionstore.SignalMetrics: {"metric.type", "value", "count", "sum", "time", "interval"},
	sessionstore.SignalLogs:    {"severity_text", "severity_number", "body", "time", "span"},
}

// describe summarizes an item on one line: a few fields and its attributes.
func describe(sig sessionstore.Signal, d *detail) string {
	if d == nil {
		return "(not found when read again: did the session change?)"
	}
	byKey := map[string]string{}
	var attrs []string
	for _, f := range d.fields {
		byKey[f.Key] = f.Value
		if k, ok := strings.CutPrefix(f.Key, "attributes["); ok {
			attrs = append(attrs, unquoteKey(strings.TrimSuffix(k, "]"))+"="+f.Value)
		}
	}
	var parts []string
	for _, k := range summaryFields[sig] {
		v, ok := byKey[k]
		if !ok || v == `""` || (k == "severity_number" && byKey["severity_text"] != `""`) {
			continue
		}
		parts = append(parts, k+"="+v)
	}
	parts = append(parts, "attributes={"+strings.Join(attrs, ", ")+"}")
	return strings.Join(parts, " ")
}

func unquoteKey(k string) string {
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		return k[1 : len(k)-1]
	}
	return k
}

// diffFields lists the fields whose values differ, A's order first.
func diffFields(a, b []Field) []Change {
	inB := make(map[string]string, len(b))
	for _, f := range b {
		inB[f.Key] = f.Value
	}
	inA := make(map[string]bool, len(a))
	var out []Change
	for _, f := range a {
		inA[f.Key] = true
		nv, ok := inB[f.Key]
		switch {
		case !ok:
			out = append(out, Change{f.Key, f.Value, "(none)"})
		case nv != f.Value:
			out = append(out, Change{f.Key, f.Value, nv})
		}
	}
	for _, f := range b {
		if !inA[f.Key] {
			out = append(out, Change{f.Key, "(none)", f.Value})
		}
	}
	return out
}

// maxChanges is how many fields a changed item lists.
const maxChanges = 8

func renderer(a, b *side, e entry) func(*Difference, map[wantKey]*detail, map[wantKey]*detail) {
	return func(d *Difference, da, db map[wantKey]*detail) {
		var label string
		if e.a >= 0 {
			_, at := a.items(e.sig)
			label = a.label(e.sig, at(int(e.a)).group)
		} else {
			_, at := b.items(e.sig)
			label = b.label(e.sig, at(int(e.b)).group)
		}
		x, y := da[wantKey{e.sig, e.a}], db[wantKey{e.sig, e.b}]
		switch e.kind {
		case Missing:
			d.Text = fmt.Sprintf("%s: %s: %s", e.kind, label, describe(e.sig, x))
			return
		case Extra:
			d.Text = fmt.Sprintf("%s: %s: %s", e.kind, label, describe(e.sig, y))
			return
		}
		if x == nil || y == nil {
			d.Text = fmt.Sprintf("%s: %s: (not found when read again: did the session change?)", e.kind, label)
			return
		}
		d.Changes = diffFields(x.fields, y.fields)
		var parts []string
		for i, c := range d.Changes {
			if i == maxChanges {
				parts = append(parts, fmt.Sprintf("and %d more fields", len(d.Changes)-maxChanges))
				break
			}
			parts = append(parts, fmt.Sprintf("%s: %s → %s", c.Field, c.Old, c.New))
		}
		what := strings.Join(parts, "; ")
		if len(parts) == 0 {
			// Fields alike, keys not: a reference whose target differs
			// in content while its name is the same.
			what = "the span it points at differs (same name, other content)"
		}
		d.Text = fmt.Sprintf("%s: %s: %s", e.kind, label, what)
	}
}

func signedDuration(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// ShiftText describes the observed time shift.
func (r ShiftRange) String() string {
	switch {
	case r.Items == 0:
		return "no time shift observed (no matching items)"
	case r.Constant():
		return fmt.Sprintf("time shift %s (one constant shift)", signedDuration(r.Min))
	}
	return fmt.Sprintf("time shift %s..%s (varies by %s: shifted per object)", signedDuration(r.Min), signedDuration(r.Max), r.Max-r.Min)
}

func (r *Report) itemCounts(side func(SignalCount) int) string {
	parts := make([]string, len(r.Signals))
	for i, s := range r.Signals {
		n := side(s)
		parts[i] = fmt.Sprintf("%d %s", n, itemNoun(s.Signal, n))
	}
	return strings.Join(parts, ", ")
}

// Summary is the report on one line.
func (r *Report) Summary() string {
	var sb strings.Builder
	if r.Equal() {
		sb.WriteString("equal: ")
		sb.WriteString(r.itemCounts(func(s SignalCount) int { return s.A }))
		sb.WriteString(" compared")
	} else {
		var kinds []string
		for _, k := range []struct {
			n    int
			what string
		}{{r.CountsTotal, "count"}, {r.ItemsTotal, "item"}, {r.ShapesTotal, "trace shape"}} {
			if k.n > 0 {
				kinds = append(kinds, fmt.Sprintf("%d %s", k.n, k.what))
			}
		}
		list := kinds[0]
		if n := len(kinds); n > 1 {
			list = strings.Join(kinds[:n-1], ", ") + " and " + kinds[n-1]
		}
		noun := "differences"
		if r.CountsTotal+r.ItemsTotal+r.ShapesTotal == 1 {
			noun = "difference"
		}
		fmt.Fprintf(&sb, "differ: %s %s; A has %s; B has %s", list, noun,
			r.itemCounts(func(s SignalCount) int { return s.A }), r.itemCounts(func(s SignalCount) int { return s.B }))
	}
	if r.Options.Shifted {
		sb.WriteString("; ")
		sb.WriteString(r.Shift.String())
	}
	return sb.String()
}

// WriteText writes the summary, naming the sessions compared (nameA and
// nameB may be empty), and, when they differ, the first differences of
// each section.
func (r *Report) WriteText(w io.Writer, nameA, nameB string) error {
	var sb strings.Builder
	sb.WriteString("A")
	if nameA != "" {
		sb.WriteString("=" + nameA)
	}
	sb.WriteString(" and B")
	if nameB != "" {
		sb.WriteString("=" + nameB)
	}
	if r.Equal() {
		sb.WriteString(" are ")
	} else {
		sb.WriteString(" ")
	}
	sb.WriteString(r.Summary())
	sb.WriteByte('\n')
	section := func(title string, ds []Difference, total int) {
		if total == 0 {
			return
		}
		sb.WriteString(title)
		sb.WriteString(":\n")
		for _, d := range ds {
			sb.WriteString("  ")
			sb.WriteString(d.Text)
			sb.WriteByte('\n')
		}
		if total > len(ds) {
			fmt.Fprintf(&sb, "  … and %d more (--max-differences)\n", total-len(ds))
		}
	}
	section("counts", r.Counts, r.CountsTotal)
	section("items", r.Items, r.ItemsTotal)
	section("trace shapes", r.Shapes, r.ShapesTotal)
	if r.Moved > 0 {
		fmt.Fprintf(&sb, "note: %d changed %s differ only in absolute times and ids: if B is a replay, compare with --shifted\n",
			r.Moved, map[bool]string{true: "item", false: "items"}[r.Moved == 1])
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

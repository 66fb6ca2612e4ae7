package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// DefaultMaxDifferences is how many differences of each kind a report
// shows when Options.MaxDifferences is not set.
const DefaultMaxDifferences = 20

// Options say how to compare.
type Options struct {
	// Shifted lets B's ids differ from A's by a consistent remapping and
	// each item's absolute time shift by its own amount (a replay with
	// timestamps `current`); the items' internal timing must still match.
	Shifted bool
	// MaxDifferences caps the lines of each section of the report (counts,
	// items, trace shapes); <= 0 means DefaultMaxDifferences. Every
	// difference is counted either way.
	MaxDifferences int
	// Signals limits the comparison to these signals (none: all three).
	// Spans are read whatever it says: logs and exemplars point at them.
	Signals []sessionstore.Signal
}

func (o Options) wants(s sessionstore.Signal) bool {
	return len(o.Signals) == 0 || slices.Contains(o.Signals, s)
}

func (o Options) limit() int {
	if o.MaxDifferences <= 0 {
		return DefaultMaxDifferences
	}
	return o.MaxDifferences
}

// Kind says what a difference is.
type Kind string

// The kinds of differences.
const (
	Missing   Kind = "missing in B" // an item of A that B lacks
	Extra     Kind = "extra in B"   // an item of B that A lacks
	Changed   Kind = "changed"      // a missing item paired with an extra one of the same service and name
	IDsDiffer Kind = "ids differ"   // the same content under other ids (without Shifted)
	Count     Kind = "count"        // items per signal, service and name
	Shape     Kind = "trace shape"  // a parent/child tree
)

// Difference is one difference found.
type Difference struct {
	Kind   Kind
	Signal sessionstore.Signal
	// Text is the readable line.
	Text string
	// Changes are the fields that differ (Changed, IDsDiffer).
	Changes []Change
}

// Change is a field that differs: its path, A's value and B's ("(none)"
// where a side does not have the field).
type Change struct {
	Field, Old, New string
}

// SignalCount is how many items of a signal each side holds.
type SignalCount struct {
	Signal sessionstore.Signal
	A, B   int
}

// ShiftRange is the time shift observed over the matching items (B − A),
// with Shifted.
type ShiftRange struct {
	Items    int // items whose times were compared
	Min, Max time.Duration
}

// Constant reports whether the items were shifted by one amount (within a
// millisecond).
func (r ShiftRange) Constant() bool { return r.Max-r.Min < time.Millisecond }

func (r *ShiftRange) add(d time.Duration) {
	if r.Items == 0 || d < r.Min {
		r.Min = d
	}
	if r.Items == 0 || d > r.Max {
		r.Max = d
	}
	r.Items++
}

// Report is the result of a comparison.
type Report struct {
	Options Options
	Signals []SignalCount
	// Counts, Items and Shapes are the first differences of each section,
	// at most Options.MaxDifferences each; the totals count them all.
	Counts                               []Difference
	Items                                []Difference
	Shapes                               []Difference
	CountsTotal, ItemsTotal, ShapesTotal int
	// Shift is the observed time shift, with Options.Shifted.
	Shift ShiftRange
	// Moved counts, without Options.Shifted, the changed items that
	// differ from their pair only in absolute times and ids: a hint that
	// B may be a replay, to compare with Shifted.
	Moved int
}

// Equal reports whether no difference was found.
func (r *Report) Equal() bool {
	return r.CountsTotal == 0 && r.ItemsTotal == 0 && r.ShapesTotal == 0
}

// Compare compares session A with session B. It reads both sources at
// once, keeping keys and not the items, and, when there are differences,
// reads them once more for the fields of the items it shows.
func Compare(a, b Source, opts Options) (*Report, error) {
	var sa, sb *side
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { sa, errA = collect(a, opts) })
	wg.Go(func() { sb, errB = collect(b, opts) })
	wg.Wait()
	if errA != nil || errB != nil {
		return nil, errors.Join(wrap("A", errA), wrap("B", errB))
	}
	r, want := compareSides(sa, sb, opts)
	if len(want.a) == 0 && len(want.b) == 0 {
		return r, nil
	}
	var da, db map[wantKey]*detail
	wg.Go(func() { da, errA = sa.details(a, want.a) })
	wg.Go(func() { db, errB = sb.details(b, want.b) })
	wg.Wait()
	if errA != nil || errB != nil {
		return nil, errors.Join(wrap("A", errA), wrap("B", errB))
	}
	for i := range r.Items {
		want.render[i](&r.Items[i], da, db)
	}
	return r, nil
}

func wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}

// entry is an item difference before its details are read.
type entry struct {
	kind Kind
	sig  sessionstore.Signal
	a, b int32 // -1 where the side has no item
}

// wanted lists the items whose details the report shows, and how to render
// each item difference once they are read.
type wanted struct {
	a, b   map[wantKey]bool
	render []func(*Difference, map[wantKey]*detail, map[wantKey]*detail)
}

type wantKey struct {
	sig sessionstore.Signal
	i   int32
}

func compareSides(a, b *side, opts Options) (*Report, wanted) {
	r := &Report{Options: opts}
	limit := opts.limit()
	want := wanted{a: map[wantKey]bool{}, b: map[wantKey]bool{}}
	var entries []entry
	normB := map[uint64]uint64{}
	norm := func(h uint64) uint64 {
		if n, ok := normB[h]; ok {
			return n
		}
		return h
	}
	for _, sig := range sessionstore.Signals {
		if sig == sessionstore.SignalMetrics {
			// The spans are matched: B's references go through the pairs
			// of changed spans.
			b.resolveRefs(norm)
		}
		wanted := opts.wants(sig)
		if !wanted && sig != sessionstore.SignalTraces {
			continue
		}
		// Spans are matched even when not compared: the references of
		// log records and exemplars go through the pairs.
		shift := &r.Shift
		if !wanted {
			shift = &ShiftRange{}
		}
		m := match(a, b, sig, opts.Shifted, shift)
		if sig == sessionstore.SignalTraces {
			for _, p := range m.changed {
				normB[b.spans[p[1]].hash] = a.spans[p[0]].hash
			}
		}
		if !wanted {
			continue
		}
		na, _ := a.items(sig)
		nb, _ := b.items(sig)
		r.Signals = append(r.Signals, SignalCount{Signal: sig, A: na, B: nb})
		r.Moved += m.moved
		for _, p := range m.changed {
			entries = append(entries, entry{Changed, sig, p[0], p[1]})
		}
		for _, p := range m.idsDiffer {
			entries = append(entries, entry{IDsDiffer, sig, p[0], p[1]})
		}
		for _, i := range m.missing {
			entries = append(entries, entry{Missing, sig, i, -1})
		}
		for _, j := range m.extra {
			entries = append(entries, entry{Extra, sig, -1, j})
		}
		for _, line := range countDiffs(a, b, sig) {
			r.CountsTotal++
			if len(r.Counts) < limit {
				r.Counts = append(r.Counts, Difference{Kind: Count, Signal: sig, Text: line})
			}
		}
	}
	order := map[sessionstore.Signal]int{sessionstore.SignalTraces: 0, sessionstore.SignalMetrics: 1, sessionstore.SignalLogs: 2}
	at := func(e entry) int32 {
		if e.a >= 0 {
			return e.a
		}
		return e.b
	}
	slices.SortStableFunc(entries, func(x, y entry) int {
		return cmp.Or(cmp.Compare(order[x.sig], order[y.sig]), cmp.Compare(at(x), at(y)))
	})
	r.ItemsTotal = len(entries)
	for _, e := range entries[:min(len(entries), limit)] {
		if e.a >= 0 {
			want.a[wantKey{e.sig, e.a}] = true
		}
		if e.b >= 0 {
			want.b[wantKey{e.sig, e.b}] = true
		}
		r.Items = append(r.Items, Difference{Kind: e.kind, Signal: e.sig})
		want.render = append(want.render, renderer(a, b, e))
	}
	if opts.wants(sessionstore.SignalTraces) {
		lines := compareShapes(a, b, norm)
		r.ShapesTotal = len(lines)
		for _, line := range lines[:min(len(lines), limit)] {
			r.Shapes = append(r.Shapes, Difference{Kind: Shape, Signal: sessionstore.SignalTraces, Text: line})
		}
	}
	return r, want
}

// matched is how the items of one signal pair up.
type matched struct {
	missing, extra     []int32    // A's items B lacks, B's items A lacks
	changed, idsDiffer [][2]int32 // pairs (A, B)
	moved              int        // changed pairs of the same relaxed key
}

// match pairs the items of a signal: items of equal content keys (and, for
// exact comparisons, equal ids) match; then, of a content key, items whose
// ids differ pair up; what is left is missing or extra, and a missing item
// pairs with an extra one of the same group as changed. Within a key or a
// group, items pair in capture order.
func match(a, b *side, sig sessionstore.Signal, shifted bool, shift *ShiftRange) matched {
	type keyed struct {
		hash, ids uint64
		i         int32
	}
	sorted := func(s *side) []keyed {
		n, at := s.items(sig)
		out := make([]keyed, n)
		for i := range n {
			it := at(i)
			out[i] = keyed{hash: it.hash, i: int32(i)}
			if !shifted {
				out[i].ids = it.ids
			}
		}
		slices.SortFunc(out, func(x, y keyed) int {
			return cmp.Or(cmp.Compare(x.hash, y.hash), cmp.Compare(x.ids, y.ids), cmp.Compare(x.i, y.i))
		})
		return out
	}
	ka, kb := sorted(a), sorted(b)
	_, atA := a.items(sig)
	_, atB := b.items(sig)
	var m matched
	var leftA, leftB []int32
	i, j := 0, 0
	for i < len(ka) || j < len(kb) {
		switch {
		case j == len(kb) || (i < len(ka) && ka[i].hash < kb[j].hash):
			m.missing = append(m.missing, ka[i].i)
			i++
			continue
		case i == len(ka) || kb[j].hash < ka[i].hash:
			m.extra = append(m.extra, kb[j].i)
			j++
			continue
		}
		// A run of one content key on both sides.
		h := ka[i].hash
		leftA, leftB = leftA[:0], leftB[:0]
		for i < len(ka) && j < len(kb) && ka[i].hash == h && kb[j].hash == h {
			switch {
			case ka[i].ids < kb[j].ids:
				leftA = append(leftA, ka[i].i)
				i++
			case kb[j].ids < ka[i].ids:
				leftB = append(leftB, kb[j].i)
				j++
			default:
				if shifted {
					ta, tb := atA(int(ka[i].i)).time, atB(int(kb[j].i)).time
					if ta != 0 && tb != 0 {
						shift.add(time.Duration(tb - ta))
					}
				}
				i++
				j++
			}
		}
		for ; i < len(ka) && ka[i].hash == h; i++ {
			leftA = append(leftA, ka[i].i)
		}
		for ; j < len(kb) && kb[j].hash == h; j++ {
			leftB = append(leftB, kb[j].i)
		}
		slices.Sort(leftA)
		slices.Sort(leftB)
		n := min(len(leftA), len(leftB))
		for k := range n {
			m.idsDiffer = append(m.idsDiffer, [2]int32{leftA[k], leftB[k]})
		}
		m.missing = append(m.missing, leftA[n:]...)
		m.extra = append(m.extra, leftB[n:]...)
	}
	slices.Sort(m.missing)
	slices.Sort(m.extra)
	// Pair what is missing with what is extra: the same item moved in time
	// first (without Shifted), then group by group.
	if !shifted {
		pairBy(&m, func(i int32) uint64 { return atA(int(i)).relaxed }, func(j int32) uint64 { return atB(int(j)).relaxed })
		m.moved = len(m.changed)
	}
	pairBy(&m, func(i int32) group { return a.groups[atA(int(i)).group] }, func(j int32) group { return b.groups[atB(int(j)).group] })
	slices.SortFunc(m.changed, func(x, y [2]int32) int { return cmp.Compare(x[0], y[0]) })
	return m
}

// pairBy moves the missing and extra items of equal keys to the changed
// pairs, in capture order.
func pairBy[K comparable](m *matched, keyA func(int32) K, keyB func(int32) K) {
	queue := map[K][]int32{}
	for _, j := range m.extra {
		k := keyB(j)
		queue[k] = append(queue[k], j)
	}
	paired := map[int32]bool{}
	missing := m.missing[:0:0]
	for _, i := range m.missing {
		k := keyA(i)
		if q := queue[k]; len(q) > 0 {
			m.changed = append(m.changed, [2]int32{i, q[0]})
			paired[q[0]] = true
			queue[k] = q[1:]
			continue
		}
		missing = append(missing, i)
	}
	m.missing = missing
	m.extra = slices.DeleteFunc(m.extra, func(j int32) bool { return paired[j] })
}

// countDiffs compares the items of a signal per side, per service, and per
// service and name.
func countDiffs(a, b *side, sig sessionstore.Signal) []string {
	type counts struct {
		total     int
		services  map[string]int
		perGroups map[group]int
	}
	count := func(s *side) counts {
		n, at := s.items(sig)
		c := counts{total: n, services: map[string]int{}, perGroups: map[group]int{}}
		per := make([]int, len(s.groups))
		for i := range n {
			per[at(i).group]++
		}
		for gi, k := range per {
			if k > 0 {
				g := s.groups[gi]
				c.services[g.service] += k
				c.perGroups[g] += k
			}
		}
		return c
	}
	ca, cb := count(a), count(b)
	var out []string
	if ca.total != cb.total {
		out = append(out, fmt.Sprintf("%s: %d %s in A, %d in B", sig, ca.total, itemNoun(sig, ca.total), cb.total))
	}
	services := unionKeys(ca.services, cb.services, func(x, y string) int { return cmp.Compare(x, y) })
	for _, svc := range services {
		if x, y := ca.services[svc], cb.services[svc]; x != y {
			out = append(out, fmt.Sprintf("%s: service %s: %d in A, %d in B", sig, serviceLabel(svc), x, y))
		}
	}
	groups := unionKeys(ca.perGroups, cb.perGroups, func(x, y group) int {
		return cmp.Or(cmp.Compare(x.service, y.service), cmp.Compare(x.name, y.name))
	})
	for _, g := range groups {
		if x, y := ca.perGroups[g], cb.perGroups[g]; x != y {
			out = append(out, fmt.Sprintf("%s: %s: %d in A, %d in B", sig, groupLabel(sig, g), x, y))
		}
	}
	return out
}

func unionKeys[K comparable](x, y map[K]int, compare func(K, K) int) []K {
	var keys []K
	for k := range x {
		keys = append(keys, k)
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compare)
	return keys
}

func itemNoun(sig sessionstore.Signal, n int) string {
	noun := map[sessionstore.Signal]string{sessionstore.SignalTraces: "span", sessionstore.SignalMetrics: "data point", sessionstore.SignalLogs: "log record"}[sig]
	if n == 1 {
		return noun
	}
	return noun + "s"
}

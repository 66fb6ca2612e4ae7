package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
)

// Node kinds in a trace's tree: where a span hangs.
const (
	nodeChild  byte = iota
	nodeRoot        // no parent id
	nodeOrphan      // a parent id that is not in the trace
	nodeCycle       // its parents loop back to it: cut there
)

// traceHashes returns the shape key of every trace of the side: a hash of
// its tree built from span ids, each node keyed by its span's content key
// (through norm) and its children in sorted order, so that neither ids nor
// the order of spans count. Roots and orphans are told apart.
func (s *side) traceHashes(norm func(uint64) uint64) []uint64 {
	n := len(s.spans)
	kind := make([]byte, n)
	visited := make([]bool, n)
	order := make([]int32, 0, n)
	for i, sp := range s.spans {
		switch sp.parent {
		case isRoot:
			kind[i] = nodeRoot
		case isOrphan:
			kind[i] = nodeOrphan
		default:
			continue
		}
		visited[i] = true
		order = append(order, int32(i))
	}
	k := 0
	bfs := func() {
		for ; k < len(order); k++ {
			for _, c := range s.childrenOf(order[k]) {
				if !visited[c] {
					visited[c] = true
					order = append(order, c)
				}
			}
		}
	}
	bfs()
	for i := range n {
		if !visited[i] { // a loop of parent ids
			kind[i] = nodeCycle
			visited[i] = true
			order = append(order, int32(i))
			bfs()
		}
	}
	nodeHash := make([]uint64, n)
	var h maphash.Hash
	h.SetSeed(seed)
	var buf []uint64
	for j := len(order) - 1; j >= 0; j-- {
		i := order[j]
		buf = buf[:0]
		for _, c := range s.childrenOf(i) {
			if kind[c] == nodeChild {
				buf = append(buf, nodeHash[c])
			}
		}
		slices.Sort(buf)
		h.Reset()
		writeU64(&h, norm(s.spans[i].hash))
		flags := kind[i]
		if s.spans[i].dup {
			flags |= 0x80
		}
		_ = h.WriteByte(flags)
		for _, c := range buf {
			writeU64(&h, c)
		}
		nodeHash[i] = h.Sum64()
	}
	out := make([]uint64, len(s.traces))
	for t := range out {
		buf = buf[:0]
		for _, i := range s.spansOf(int32(t)) {
			if kind[i] != nodeChild {
				buf = append(buf, nodeHash[i])
			}
		}
		slices.Sort(buf)
		h.Reset()
		for _, c := range buf {
			writeU64(&h, c)
		}
		out[t] = h.Sum64()
	}
	return out
}

// unmatched returns the traces of each side whose shape key the other side
// lacks (as many times as it lacks it), in index order.
func unmatched(ha, hb []uint64) (as, bs []int32) {
	order := func(h []uint64) []int32 {
		idx := make([]int32, len(h))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(x, y int32) int {
			return cmp.Or(cmp.Compare(h[x], h[y]), cmp.Compare(x, y))
		})
		return idx
	}
	oa, ob := order(ha), order(hb)
	i, j := 0, 0
	for i < len(oa) || j < len(ob) {
		switch {
		case j == len(ob) || (i < len(oa) && ha[oa[i]] < hb[ob[j]]):
			as = append(as, oa[i])
			i++
		case i == len(oa) || hb[ob[j]] < ha[oa[i]]:
			bs = append(bs, ob[j])
			j++
		default:
			i++
			j++
		}
	}
	slices.Sort(as)
	slices.Sort(bs)
	return as, bs
}

// shapeDiff describes how the unmatched traces differ.
type shapeDiff struct {
	a, b  *side
	normB func(uint64) uint64
	peerA map[int32]int32 // span of A → its counterpart in B
	peerB map[int32]int32
}

// compareShapes returns one line per trace shape difference. normB maps
// the content keys of B's changed spans to those of A's spans they were
// paired with, so that a changed attribute is no shape difference.
func compareShapes(a, b *side, normB func(uint64) uint64) []string {
	ua, ub := unmatched(a.traceHashes(func(h uint64) uint64 { return h }), b.traceHashes(normB))
	if len(ua) == 0 && len(ub) == 0 {
		return nil
	}
	d := &shapeDiff{a: a, b: b, normB: normB, peerA: map[int32]int32{}, peerB: map[int32]int32{}}
	d.pair(ua, ub)

	// Traces of A and B that share spans form a component: one trace on
	// each side (its tree changed), several of A and one of B (merged),
	// one of A and several of B (split).
	uf := newUnionFind(len(a.traces) + len(b.traces))
	off := int32(len(a.traces))
	for sa, sb := range d.peerA {
		uf.union(a.spans[sa].trace, off+b.spans[sb].trace)
	}
	comps := map[int32]*component{}
	var list []*component
	get := func(root int32) *component {
		c := comps[root]
		if c == nil {
			c = &component{}
			comps[root] = c
			list = append(list, c)
		}
		return c
	}
	for _, t := range ua {
		c := get(uf.find(t))
		c.as = append(c.as, t)
	}
	for _, t := range ub {
		c := get(uf.find(off + t))
		c.bs = append(c.bs, t)
	}
	var lines []string
	for _, c := range list {
		if len(c.as) == 0 || len(c.bs) == 0 {
			continue // all of its spans are missing or extra: reported as items
		}
		lines = append(lines, d.describe(c)...)
	}
	return lines
}

type component struct{ as, bs []int32 }

// pair matches the spans of the unmatched traces of A and B by content key,
// in capture order.
func (d *shapeDiff) pair(ua, ub []int32) {
	type keyed struct {
		h uint64
		i int32
	}
	collect := func(s *side, ts []int32, norm func(uint64) uint64) []keyed {
		var out []keyed
		for _, t := range ts {
			for _, i := range s.spansOf(t) {
				out = append(out, keyed{norm(s.spans[i].hash), i})
			}
		}
		slices.SortFunc(out, func(x, y keyed) int { return cmp.Or(cmp.Compare(x.h, y.h), cmp.Compare(x.i, y.i)) })
		return out
	}
	ka := collect(d.a, ua, func(h uint64) uint64 { return h })
	kb := collect(d.b, ub, d.normB)
	i, j := 0, 0
	for i < len(ka) && j < len(kb) {
		switch {
		case ka[i].h < kb[j].h:
			i++
		case kb[j].h < ka[i].h:
			j++
		default:
			d.peerA[ka[i].i] = kb[j].i
			d.peerB[kb[j].i] = ka[i].i
			i++
			j++
		}
	}
}

// rootLabel names a trace by its first root (or orphan, if it has none).
func rootLabel(s *side, t int32) string {
	spans := s.spansOf(t)
	for _, want := range []int32{isRoot, isOrphan} {
		for _, i := range spans {
			if s.spans[i].parent == want {
				return s.spans[i].nameLabel(s)
			}
		}
	}
	return s.spans[spans[0]].nameLabel(s)
}

// nameLabel is 'name' (service s) of a span.
func (sp *span) nameLabel(s *side) string {
	g := s.groups[sp.group]
	return fmt.Sprintf("'%s' (service %s)", g.name, serviceLabel(g.service))
}

func rootList(s *side, ts []int32) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = rootLabel(s, t)
	}
	return strings.Join(parts, ", ")
}

func (d *shapeDiff) describe(c *component) []string {
	a, b := d.a, d.b
	head := "trace of root " + rootLabel(a, c.as[0])
	var lines []string
	switch {
	case len(c.as) > 1 && len(c.bs) == 1:
		lines = append(lines, fmt.Sprintf("traces of roots %s are one trace in B", rootList(a, c.as)))
	case len(c.as) == 1 && len(c.bs) > 1:
		lines = append(lines, fmt.Sprintf("%s: split into %d traces in B, of roots %s", head, len(c.bs), rootList(b, c.bs)))
	case len(c.as) > 1:
		lines = append(lines, fmt.Sprintf("traces of roots %s are %d traces in B, of roots %s", rootList(a, c.as), len(c.bs), rootList(b, c.bs)))
	}
	unpaired := false
	for _, t := range c.as {
		for _, i := range a.spansOf(t) {
			j, ok := d.peerA[i]
			if !ok {
				unpaired = true
				continue
			}
			if line, differs := d.parentDiff(i, j); differs {
				lines = append(lines, fmt.Sprintf("%s: span %s %s", head, a.spans[i].nameLabel(a), line))
			}
			switch da, db := a.spans[i].dup, b.spans[j].dup; {
			case db && !da:
				lines = append(lines, fmt.Sprintf("%s: span %s shares its span id with another span of its trace in B", head, a.spans[i].nameLabel(a)))
			case da && !db:
				lines = append(lines, fmt.Sprintf("%s: span %s has a span id of its own in B (in A it shared one with another span of its trace)", head, a.spans[i].nameLabel(a)))
			}
		}
	}
	for _, t := range c.bs {
		for _, j := range b.spansOf(t) {
			if _, ok := d.peerB[j]; !ok {
				unpaired = true
			}
		}
	}
	if len(lines) == 0 && !unpaired {
		// Every span has its counterpart under a counterpart parent, yet
		// the keys differ: spans of the same content swapped places.
		lines = append(lines, head+": its tree differs in B (the same spans, under parents of the same content, arranged differently)")
	}
	return lines
}

// parentDiff compares where span i of A and its counterpart j of B hang.
func (d *shapeDiff) parentDiff(i, j int32) (string, bool) {
	a, b := d.a, d.b
	pa, pb := a.spans[i].parent, b.spans[j].parent
	if pa == pb && pa < 0 {
		return "", false // roots in both, or orphans in both
	}
	if pa >= 0 && pb >= 0 {
		if peer, ok := d.peerA[pa]; ok && peer == pb {
			return "", false
		}
		if d.normB(b.spans[pb].hash) == a.spans[pa].hash {
			// A parent of the same content, not the one paired with it:
			// only a shape difference if that changes the tree, which the
			// trace keys already decided; say nothing per span.
			return "", false
		}
	}
	was := "it was a root"
	switch {
	case pa == isOrphan:
		was = "it had no parent in its trace either"
	case pa >= 0:
		was = "its parent was " + a.spans[pa].nameLabel(a)
	}
	var now string
	switch {
	case pb == isOrphan:
		now = "has no parent in B"
	case pb == isRoot:
		now = "is a root in B"
	default:
		now = "has parent " + b.spans[pb].nameLabel(b) + " in B"
	}
	if pa >= 0 && pb < 0 {
		// The parent may be in B under another trace id (a split).
		if pj, ok := d.peerA[pa]; ok && b.spans[pj].trace != b.spans[j].trace {
			now = "has no parent in its trace in B"
			was += ", which is in another trace there"
		}
	}
	return fmt.Sprintf("%s (%s)", now, was), true
}

type unionFind struct{ parent []int32 }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n)}
	for i := range u.parent {
		u.parent[i] = int32(i)
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(x, y int32) {
	if rx, ry := u.find(x), u.find(y); rx != ry {
		u.parent[ry] = rx
	}
}

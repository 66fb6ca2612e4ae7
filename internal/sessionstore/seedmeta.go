package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// What a session's metadata takes from the attributes of the data, at
// most: any OTLP client can send them, and metadata.json must stay small
// enough to read (readers take at most 8 MiB of it).
const (
	maxSeedPhases      = 256
	maxSeedFlags       = 64
	maxSeedNameBytes   = 256
	maxSeedDescription = 4 << 10
)

// ApplySeedResource fills what a session can learn from a resource of the
// seed generator (one that carries test.pattern): the session becomes a
// seed session with the pattern's parameters. A resource without the
// pattern changes nothing; a session that has its seed table keeps it.
func (m *Metadata) ApplySeedResource(res pcommon.Resource) {
	a := res.Attributes()
	pattern, ok := a.Get(AttrPattern)
	if !ok {
		return
	}
	m.SessionType = SessionTypeSeed
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels["pattern"] = truncateUTF8(pattern.AsString(), maxSeedNameBytes)
	if d, ok := a.Get(AttrDescription); ok && m.Description == "" {
		m.Description = truncateUTF8(d.AsString(), maxSeedDescription)
	}
	if m.Seed != nil {
		return
	}
	seed := &SeedInfo{Pattern: truncateUTF8(pattern.AsString(), maxSeedNameBytes), Phases: []Phase{}}
	if v, ok := a.Get(AttrSeed); ok {
		seed.Seed = v.Int()
	}
	if v, ok := a.Get(AttrRate); ok {
		seed.TracesPerSecond = v.Double()
	}
	if v, ok := a.Get(AttrErrorRate); ok {
		seed.ErrorRate = v.Double()
	}
	if v, ok := a.Get(AttrDuration); ok {
		seed.Duration = truncateUTF8(v.AsString(), maxSeedNameBytes)
	}
	m.Seed = seed
}

// PhaseOf returns the seed phase index a resource carries
// (test.phase.index), if any.
func PhaseOf(res pcommon.Resource) (int64, bool) {
	v, ok := res.Attributes().Get(AttrPhaseIndex)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return 0, false
	}
	return v.Int(), true
}

// AddPhaseItems counts items in the seed phase table of a seed session,
// adding the phase (name, time range, flags, from res, a resource of that
// phase) on first sight, and keeps enabledFlags the flags that are on in
// some phase. Beyond 256 phases the items count only in the totals.
func (m *Metadata) AddPhaseItems(idx int64, res pcommon.Resource, items int64) {
	if m.Seed == nil {
		return
	}
	for i := range m.Seed.Phases {
		if int64(m.Seed.Phases[i].Index) == idx {
			m.Seed.Phases[i].Items += items
			return
		}
	}
	if len(m.Seed.Phases) >= maxSeedPhases {
		return
	}
	a := res.Attributes()
	row := Phase{Index: int(idx), Items: items, Flags: map[string]float64{}}
	if v, ok := a.Get(AttrPhaseName); ok {
		row.Name = truncateUTF8(v.AsString(), maxSeedNameBytes)
	}
	if v, ok := a.Get(AttrPhaseStart); ok {
		row.Start, _ = time.Parse(time.RFC3339Nano, v.AsString())
	}
	if v, ok := a.Get(AttrPhaseEnd); ok {
		row.End, _ = time.Parse(time.RFC3339Nano, v.AsString())
	}
	a.Range(func(k string, v pcommon.Value) bool {
		name, ok := strings.CutPrefix(k, AttrPhaseFlag)
		if !ok || len(row.Flags) >= maxSeedFlags || len(name) > maxSeedNameBytes {
			return true
		}
		row.Flags[name] = v.Double()
		if v.Double() > 0 && !slices.Contains(m.EnabledFlags, name) && len(m.EnabledFlags) < maxSeedFlags {
			m.EnabledFlags = append(m.EnabledFlags, name)
			slices.Sort(m.EnabledFlags)
		}
		return true
	})
	m.Seed.Phases = append(m.Seed.Phases, row)
	slices.SortFunc(m.Seed.Phases, func(a, b Phase) int { return a.Index - b.Index })
}

// truncateUTF8 cuts s to at most n bytes, at a UTF-8 boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"errors"
	"fmt"
	"maps"
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
	maxSeedLabelValue  = 1 << 10
)

// MaxSeedLabels is the most labels a seed session takes from its resources
// (besides the pattern label).
const MaxSeedLabels = 64

// PatternLabel is the label a seed session gets with its pattern's name;
// no other label of a seed may take its name.
const PatternLabel = "pattern"

// ValidateSeedLabels checks labels that a seed generator will stamp on its
// resources (AttrLabel + name): names not empty, not PatternLabel, at most
// 256 bytes, values at most 1 KiB, at most MaxSeedLabels of them — what
// ApplySeedResource keeps. The errors name the label.
func ValidateSeedLabels(labels map[string]string) error {
	var errs []error
	if len(labels) > MaxSeedLabels {
		errs = append(errs, fmt.Errorf("%d labels: at most %d allowed", len(labels), MaxSeedLabels))
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		switch value := labels[name]; {
		case name == "":
			errs = append(errs, errors.New("empty label name"))
		case name == PatternLabel:
			errs = append(errs, fmt.Errorf("label %q is reserved: a seed session's %s label is its pattern", name, PatternLabel))
		case len(name) > maxSeedNameBytes:
			errs = append(errs, fmt.Errorf("label name of %d bytes (%.32q…): at most %d allowed", len(name), name, maxSeedNameBytes))
		case len(value) > maxSeedLabelValue:
			errs = append(errs, fmt.Errorf("label %q: value of %d bytes: at most %d allowed", name, len(value), maxSeedLabelValue))
		}
	}
	return errors.Join(errs...)
}

// ApplySeedResource fills what a session can learn from a resource of the
// seed generator (one that carries test.pattern): the session becomes a
// seed session with the pattern's parameters, labels and diagnostic
// session id. A resource without the pattern changes nothing; a session
// that has its seed table, a label or a diagnostic session id keeps it.
// What does not fit ValidateSeedLabels, or a diagnostic session id that is
// not a valid session id, is left out.
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
	m.Labels[PatternLabel] = truncateUTF8(pattern.AsString(), maxSeedNameBytes)
	m.applySeedLabels(a)
	if d, ok := a.Get(AttrDescription); ok && m.Description == "" {
		m.Description = truncateUTF8(d.AsString(), maxSeedDescription)
	}
	if d, ok := a.Get(AttrDiagnosticSessionID); ok && m.DiagnosticSessionID == "" && ValidateSessionID(d.AsString()) == nil {
		m.DiagnosticSessionID = d.AsString()
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

// applySeedLabels adds the labels a seed resource carries (AttrLabel +
// name) that the session does not have yet, in name order, as far as
// ValidateSeedLabels allows.
func (m *Metadata) applySeedLabels(a pcommon.Map) {
	found := map[string]string{}
	a.Range(func(k string, v pcommon.Value) bool {
		if name, ok := strings.CutPrefix(k, AttrLabel); ok {
			found[name] = v.AsString()
		}
		return true
	})
	for _, name := range slices.Sorted(maps.Keys(found)) {
		if len(m.Labels) > MaxSeedLabels { // the pattern label and MaxSeedLabels others
			return
		}
		one := map[string]string{name: found[name]}
		if _, ok := m.Labels[name]; ok || ValidateSeedLabels(one) != nil {
			continue
		}
		m.Labels[name] = found[name]
	}
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

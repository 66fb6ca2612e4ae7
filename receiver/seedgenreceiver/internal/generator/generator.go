// Package generator turns a scenario into deterministic OTLP traffic: the
// same scenario, seed and start anchor give the same traces, metrics and
// logs, byte for byte, however the output is batched or paced.
package generator // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// BaselineFaultName is the sessionstore.AttrFaultName value of the failures
// drawn for the baseline error rate, which no scenario fault explains.
const BaselineFaultName = "baseline"

// ScopeName is the instrumentation scope of generated telemetry.
const ScopeName = "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"

// Options says what to generate.
type Options struct {
	Scenario        *scenario.Scenario
	Seed            int64
	TracesPerSecond float64
	ErrorRate       float64
	// Duration stretches or shrinks the phases to fit; 0 keeps the
	// scenario's own length.
	Duration time.Duration
	// Start anchors the virtual clock.
	Start       time.Time
	SessionID   string
	Description string
	// Labels and DiagnosticSessionID go on every resource for the capture
	// side to put into the session's metadata.
	Labels              map[string]string
	DiagnosticSessionID string
	// BatchInterval is the span of virtual time one emitted batch covers
	// (default 1 s). It changes how output is grouped, never what it is.
	BatchInterval time.Duration
	// MetricsInterval is the aggregation window of metrics (default 5 s).
	MetricsInterval time.Duration
	// Version stamps the instrumentation scope.
	Version string
}

// Phase is a scheduled phase.
type Phase struct {
	Name   string
	Index  int
	Start  time.Time
	End    time.Time
	Flags  map[string]float64
	Rate   float64 // traces per second in this phase
	Traces int
}

// Batch is one emission: everything generated for a stretch of virtual time
// of one phase. Due is the virtual time at which it is complete.
type Batch struct {
	Phase   int
	Due     time.Time
	Traces  ptrace.Traces
	Metrics pmetric.Metrics
	Logs    plog.Logs
}

// Generator produces the traffic of one seed run.
type Generator struct {
	o       Options
	sc      *scenario.Scenario
	phases  []Phase
	entries []entry
	reach   map[string][]string // entry op -> every operation its traces can reach
	faults  []faultState
	instIDs map[string]string
	// labelNames are Options.Labels' names, sorted: resources get them in
	// the same order every run.
	labelNames []string
	total      time.Duration
	// baselineOff offsets the low-discrepancy sequence of baseline errors.
	baselineOff float64
}

type entry struct {
	op     string
	cumul  float64 // cumulative weight share, for picking
	weight float64
}

type faultState struct {
	name string
	f    *scenario.Fault
	off  float64 // low-discrepancy sequence offset
	n    uint64  // invocations seen so far
}

// golden is the fractional part of the golden ratio: k*golden mod 1 spreads
// evenly over [0,1), so "faulty if frac(off + k*golden) < p" hits a share p
// of any run of invocations within about 1/n, instead of a binomial draw
// that can be off by several percent at the sizes seed runs have.
const golden = 0.6180339887498949

// New validates options and schedules the phases.
func New(o Options) (*Generator, error) {
	if o.Scenario == nil {
		return nil, errors.New("no scenario")
	}
	if o.TracesPerSecond <= 0 || math.IsInf(o.TracesPerSecond, 0) || math.IsNaN(o.TracesPerSecond) {
		return nil, fmt.Errorf("traces_per_second %v must be positive", o.TracesPerSecond)
	}
	if o.ErrorRate < 0 || o.ErrorRate > 1 {
		return nil, fmt.Errorf("error_rate %v must be between 0 and 1", o.ErrorRate)
	}
	if o.BatchInterval <= 0 {
		o.BatchInterval = time.Second
	}
	if o.MetricsInterval <= 0 {
		o.MetricsInterval = 5 * time.Second
	}
	o.Start = o.Start.UTC()
	g := &Generator{o: o, sc: o.Scenario, reach: map[string][]string{}, instIDs: map[string]string{},
		labelNames: slices.Sorted(maps.Keys(o.Labels))}
	length := o.Scenario.Length()
	scale := 1.0
	if o.Duration > 0 {
		scale = float64(o.Duration) / float64(length)
	}
	t := o.Start
	for i, p := range o.Scenario.Phases {
		d := time.Duration(float64(p.Duration) * scale)
		if i == len(o.Scenario.Phases)-1 && o.Duration > 0 {
			d = o.Start.Add(o.Duration).Sub(t) // no rounding gap at the end
		}
		rate := o.TracesPerSecond * p.Rate
		g.phases = append(g.phases, Phase{
			Name: p.Name, Index: i, Start: t, End: t.Add(d), Flags: p.Flags, Rate: rate,
			Traces: int(math.Round(d.Seconds() * rate)),
		})
		t = t.Add(d)
	}
	g.total = t.Sub(o.Start)
	var sum float64
	for _, e := range o.Scenario.Entries {
		sum += e.Weight
	}
	var acc float64
	for _, e := range o.Scenario.Entries {
		acc += e.Weight / sum
		g.entries = append(g.entries, entry{op: e.Operation, cumul: acc, weight: e.Weight})
		g.reach[e.Operation] = g.reachable(e.Operation, nil)
	}
	for _, name := range o.Scenario.Flags() {
		g.faults = append(g.faults, faultState{name: name, f: o.Scenario.Faults[name], off: g.unit("fault:" + name)})
	}
	for _, svc := range o.Scenario.ServiceNames() {
		g.instIDs[svc] = g.uuid("instance:" + svc)
	}
	g.baselineOff = g.unit("baseline")
	return g, nil
}

// Phases returns the schedule.
func (g *Generator) Phases() []Phase { return g.phases }

// Length is the total virtual time.
func (g *Generator) Length() time.Duration { return g.total }

// hash derives 32 bytes from the seed and a label: everything "random"
// that is not per trace comes from here, never from the process.
func (g *Generator) hash(label string) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(g.o.Seed))
	return sha256.Sum256(append(b[:], label...))
}

func (g *Generator) unit(label string) float64 {
	h := g.hash(label)
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// uuid derives a name-based UUID from the seed and label: the first 16
// bytes of their hash, marked version 5 and RFC 4122 variant.
func (g *Generator) uuid(label string) string {
	h := g.hash(label)
	u := uuid.UUID(h[:16])
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return u.String()
}

func (g *Generator) reachable(id string, seen []string) []string {
	if slices.Contains(seen, id) {
		return seen
	}
	seen = append(seen, id)
	op := g.sc.Op(id)
	for _, c := range op.Calls {
		seen = g.reachable(c.To, seen)
	}
	for _, c := range op.Consumers {
		seen = g.reachable(c, seen)
	}
	return seen
}

// Batches yields the whole run in virtual-time order: for each phase,
// one batch per BatchInterval (the last one cut at the phase end). A batch
// never spans two phases. Metrics are emitted with the batch that closes
// their window.
func (g *Generator) Batches() iter.Seq[Batch] {
	return func(yield func(Batch) bool) {
		traceIndex := uint64(0)
		for pi := range g.phases {
			ph := &g.phases[pi]
			metrics := newAggregator(g, ph)
			spacing := time.Duration(0)
			if ph.Traces > 0 {
				spacing = ph.End.Sub(ph.Start) / time.Duration(ph.Traces)
			}
			next := 0 // next trace of the phase
			for w := ph.Start; w.Before(ph.End); w = w.Add(g.o.BatchInterval) {
				wEnd := earlier(w.Add(g.o.BatchInterval), ph.End)
				b := newBuilder(g, ph)
				for next < ph.Traces {
					start := ph.Start.Add(time.Duration(next) * spacing)
					if !start.Before(wEnd) {
						break
					}
					g.trace(traceIndex, ph, start, b, metrics)
					traceIndex++
					next++
				}
				batch := Batch{Phase: pi, Due: wEnd, Traces: b.traces(), Logs: b.logs(), Metrics: metrics.flush(wEnd, !wEnd.Before(ph.End))}
				if !yield(batch) {
					return
				}
			}
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package e2e

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestAnnotatePhaseReplay is issue 23's acceptance test, with the built
// binaries: seed_gen (payment-failure, clock fast) feeds a seed session
// (with its phase table) and, over OTLP, a collector capturing WITHOUT
// from_attribute, so that the same items become a plain captured session
// with no phases; `sessionctl annotate` gives that session a phase over
// the seed's failure phase (its event-time range from the seed's phase
// table); a replay with phases: [that name] into a capturing collector
// delivers exactly the items whose event time lies in the range, and
// they are the seed's failure phase (test.phase.name on every item).
func TestAnnotatePhaseReplay(t *testing.T) {
	sessionctl := sessionctlBin(t)
	seedDir := t.TempDir()
	plain := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: captured}"))
	seed := otelcoltest.Launch(t, fmt.Sprintf(`
receivers:
  seed_gen:
    pattern: payment-failure
    duration: 30s
    traces_per_second: 20
    seed: 7
    session_id: seed-annotate
    clock: fast
exporters:
  session_capture:
    store: {backend: filesystem, directory: %s}
    session: {from_attribute: test.session.id}
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [seed_gen], exporters: [session_capture, otlp_http]}
    metrics: {receivers: [seed_gen], exporters: [session_capture, otlp_http]}
    logs: {receivers: [seed_gen], exporters: [session_capture, otlp_http]}
`, seedDir, plain.HTTP))
	seed.WaitLog(t, "Seed finished", time.Minute)
	seed.Stop(t)
	plain.Stop(t)

	seedStore, err := sessionstore.OpenFilesystem(seedDir)
	require.NoError(t, err)
	defer seedStore.Close()
	sm, err := sessionstore.ReadMetadata(context.Background(), seedStore, "seed-annotate")
	require.NoError(t, err)
	require.NotNil(t, sm.Seed)
	require.Len(t, sm.Seed.Phases, 3)
	failure := sm.Seed.Phases[1]
	require.Equal(t, "failure", failure.Name)

	capturedDir := filepath.Join(plain.Dir, "data")
	capStore, err := sessionstore.OpenFilesystem(capturedDir)
	require.NoError(t, err)
	defer capStore.Close()
	captured := sessiontest.Read(t, capStore, "captured")
	require.Equal(t, sessionstore.SessionTypeCapture, captured.Meta.SessionType)
	require.Nil(t, captured.Meta.Seed, "a plain capture: no phase table")
	require.Equal(t, sm.Items(), captured.Meta.Items(), "the plain capture holds every item of the seed")

	out, err := exec.Command(sessionctl, "--dir", capturedDir, "annotate", "captured",
		"--phase", "incident="+failure.Start.Format(time.RFC3339Nano)+".."+failure.End.Format(time.RFC3339Nano),
		"--label", "ticket=INC-23", "--note", "the payment failure drill").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("sessionctl annotate:\n%s", out)
	m, err := sessionstore.ReadMetadata(context.Background(), capStore, "captured")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status, "annotating leaves the session completed")
	assert.Equal(t, "INC-23", m.Labels["ticket"])
	ph, ok := m.Annotations.Phase("incident")
	require.True(t, ok, "%+v", m.Annotations)
	assert.Equal(t, failure.Start, ph.Start)
	assert.Equal(t, failure.End, ph.End)

	// What the phase holds, by event time, counted from the captured
	// session itself: the replay must deliver exactly this.
	inPhase := func(ts pcommon.Timestamp) bool {
		at := ts.AsTime()
		return !at.Before(failure.Start) && at.Before(failure.End)
	}
	want := countByPhase(captured, inPhase)

	replayed := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: replayed}"))
	replay := otelcoltest.Launch(t, fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %s}
    session: captured
    phases: [incident]
    speed: 0
    timestamps: none
exporters:
  otlp_http:
    endpoint: http://%s
    compression: none
    sending_queue: {enabled: false}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
    metrics: {receivers: [session_replay], exporters: [otlp_http]}
    logs: {receivers: [session_replay], exporters: [otlp_http]}
`, capturedDir, replayed.HTTP))
	replay.WaitLog(t, "Replay finished", time.Minute)
	replay.Stop(t)
	replayed.Stop(t)

	outStore, err := sessionstore.OpenFilesystem(filepath.Join(replayed.Dir, "data"))
	require.NoError(t, err)
	defer outStore.Close()
	got := countByPhase(sessiontest.Read(t, outStore, "replayed"), func(pcommon.Timestamp) bool { return true })
	t.Logf("seed failure phase: %d items; in its event-time range: %v; replayed: %v", failure.Items, want, got)
	assert.Equal(t, want, got, "the replay delivers exactly the items whose event time is in the phase")

	// By event time, a seed phase's range and its items differ at the
	// edges only, the way seed_gen stamps them: a data point carries the
	// end of its aggregation window, so the startup phase's last points
	// are stamped failure.Start (in the range) and the failure phase's
	// last ones failure.End (out of it); spans and logs of the phase's
	// last traces may start after failure.End. Every replayed span and
	// log record is of the failure phase, every replayed point not of it
	// is stamped failure.Start, and the failure items not replayed are
	// exactly those stamped outside the range: the phase table's count.
	for _, signal := range []string{"traces", "logs"} {
		assert.Equal(t, []string{"failure"}, slices.Collect(maps.Keys(got[signal])), "%s: only the failure phase", signal)
	}
	atStart := countByPhase(captured, func(ts pcommon.Timestamp) bool { return ts.AsTime().Equal(failure.Start) })
	for ph, n := range got["metrics"] {
		if ph != "failure" {
			assert.Equal(t, atStart["metrics"][ph], n, "points of phase %s: only those closing its last window, at failure.Start", ph)
		}
	}
	outside := countByPhase(captured, func(ts pcommon.Timestamp) bool { return !inPhase(ts) }).total()
	assert.Equal(t, failure.Items, got.total()["failure"]+outside["failure"],
		"the failure items replayed and those stamped outside its range add up to the seed's phase table")
	assert.Positive(t, got.total()["failure"])
}

// phaseCounts counts items by signal and test.phase.name.
type phaseCounts map[string]map[string]int64

func (c phaseCounts) total() map[string]int64 {
	out := map[string]int64{}
	for _, byPhase := range c {
		for ph, n := range byPhase {
			out[ph] += n
		}
	}
	return out
}

// countByPhase counts the items of s kept by keep (by their event time)
// by signal and their test.phase.name attribute.
func countByPhase(s sessiontest.Stored, keep func(pcommon.Timestamp) bool) phaseCounts {
	c := phaseCounts{}
	add := func(signal string, attrs pcommon.Map) {
		name := "(none)"
		if v, ok := attrs.Get(sessionstore.AttrPhaseName); ok {
			name = v.AsString()
		}
		if c[signal] == nil {
			c[signal] = map[string]int64{}
		}
		c[signal][name]++
	}
	for _, rs := range s.Traces.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if keep(sp.StartTimestamp()) {
					add("traces", sp.Attributes())
				}
			}
		}
	}
	for _, rl := range s.Logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				if keep(ts) {
					add("logs", lr.Attributes())
				}
			}
		}
	}
	for _, rm := range s.Metrics.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				point := func(ts pcommon.Timestamp, attrs pcommon.Map) {
					if keep(ts) {
						add("metrics", attrs)
					}
				}
				pdatawalk.VisitPoints(m, pdatawalk.PointVisitor{
					Number:       func(p pmetric.NumberDataPoint) { point(p.Timestamp(), p.Attributes()) },
					Histogram:    func(p pmetric.HistogramDataPoint) { point(p.Timestamp(), p.Attributes()) },
					ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) { point(p.Timestamp(), p.Attributes()) },
					Summary:      func(p pmetric.SummaryDataPoint) { point(p.Timestamp(), p.Attributes()) },
				})
			}
		}
	}
	return c
}

package tests

// Scenario 5, the soak: 10 minutes of capture at 5k spans/s with the session
// rotated every minute (session.max_duration: 1m). RSS at the end may not
// exceed RSS after the first minute by more than 10 % (no leak), and every
// rotated session must be completed, its counts those of its objects, all of
// them together what was sent (and, item by item, the same content).
//
// Skipped unless -soak or TESTBED_SOAK=1 (scripts/soak.sh sets it).

import (
	"flag"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/assert"
)

var soakFlag = flag.Bool("soak", false, "run the soak scenario (TestSoak)")

var soakLimits = testbed.ResourceSpec{ExpectedMaxCPU: 20, ExpectedMaxRAM: 150}

// medianRSS samples the agent's RSS n times, a second apart, and returns the
// median (MiB), so that one GC cycle does not decide the comparison.
func medianRSS(tc *testbed.TestCase, agent testbed.OtelcolRunner, n int) float64 {
	var s []float64
	for i := 0; i < n; i++ {
		s = append(s, rssMiB(agent))
		if i < n-1 {
			tc.Sleep(time.Second)
		}
	}
	sort.Float64s(s)
	return s[len(s)/2]
}

// TestSoak is scenario 5.
func TestSoak(t *testing.T) {
	if !*soakFlag && os.Getenv("TESTBED_SOAK") == "" {
		t.Skip("the soak runs 10 minutes: go test -run TestSoak -soak (or TESTBED_SOAK=1), or scripts/soak.sh")
	}
	duration := 10 * time.Minute
	if s := os.Getenv("TESTBED_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		duration = d
	}
	const rotation = time.Minute
	dir := freshDir(t, "store")
	var rssFirst, rssEnd float64
	runCapture(t, captureOpts{
		signal:       "traces",
		rate:         5_000,
		duration:     duration,
		limits:       soakLimits,
		root:         dir,
		exporter:     filesystemExporter(dir, "\n      id: auto\n      max_duration: 1m"),
		drainTimeout: time.Minute,
		during: func(t *testing.T, tc *testbed.TestCase, agent testbed.OtelcolRunner, start time.Time) {
			const samples = 10
			tc.Sleep(rotation - time.Since(start))
			rssFirst = medianRSS(tc, agent, samples)
			tc.Sleep(duration - samples*time.Second - time.Since(start))
			rssEnd = medianRSS(tc, agent, samples)
			tc.Sleep(duration - time.Since(start))
		},
	})
	ids, err := sessionIDs(dir)
	assert.NoError(t, err)
	want := int(duration / rotation)
	assert.GreaterOrEqual(t, len(ids), want, "sessions rotated every %s over %s", rotation, duration)
	for _, id := range ids {
		md, err := readMetadata(dir, id)
		if assert.NoError(t, err) && md.EndTime != nil {
			report(t, "session %s: %s, %d spans, %s to %s (%.1f s)", id, md.Status, md.CapturedTraces,
				md.StartTime.Format(time.TimeOnly), md.EndTime.Format(time.TimeOnly), md.EndTime.Sub(md.StartTime).Seconds())
		}
	}
	growth := (rssEnd - rssFirst) / rssFirst
	report(t, "agent RSS (median of 10 one-second samples) after the first minute %.1f MiB, at the end %.1f MiB: %+.1f%% (limit +10%%); %d sessions", rssFirst, rssEnd, 100*growth, len(ids))
	assert.Positive(t, rssFirst)
	assert.LessOrEqual(t, rssEnd, rssFirst*1.10, "RSS at the end (%.1f MiB) more than 10%% over RSS after the first minute (%.1f MiB)", rssEnd, rssFirst)
}

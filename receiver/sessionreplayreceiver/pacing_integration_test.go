package sessionreplayreceiver

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestPacingRealTime replays a session whose objects span 20 s of capture
// time (one object every 100 ms, slightly irregular) with the real clock,
// at 1x and 4x, and measures what arrives. The figures are logged for
// BENCHMARKS.md. In `make test` other packages may load both cores at the
// same time, so the lateness bound is loose (50 ms); `make bench` runs the
// test alone with RECORDREPLAY_STRICT_PACING=1 and the 10 ms target.
func TestPacingRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("25 s of real time")
	}
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 23, 59, 50, 0, time.UTC) // crosses midnight
	w := sessiontest.NewWriter(t, st, "paced", c0)
	var captures []time.Duration
	for i := range 201 {
		off := time.Duration(i) * 100 * time.Millisecond
		if i%7 == 3 {
			off += 37 * time.Millisecond // irregular gaps
		}
		if i == 200 {
			off = 20 * time.Second
		}
		captures = append(captures, off)
		w.Traces(c0.Add(off), sessiontest.Traces("svc", i, 20, c0.Add(off)))
	}
	w.Complete()

	for _, speed := range []float64{1, 4} {
		cfg := baseConfig(storeCfg, "paced")
		cfg.Speed = speed
		cfg.Timestamps = TimestampsCurrent
		sink := &arrivals{}
		rep := startReplay(t, cfg, sink, nil, nil)
		rep.wait(t, 60*time.Second)
		require.Len(t, sink.got, len(captures))

		first := sink.got[0].at
		elapsed := sink.got[len(sink.got)-1].at.Sub(first)
		want := time.Duration(float64(20*time.Second) / speed)
		// Lateness of each arrival against the schedule anchored at the first.
		var late []time.Duration
		for i, a := range sink.got {
			due := first.Add(time.Duration(float64(captures[i]) / speed))
			late = append(late, a.at.Sub(due))
		}
		slices.Sort(late)
		p99 := late[len(late)*99/100]
		last := sink.got[len(sink.got)-1].at.Sub(first.Add(want))
		t.Logf("speed %.0fx: elapsed %s (want %s, error %+.3f%%), arrival lateness p50 %s p99 %s max %s, last object %s off schedule; receiver p99 %s",
			speed, elapsed.Round(time.Millisecond), want, 100*(float64(elapsed)/float64(want)-1),
			late[len(late)/2], p99, late[len(late)-1], last, rep.r.result.lateness.quantile(0.99))
		bound := 50 * time.Millisecond
		if os.Getenv("RECORDREPLAY_STRICT_PACING") == "1" {
			bound = 10 * time.Millisecond
		}
		assert.InEpsilon(t, float64(want), float64(elapsed), 0.02, "within 2%%")
		assert.Less(t, p99, bound, "p99 lateness")
		assert.Less(t, rep.r.result.lateness.quantile(0.99), bound, "receiver's own p99 lateness")
		assert.Less(t, last.Abs(), bound, "no cumulative drift")
	}
}

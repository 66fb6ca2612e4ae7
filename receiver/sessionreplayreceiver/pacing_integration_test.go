package sessionreplayreceiver

import (
	"bytes"
	"encoding/binary"
	"maps"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// pacedSession writes a session whose objects span 20 s of capture time
// (one object every 100 ms, every seventh 37 ms late, crossing midnight)
// and returns each object's capture offset from the first.
func pacedSession(t *testing.T) (sessionstore.Config, []time.Duration) {
	t.Helper()
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 23, 59, 50, 0, time.UTC)
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
	return storeCfg, captures
}

// replayPaced replays the paced session at speed with current timestamps
// and returns when each object arrived, and the receiver.
func replayPaced(t *testing.T, storeCfg sessionstore.Config, speed float64) ([]time.Time, *replayReceiver) {
	t.Helper()
	cfg := baseConfig(storeCfg, "paced")
	cfg.Speed = speed
	cfg.Timestamps = TimestampsCurrent
	sink := &arrivals{}
	rep := startReplay(t, cfg, sink, nil, nil)
	rep.wait(t, 60*time.Second)
	var at []time.Time
	for _, a := range sink.got {
		at = append(at, a.at)
	}
	return at, rep.r
}

// TestPacingVirtualClock: the schedule arithmetic, on a virtual clock where
// delivering takes no time. Every object arrives exactly when it is due,
// (c_i - c_0) / speed after the first, with no drift over 20 s of capture.
func TestPacingVirtualClock(t *testing.T) {
	for _, speed := range []float64{1, 4, 0.5} {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, captures := pacedSession(t)
			got, r := replayPaced(t, storeCfg, speed)
			require.Len(t, got, len(captures))
			for i, a := range got {
				due := got[0].Add(time.Duration(float64(captures[i]) / speed))
				require.Truef(t, a.Equal(due), "speed %v object %d: arrived %s after the first, due %s", speed, i, a.Sub(got[0]), due.Sub(got[0]))
			}
			assert.Equal(t, time.Duration(0), r.lastSummary().lateness.max, "the receiver saw no lateness")
		})
	}
}

// TestPacingRealTime measures pacing precision on the real clock, at 1x
// and 4x, for BENCHMARKS.md. Its subject is the wall clock, so it runs
// under `make bench` (RECORDREPLAY_STRICT_PACING=1, alone on the machine,
// 10 ms p99 target) and not in `make test`, where other packages load the
// cores; TestPacingVirtualClock covers the arithmetic there.
func TestPacingRealTime(t *testing.T) {
	if os.Getenv("RECORDREPLAY_STRICT_PACING") != "1" {
		t.Skip("25 s of real time; run by make bench with RECORDREPLAY_STRICT_PACING=1")
	}
	storeCfg, captures := pacedSession(t)
	for _, speed := range []float64{1, 4} {
		got, r := replayPaced(t, storeCfg, speed)
		require.Len(t, got, len(captures))

		first := got[0]
		elapsed := got[len(got)-1].Sub(first)
		want := time.Duration(float64(20*time.Second) / speed)
		// Lateness of each arrival against the schedule anchored at the first.
		var late []time.Duration
		for i, a := range got {
			due := first.Add(time.Duration(float64(captures[i]) / speed))
			late = append(late, a.Sub(due))
		}
		slices.Sort(late)
		p99 := late[len(late)*99/100]
		last := got[len(got)-1].Sub(first.Add(want))
		t.Logf("speed %.0fx: elapsed %s (want %s, error %+.3f%%), arrival lateness p50 %s p99 %s max %s, last object %s off schedule; receiver p99 %s",
			speed, elapsed.Round(time.Millisecond), want, 100*(float64(elapsed)/float64(want)-1),
			late[len(late)/2], p99, late[len(late)-1], last, r.lastSummary().lateness.quantile(0.99))
		bound := 10 * time.Millisecond
		assert.InEpsilon(t, float64(want), float64(elapsed), 0.02, "within 2%%")
		assert.Less(t, p99, bound, "p99 lateness")
		assert.Less(t, r.lastSummary().lateness.quantile(0.99), bound, "receiver's own p99 lateness")
		assert.Less(t, last.Abs(), bound, "no cumulative drift")
	}
}

// backlogSession writes what a capture stores after an outage: three
// objects captured 1 ms apart (the queue drained in a burst) whose data
// was sent 10 s apart.
func backlogSession(t *testing.T) (sessionstore.Config, []time.Time) {
	t.Helper()
	storeCfg, st := fsStore(t)
	c0 := time.Date(2026, 11, 28, 12, 10, 0, 0, time.UTC)
	e0 := c0.Add(-10 * time.Minute) // sent during the outage
	w := sessiontest.NewWriter(t, st, "backlog", c0)
	var sent []time.Time
	for i := range 3 {
		at := e0.Add(time.Duration(i) * 10 * time.Second)
		sent = append(sent, at)
		w.Traces(c0.Add(time.Duration(i)*time.Millisecond), sessiontest.Traces("svc", i, 5, at))
	}
	w.Complete()
	return storeCfg, sent
}

// TestPaceByEventTime: with pace_by event_time a backlog stored in a burst
// replays at 1x with the timing it was sent with, and current timestamps
// make it look live at that pace; pace_by capture_time (the default)
// replays the burst as recorded.
func TestPaceByEventTime(t *testing.T) {
	for _, pace := range []PaceBy{PaceByEventTime, PaceByCaptureTime} {
		synctest.Test(t, func(t *testing.T) {
			storeCfg, sent := backlogSession(t)
			cfg := baseConfig(storeCfg, "backlog")
			cfg.Speed = 1
			cfg.Timestamps = TimestampsCurrent
			cfg.PaceBy = pace
			sink := &arrivals{}
			startReplay(t, cfg, sink, nil, nil).wait(t, time.Minute)
			require.Len(t, sink.got, 3)
			for i, a := range sink.got {
				gap := a.at.Sub(sink.got[0].at)
				if pace == PaceByCaptureTime {
					assert.Equal(t, time.Duration(i)*time.Millisecond, gap, "as captured")
					continue
				}
				assert.Equal(t, sent[i].Sub(sent[0]), gap, "as sent")
				start := a.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).StartTimestamp().AsTime()
				assert.Equal(t, a.at.UnixNano(), start.UnixNano(), "looks live: the first span starts as it arrives")
			}
		})
	}
}

// badObjects returns one of every kind of bad object a session can hold,
// by name: gzip bombs (an honest trailer over the cap, and one that lies),
// truncated, not gzip, gzip of something that is not OTLP, and empty.
func badObjects(t *testing.T) map[string][]byte {
	t.Helper()
	enc, err := sessionstore.NewEncoder(sessionstore.CompressionDefault)
	require.NoError(t, err)
	good, err := enc.EncodeTraces(sessiontest.Traces("svc", 1, 200, time.Now()))
	require.NoError(t, err)
	bomb := gzipped(t, make([]byte, 256<<20))
	lying := bytes.Clone(bomb)
	binary.LittleEndian.PutUint32(lying[len(lying)-4:], 1000)
	return map[string][]byte{
		"bomb":         bomb,
		"lying_bomb":   lying,
		"truncated":    bytes.Clone(good.Data[:len(good.Data)/2]),
		"not_gzip":     []byte("this is not gzip at all, just text"),
		"not_protobuf": gzipped(t, bytes.Repeat([]byte{0xff}, 4096)),
		"empty":        {},
	}
}

// TestBadObjectLatenessRealTime measures, for BENCHMARKS.md, how late the
// good objects of a paced replay (1x) arrive when the session also holds
// every kind of bad object, each placed 85 ms after a good one, next to
// the same session without them, in the same run. A bad object must not
// delay the good ones around it. Wall clock: `make bench` only.
func TestBadObjectLatenessRealTime(t *testing.T) {
	if os.Getenv("RECORDREPLAY_STRICT_PACING") != "1" {
		t.Skip("40 s of real time; run by make bench with RECORDREPLAY_STRICT_PACING=1")
	}
	bad := badObjects(t)
	names := slices.Sorted(maps.Keys(bad))
	for _, withBad := range []bool{false, true} {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "paced", c0)
		var captures []time.Duration
		for i := range 201 {
			off := time.Duration(i) * 100 * time.Millisecond
			captures = append(captures, off)
			w.Traces(c0.Add(off), sessiontest.Traces("svc", i, 200, c0.Add(off)))
			if withBad && i%10 == 5 { // every second, the next kind of bad object
				w.Raw(sessionstore.SignalTraces, c0.Add(off+85*time.Millisecond), bad[names[(i/10)%len(names)]])
			}
		}
		w.Complete()
		got, r := replayPaced(t, storeCfg, 1)
		require.Len(t, got, len(captures))
		var late []time.Duration
		for i, a := range got {
			late = append(late, a.Sub(got[0].Add(captures[i])))
		}
		worst := slices.Max(late)
		slices.Sort(late)
		p99 := late[len(late)*99/100]
		t.Logf("bad objects %v: good-object lateness p50 %s p99 %s max %s; receiver p99 %s; bad objects skipped %d",
			withBad, late[len(late)/2], p99, worst, r.lastSummary().lateness.quantile(0.99), r.lastSummary().badObjects)
		assert.Less(t, p99, 20*time.Millisecond, "p99 lateness")
		if withBad {
			assert.Equal(t, int64(20), r.lastSummary().badObjects)
		}
	}
}

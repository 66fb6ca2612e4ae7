package sessionreplayreceiver

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestProgress: a paced replay logs its progress every progress_interval
// (pass, objects and items done of the session's totals, percent, lateness
// p99 so far, ETA at the current speed), and its last line carries the
// totals per signal and the bad objects by reason.
func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		storeCfg, st := fsStore(t)
		c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		w := sessiontest.NewWriter(t, st, "progress", c0)
		for i := range 30 { // 30 objects of 10 spans, one a second (off the progress ticks)
			at := c0.Add(time.Duration(i) * time.Second)
			if i > 0 {
				at = at.Add(250 * time.Millisecond)
			}
			w.Traces(at, sessiontest.Traces("svc", i, 10, at))
		}
		w.Raw(sessionstore.SignalTraces, c0.Add(1500*time.Millisecond), []byte("not gzip"))
		require.NoError(t, st.Put(context.Background(), "sessions/progress/raw/2026-11-28/12/stray.txt", []byte("x")))
		w.Complete()
		cfg := baseConfig(storeCfg, "progress")
		cfg.Speed = 1
		cfg.ProgressInterval = 10 * time.Second
		rep := startReplay(t, cfg, new(consumertest.TracesSink), nil, nil)
		rep.wait(t, time.Minute)

		lines := rep.logs.FilterMessage("Replay progress").All()
		require.Len(t, lines, 2, "at 10 s and 20 s of a 29 s replay")
		first := lines[0].ContextMap()
		assert.EqualValues(t, 0, first["pass"])
		assert.EqualValues(t, 10, first["objects_done"], "the objects due in the first 10 s")
		assert.EqualValues(t, 30, first["objects_total"])
		assert.EqualValues(t, 100, first["items_done"])
		assert.EqualValues(t, 300, first["items_total"])
		assert.InDelta(t, 33.3, first["percent"], 0.1)
		assert.Equal(t, 19250*time.Millisecond, first["eta"], "the last object is due 19.25 s later at 1x")
		assert.Contains(t, first, "lateness_p99")

		done := rep.logs.FilterMessage("Replay finished").All()
		require.Len(t, done, 1)
		fin := done[0].ContextMap()
		assert.EqualValues(t, 300, fin["spans"])
		assert.EqualValues(t, 2, fin["bad_objects"])
		assert.Equal(t, map[string]any{"bad_key": int64(1), "corrupt": int64(1)}, fin["bad_objects_by_reason"])
	})
}

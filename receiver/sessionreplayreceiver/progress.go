package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Why an object was skipped, as counted in the summary and the
// bad_objects metric.
const (
	reasonBadKey     = "bad_key"    // a key that does not follow the layout
	reasonTooLarge   = "too_large"  // inflates past max_object_bytes (a gzip bomb)
	reasonCorrupt    = "corrupt"    // not gzip, truncated, not an export request
	reasonUnreadable = "unreadable" // the store refuses it for good (access denied, archived)
	reasonVanished   = "vanished"   // listed, then gone
)

// badReason classifies why a fetched object could not be replayed.
func badReason(err error) string {
	switch {
	case errors.Is(err, sessionstore.ErrTooLarge):
		return reasonTooLarge
	case errors.Is(err, sessionstore.ErrCorrupt):
		return reasonCorrupt
	case errors.Is(err, errVanished):
		return reasonVanished
	}
	return reasonUnreadable
}

var errVanished = errors.New("object vanished (deleted while replaying?)")

// totals are the session's objects and items in the signals this replay
// wires (its share of them when sharded), and its last pacing time.
type totals struct {
	objects, items int64
	last           time.Time
}

func (r *replayReceiver) sessionTotals(cfg *Config, m *sessionstore.Metadata) totals {
	var t totals
	for sig, s := range m.Signals {
		if s == nil || !r.wantsWith(cfg, sig) {
			continue
		}
		t.objects += s.Objects
		t.items += s.Items
		if s.LastCaptureTime != nil && s.LastCaptureTime.After(t.last) {
			t.last = *s.LastCaptureTime
		}
	}
	if resolvePace(cfg.PaceBy, m) == PaceByEventTime && m.EventTimeRange != nil {
		t.last = m.EventTimeRange.End
	}
	if len(cfg.Phases) > 0 && m.Seed != nil {
		// only the listed phases' items are replayed (all signals: the
		// phase table does not split them)
		t.items = 0
		for _, ph := range m.Seed.Phases {
			if slices.Contains(cfg.Phases, ph.Name) {
				t.items += ph.Items
			}
		}
	}
	t.items *= int64(max(1, cfg.Copies)) // every copy is delivered
	if n := int64(cfg.Shard.Count); n > 1 {
		t.objects, t.items = (t.objects+n-1)/n, (t.items+n-1)/n
	}
	return t
}

// reportProgress logs the run's progress every progress_interval, and
// records it as metrics, until ctx ends.
func (run *replayRun) reportProgress(ctx context.Context) {
	if run.cfg.ProgressInterval <= 0 {
		return
	}
	tot := run.r.sessionTotals(run.cfg, run.session)
	tick := time.NewTicker(run.cfg.ProgressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			run.logProgress(now, tot)
		}
	}
}

// progressSnapshot is the progress of the current pass at one moment.
type progressSnapshot struct {
	tot            totals
	pass           int
	objects, items int64
	percent        float64
	p50, p99, eta  time.Duration
}

func (run *replayRun) progressAt(now time.Time, tot totals) progressSnapshot {
	s := run.tally.summary()
	snap := progressSnapshot{tot: tot, pass: s.pass, objects: s.passObjects, items: s.passItems,
		p50: s.lateness.quantile(0.5), p99: s.lateness.quantile(0.99)}
	if run.part != nil && !run.part.timeOpen() {
		// Items are kept by event time: how many a pass delivers is known
		// once it has read them all. Until then the objects read measure
		// the pass (Status says 100 % of what it delivered once it is over).
		snap.tot.items = 0
		if tot.objects > 0 {
			snap.percent = min(100, 100*float64(snap.objects)/float64(tot.objects))
		}
	} else if tot.items > 0 {
		snap.percent = min(100, 100*float64(snap.items)/float64(tot.items))
	}
	// ETA of this pass: at speed > 0 when its last object is due; at speed
	// 0 at the rate so far.
	switch speed := run.cfg.Speed; {
	case speed > 0 && !s.lastAt.IsZero():
		snap.eta = time.Duration(float64(tot.last.Sub(s.lastAt))/speed) - now.Sub(s.lastDue)
	case speed == 0 && snap.items > 0:
		snap.eta = time.Duration(float64(now.Sub(s.passStart)) * float64(tot.items-snap.items) / float64(snap.items))
	}
	snap.eta = max(snap.eta, 0)
	snap.percent = float64(int(snap.percent*10+0.5)) / 10
	return snap
}

func (run *replayRun) logProgress(now time.Time, tot totals) {
	snap := run.progressAt(now, tot)
	run.r.set.Logger.Info("Replay progress", zap.String("session", run.session.SessionID), zap.Int("pass", snap.pass),
		zap.Int64("objects_done", snap.objects), zap.Int64("objects_total", tot.objects),
		zap.Int64("items_done", snap.items), zap.Int64("items_total", tot.items),
		zap.Float64("percent", snap.percent),
		zap.Duration("lateness_p99", snap.p99), zap.Duration("eta", snap.eta))
	ctx := context.Background()
	run.r.telemetry.ReceiverSessionReplayProgress.Record(ctx, snap.percent/100)
	run.r.telemetry.ReceiverSessionReplayEta.Record(ctx, snap.eta.Seconds())
}

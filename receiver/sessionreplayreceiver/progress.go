package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
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

// progress is what the current pass has done, written by the pass loop and
// read by the progress reporter.
type progress struct {
	mu        sync.Mutex
	pass      int
	passStart time.Time
	objects   int64            // objects of this pass delivered
	items     int64            // their items
	lastAt    time.Time        // pacing time of the last delivered object
	lastDue   time.Time        // and when it was due
	lateness  *latencyHist     // the replay's, all passes (written here, under mu)
	bad       map[string]int64 // all passes, by reason
}

func (p *progress) startPass(pass int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pass, p.passStart, p.objects, p.items = pass, now, 0, 0
	p.lastAt, p.lastDue = time.Time{}, time.Time{}
}

func (p *progress) delivered(at, due time.Time, items int, late time.Duration, paced, objectDone bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if objectDone { // an object's last piece (paced by event time, an object may go in several)
		p.objects++
	}
	p.items += int64(items)
	p.lastAt, p.lastDue = at, due
	if paced {
		p.lateness.add(late)
	}
}

func (p *progress) badObject(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad == nil {
		p.bad = map[string]int64{}
	}
	p.bad[reason]++
}

func (p *progress) badByReason() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.bad)
}

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

// reportProgress logs the replay's progress every progress_interval, and
// records it as metrics, until ctx ends.
func (r *replayReceiver) reportProgress(ctx context.Context) {
	if r.cfg.ProgressInterval <= 0 {
		return
	}
	tot := r.sessionTotals(r.cfg, r.session)
	tick := time.NewTicker(r.cfg.ProgressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			r.logProgress(now, tot)
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

func (r *replayReceiver) progressAt(now time.Time, cfg *Config, tot totals) progressSnapshot {
	p := &r.prog
	p.mu.Lock()
	snap := progressSnapshot{tot: tot, pass: p.pass, objects: p.objects, items: p.items,
		p50: p.lateness.quantile(0.5), p99: p.lateness.quantile(0.99)}
	lastAt, lastDue, passStart := p.lastAt, p.lastDue, p.passStart
	p.mu.Unlock()

	if tot.items > 0 {
		snap.percent = min(100, 100*float64(snap.items)/float64(tot.items))
	}
	// ETA of this pass: at speed > 0 when its last object is due; at speed
	// 0 at the rate so far.
	switch {
	case cfg.Speed > 0 && !lastAt.IsZero():
		snap.eta = time.Duration(float64(tot.last.Sub(lastAt))/cfg.Speed) - now.Sub(lastDue)
	case cfg.Speed == 0 && snap.items > 0:
		snap.eta = time.Duration(float64(now.Sub(passStart)) * float64(tot.items-snap.items) / float64(snap.items))
	}
	snap.eta = max(snap.eta, 0)
	snap.percent = float64(int(snap.percent*10+0.5)) / 10
	return snap
}

func (r *replayReceiver) logProgress(now time.Time, tot totals) {
	snap := r.progressAt(now, r.cfg, tot)
	r.set.Logger.Info("Replay progress", zap.String("session", r.session.SessionID), zap.Int("pass", snap.pass),
		zap.Int64("objects_done", snap.objects), zap.Int64("objects_total", tot.objects),
		zap.Int64("items_done", snap.items), zap.Int64("items_total", tot.items),
		zap.Float64("percent", snap.percent),
		zap.Duration("lateness_p99", snap.p99), zap.Duration("eta", snap.eta))
	ctx := context.Background()
	r.telemetry.ReceiverSessionReplayProgress.Record(ctx, snap.percent/100)
	r.telemetry.ReceiverSessionReplayEta.Record(ctx, snap.eta.Seconds())
}

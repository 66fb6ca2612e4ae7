package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

const checkpointKey = "session_replay.checkpoint"

// checkpoint is a replay's place, kept in the storage extension after
// every delivered object: enough to go on in the same pass, with the same
// anchor, id mapping and timestamp shift.
type checkpoint struct {
	// Replay is the settings of the replay that wrote it (replaySettings):
	// only a replay configured the same goes on from it.
	Replay  map[string]string `json:"replay"`
	Session string            `json:"session"`
	Seed    []byte            `json:"seed"`
	Pass    int               `json:"pass"`
	Passes  int               `json:"passes"` // passes completed
	Anchor  time.Time         `json:"anchor"` // when the pass's first object was due
	// The last object delivered in the pass (empty: none yet), in the
	// listing's order (capture time, then key).
	LastKey  string    `json:"lastKey,omitempty"`
	LastTime time.Time `json:"lastTime"`
	// The pass's schedule after that object.
	SchedStarted bool          `json:"schedStarted"`
	SchedFirst   time.Time     `json:"schedFirst"`
	SchedPrev    time.Time     `json:"schedPrev"`
	SchedOffset  time.Duration `json:"schedOffset"`
	// Fixed by pass 0, for relative timestamps and loops.
	C0       time.Time     `json:"c0"`
	Delta0   time.Duration `json:"delta0"`
	Length   time.Duration `json:"length"`
	EventsLo int64         `json:"eventsLo"`
	EventsHi int64         `json:"eventsHi"`
}

// openCheckpoint gets the storage client of checkpoint.storage from the
// host, and the checkpoint stored there, if any.
func (r *replayReceiver) openCheckpoint(ctx context.Context, host component.Host) (*checkpoint, error) {
	id := *r.cfg.Checkpoint.Storage
	h, ok := host.(interface {
		GetExtensions() map[component.ID]component.Component
	})
	if !ok {
		return nil, fmt.Errorf("checkpoint.storage %s: the host offers no extensions", id)
	}
	ext, ok := h.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("checkpoint.storage %s: no such extension (add it under extensions and service.extensions)", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("checkpoint.storage %s: not a storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, r.set.ID, "")
	if err != nil {
		return nil, fmt.Errorf("checkpoint.storage %s: %w", id, err)
	}
	r.checkpoints = client
	data, err := client.Get(ctx, checkpointKey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint.storage %s: read: %w", id, err)
	}
	if data == nil {
		return nil, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil || len(cp.Seed) != sha256.Size {
		r.set.Logger.Warn("Ignoring an unreadable replay checkpoint; starting afresh", zap.Error(err))
		return nil, nil
	}
	return &cp, nil
}

// save stores the replay's place after the object f (nil: at the start
// of pass p.pass).
func (run *replayRun) saveCheckpoint(p *passState, f *fetched) {
	if run.r.checkpoints == nil {
		return
	}
	cp := checkpoint{
		Replay: replaySettings(run.cfg), Session: run.session.SessionID, Seed: run.seed[:], Pass: p.pass, Passes: run.tally.passesDone(), Anchor: p.anchor,
		C0: p.c0, Delta0: p.delta0, Length: p.length, EventsLo: int64(p.events.Lo), EventsHi: int64(p.events.Hi),
	}
	if f != nil {
		cp.LastKey, cp.LastTime = f.obj.Key, f.obj.CaptureTime
	}
	if s := p.sched; s != nil && f != nil {
		cp.SchedStarted, cp.SchedFirst, cp.SchedPrev, cp.SchedOffset = s.started, s.first, s.prev, s.offset
	}
	data, err := json.Marshal(cp)
	if err == nil {
		// Not the replay's context: a checkpoint of what was delivered is
		// written even while the collector stops.
		err = run.r.checkpoints.Set(context.Background(), checkpointKey, data)
	}
	if err != nil && !run.r.checkpointFailing {
		run.r.checkpointFailing = true
		run.r.set.Logger.Warn("Could not write the replay checkpoint; a restart may repeat objects", zap.Error(err))
	}
}

// replaySettings returns, as text by setting name, the settings that
// define a replay's run: what it replays (the session as configured, an
// id or auto with its selection and filter; the part; the signals) and how
// (speed, gaps, loops, duration, timestamps, ids, shard, start). Where and
// how fast it reads, how it retries and reports are not among them.
func replaySettings(cfg *Config) map[string]string {
	join := func(ss []string) string { return strings.Join(ss, ",") }
	var signals []string
	for _, sig := range cfg.Signals {
		signals = append(signals, string(sig))
	}
	s := map[string]string{
		"session":          cfg.Session,
		"services":         join(cfg.Services),
		"phases":           join(cfg.Phases),
		"time_range.start": cfg.TimeRange.Start,
		"time_range.end":   cfg.TimeRange.End,
		"signals":          join(signals),
		"speed":            strconv.FormatFloat(cfg.Speed, 'g', -1, 64),
		"max_gap":          cfg.MaxGap.String(),
		"loops":            strconv.Itoa(cfg.Loops),
		"max_duration":     cfg.MaxDuration.String(),
		"timestamps":       string(cfg.Timestamps),
		"pace_by":          string(cfg.PaceBy),
		"regenerate_ids":   strconv.FormatBool(cfg.RegenerateIDs),
		"id_seed":          "",
		"shard":            fmt.Sprintf("%d/%d", cfg.Shard.Index, cfg.Shard.Count),
		"start_at":         "",
	}
	if cfg.Copies > 1 { // recorded only where set: checkpoints from before copies still match
		s["copies"] = strconv.Itoa(cfg.Copies)
	}
	if cfg.IDSeed != "" { // recorded by its hash: the key of the id mapping stays out of the storage
		s["id_seed"] = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(cfg.IDSeed)))
	}
	if !cfg.StartAt.IsZero() {
		s["start_at"] = cfg.StartAt.UTC().Format(time.RFC3339Nano)
	}
	if cfg.Session == AutoSession {
		s["selection"] = string(cfg.Selection)
		s["filter.session_type"] = cfg.Filter.SessionType
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(cfg.Filter.Labels)) {
			labels = append(labels, k+"="+cfg.Filter.Labels[k])
		}
		s["filter.labels"] = join(labels)
	}
	return s
}

// mismatch says why the checkpoint is not the place of a replay with cfg
// ("" if it is): the settings that differ, each with the checkpoint's
// value and the configured one.
func (cp *checkpoint) mismatch(cfg *Config) string {
	if cp.Replay == nil {
		return "it does not record the settings of its replay (written by an older version)"
	}
	want := replaySettings(cfg)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		got, ok := cp.Replay[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s not recorded, the configuration asks for %q", k, want[k]))
		case got != want[k]:
			diffs = append(diffs, fmt.Sprintf("%s %q, the configuration asks for %q", k, got, want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cp.Replay)) {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s %q, the configuration does not set it", k, cp.Replay[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// clearCheckpoint removes the checkpoint of a replay that finished: a
// restart replays afresh.
func (r *replayReceiver) clearCheckpoint() {
	if r.checkpoints == nil {
		return
	}
	if err := r.checkpoints.Delete(context.Background(), checkpointKey); err != nil {
		r.set.Logger.Warn("Could not remove the replay checkpoint", zap.Error(err))
	}
}

func (r *replayReceiver) closeCheckpoints() error {
	if r.checkpoints == nil {
		return nil
	}
	err := r.checkpoints.Close(context.Background())
	r.checkpoints = nil
	return err
}

// resumeFrom sets up the pass state to go on from a checkpoint.
func (p *passState) resumeFrom(cp *checkpoint, speed float64, maxGap time.Duration) {
	p.pass, p.anchor, p.fixedAnchor = cp.Pass, cp.Anchor, true
	p.c0, p.delta0, p.length = cp.C0, cp.Delta0, cp.Length
	p.events = pdatawalk.TimeRange{Lo: pcommon.Timestamp(cp.EventsLo), Hi: pcommon.Timestamp(cp.EventsHi)}
	if cp.LastKey != "" {
		p.resumeAfter = &sessionstore.Object{Key: cp.LastKey, ObjectKey: sessionstore.ObjectKey{CaptureTime: cp.LastTime}}
		s := newSchedule(cp.Anchor, speed, maxGap)
		s.started, s.first, s.prev, s.offset = cp.SchedStarted, cp.SchedFirst, cp.SchedPrev, cp.SchedOffset
		p.resumeSched = s
	}
}

// deliveredBefore reports whether o comes, in listing order, at or before
// last, the object a resumed pass delivered last.
func deliveredBefore(o, last sessionstore.Object) bool {
	if c := o.CaptureTime.Compare(last.CaptureTime); c != 0 {
		return c < 0
	}
	return o.Key <= last.Key
}

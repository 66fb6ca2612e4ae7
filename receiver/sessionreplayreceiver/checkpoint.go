package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"
	"encoding/json"
	"fmt"
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
	Session string    `json:"session"`
	Seed    []byte    `json:"seed"`
	Pass    int       `json:"pass"`
	Passes  int       `json:"passes"` // passes completed
	Anchor  time.Time `json:"anchor"` // when the pass's first object was due
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
	if err := json.Unmarshal(data, &cp); err != nil || len(cp.Seed) != len(r.seed) {
		r.set.Logger.Warn("Ignoring an unreadable replay checkpoint; starting afresh", zap.Error(err))
		return nil, nil
	}
	return &cp, nil
}

// save stores the replay's place after the object f (nil: at the start
// of pass p.pass).
func (r *replayReceiver) saveCheckpoint(p *passState, f *fetched) {
	if r.checkpoints == nil {
		return
	}
	cp := checkpoint{
		Session: r.session.SessionID, Seed: r.seed[:], Pass: p.pass, Passes: r.result.passes, Anchor: p.anchor,
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
		err = r.checkpoints.Set(context.Background(), checkpointKey, data)
	}
	if err != nil && !r.checkpointFailing {
		r.checkpointFailing = true
		r.set.Logger.Warn("Could not write the replay checkpoint; a restart may repeat objects", zap.Error(err))
	}
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

// Package waitutil holds the waiting the receivers share: sleeping until a
// wall time, and doubling backoff between attempts.
package waitutil // import "github.com/recordreplay/otelcol-recordreplay/internal/waitutil"

import (
	"context"
	"time"
)

// SleepUntil waits for t; it reports false if ctx ended first.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// Backoff waits between attempts, doubling from Initial up to Limit.
type Backoff struct {
	Initial, Limit time.Duration
	next           time.Duration
}

// Wait sleeps for the next interval; it returns ctx's error if ctx ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	if b.next == 0 {
		b.next = b.Initial
	}
	d := b.next
	b.next = min(2*b.next, b.Limit)
	if !SleepUntil(ctx, time.Now().Add(d)) {
		return ctx.Err()
	}
	return nil
}

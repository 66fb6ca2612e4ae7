// Package waitutil holds the waiting the components share: sleeping until a
// wall time, sleeping out the next interval of a backoff, and polling for a
// condition.
package waitutil // import "github.com/recordreplay/otelcol-recordreplay/internal/waitutil"

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v7"
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

// Poll checks done every interval until it reports true (then Poll does)
// or ctx ends (then Poll reports false).
func Poll(ctx context.Context, interval time.Duration, done func() bool) bool {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// NewBackOff returns an exponential backoff from initial, doubling up to
// limit, without jitter and without end.
func NewBackOff(initial, limit time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: initial, Multiplier: 2, MaxInterval: limit}
}

// Wait sleeps for b's next interval; it returns ctx's error if ctx ends first.
func Wait(ctx context.Context, b backoff.BackOff) error {
	if !SleepUntil(ctx, time.Now().Add(b.NextBackOff())) {
		return ctx.Err()
	}
	return nil
}

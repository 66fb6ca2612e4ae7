package waitutil

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackOffDoublesUpToLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBackOff(time.Millisecond, 4*time.Millisecond)
		var got []time.Duration
		for range 5 {
			start := time.Now()
			assert.NoError(t, Wait(context.Background(), b))
			got = append(got, time.Since(start))
		}
		assert.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}, got)
	})
}

func TestSleepUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		assert.True(t, SleepUntil(context.Background(), start.Add(time.Hour)))
		assert.Equal(t, time.Hour, time.Since(start))
		assert.True(t, SleepUntil(context.Background(), start), "a past time returns at once")
		assert.Equal(t, time.Hour, time.Since(start))

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Minute, cancel)
		assert.False(t, SleepUntil(ctx, time.Now().Add(time.Hour)), "ctx ends the wait")
		assert.Equal(t, time.Hour+time.Minute, time.Since(start))
	})
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, SleepUntil(ctx, time.Now().Add(time.Hour)))
	assert.False(t, SleepUntil(ctx, time.Now().Add(-time.Second)), "a past time still honours ctx")
	assert.ErrorIs(t, Wait(ctx, NewBackOff(time.Hour, time.Hour)), context.Canceled)
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		assert.True(t, Poll(context.Background(), time.Second, func() bool { n++; return n == 3 }))
		assert.Equal(t, 2*time.Second, time.Since(start), "checked at once, then every interval")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.False(t, Poll(ctx, time.Second, func() bool { return false }))
	})
}

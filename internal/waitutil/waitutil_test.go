package waitutil

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesUpToLimit(t *testing.T) {
	b := Backoff{Initial: time.Millisecond, Limit: 4 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		got = append(got, b.next)
		require.NoError(t, b.Wait(context.Background()))
	}
	assert.Equal(t, []time.Duration{0, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}, got)
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, SleepUntil(ctx, time.Now().Add(time.Hour)))
	assert.False(t, SleepUntil(ctx, time.Now().Add(-time.Second)), "a past time still honours ctx")
	b := Backoff{Initial: time.Hour, Limit: time.Hour}
	assert.ErrorIs(t, b.Wait(ctx), context.Canceled)
}

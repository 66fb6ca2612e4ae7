package sessionreplayreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestScheduleIsAnchored(t *testing.T) {
	w0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	c0 := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	captures := []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 1100 * time.Millisecond, 61 * time.Second}

	tests := []struct {
		name   string
		speed  float64
		maxGap time.Duration
		want   []time.Duration // due - w0
	}{
		{"recorded pace", 1, 0, []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 1100 * time.Millisecond, 61 * time.Second}},
		{"four times faster", 4, 0, []time.Duration{0, 25 * time.Millisecond, 25 * time.Millisecond, 275 * time.Millisecond, 15250 * time.Millisecond}},
		{"half speed", 0.5, 0, []time.Duration{0, 200 * time.Millisecond, 200 * time.Millisecond, 2200 * time.Millisecond, 122 * time.Second}},
		{"as fast as possible", 0, 0, []time.Duration{0, 0, 0, 0, 0}},
		{"gap cap", 1, 2 * time.Second, []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 1100 * time.Millisecond, 3100 * time.Millisecond}},
		{"gap cap at 2x", 2, 2 * time.Second, []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond, 550 * time.Millisecond, 1550 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSchedule(w0, tt.speed, tt.maxGap)
			for i, c := range captures {
				assert.Equal(t, tt.want[i], s.due(c0.Add(c)).Sub(w0), "object %d", i)
			}
		})
	}
}

func TestScheduleHasNoDrift(t *testing.T) {
	// 100k objects 3 ms apart at speed 3: the last is due exactly at
	// 299.997 s / 3, with no rounding accumulated along the way.
	w0 := time.Unix(1_800_000_000, 0)
	c0 := time.Unix(1_700_000_000, 0)
	s := newSchedule(w0, 3, 0)
	var last time.Time
	for i := range 100_000 {
		last = s.due(c0.Add(time.Duration(i) * 3 * time.Millisecond))
	}
	assert.Equal(t, 99_999*time.Millisecond, last.Sub(w0))
}

func TestNextPassAnchor(t *testing.T) {
	w0 := time.Unix(1_800_000_000, 0)
	c0 := time.Unix(1_700_000_000, 0)
	s := newSchedule(w0, 2, 0)
	s.due(c0)
	s.due(c0.Add(10 * time.Second))
	length := 12 * time.Second
	// The pipeline kept up: the next pass starts one session length (at 2x) later.
	assert.Equal(t, w0.Add(6*time.Second), s.next(length, w0.Add(5*time.Second)))
	// It fell behind: start now.
	late := w0.Add(9 * time.Second)
	assert.Equal(t, late, s.next(length, late))
}

func TestLatencyHist(t *testing.T) {
	var h latencyHist
	assert.Equal(t, time.Duration(0), h.quantile(0.99))
	for i := range 1000 {
		h.add(time.Duration(i) * time.Millisecond / 10) // 0 .. 99.9 ms
	}
	p50 := h.quantile(0.5)
	p99 := h.quantile(0.99)
	assert.InDelta(t, 50*time.Millisecond, p50, float64(3*time.Millisecond))
	assert.InDelta(t, 99*time.Millisecond, p99, float64(5*time.Millisecond))
	assert.Equal(t, 99900*time.Microsecond, h.max)
	assert.LessOrEqual(t, h.quantile(1), h.max)
}

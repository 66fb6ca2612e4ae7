package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"math"
	"time"
)

// latencyHist is a fixed-size log-scale histogram of durations (buckets
// about 5% wide from 10 µs to about 1 h), so lateness quantiles cost the
// same memory whatever the session size.
type latencyHist struct {
	counts [400]uint64
	n      uint64
	max    time.Duration
}

const (
	histMin    = 10 * time.Microsecond
	histGrowth = 1.05
)

func bucketOf(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	i := int(math.Log(float64(d)/float64(histMin))/math.Log(histGrowth)) + 1
	return min(i, len(latencyHist{}.counts)-1)
}

func (h *latencyHist) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns an upper bound of the q-quantile (the top of its bucket,
// never more than the maximum seen).
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			upper := time.Duration(float64(histMin) * math.Pow(histGrowth, float64(i)))
			return min(upper, h.max)
		}
	}
	return h.max
}

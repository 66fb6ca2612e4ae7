package pdatawalk // import "github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TimeRange accumulates the earliest and latest of the timestamps added;
// unset (zero) timestamps are ignored.
type TimeRange struct{ Lo, Hi pcommon.Timestamp }

// Add widens the range to include ts.
func (r *TimeRange) Add(ts pcommon.Timestamp) {
	if ts == 0 {
		return
	}
	if r.Lo == 0 || ts < r.Lo {
		r.Lo = ts
	}
	if ts > r.Hi {
		r.Hi = ts
	}
}

// Merge widens the range to include o.
func (r *TimeRange) Merge(o TimeRange) {
	r.Add(o.Lo)
	r.Add(o.Hi)
}

// IsEmpty reports whether nothing was added.
func (r TimeRange) IsEmpty() bool { return r.Lo == 0 }

// Times returns the range as times (both zero when empty).
func (r TimeRange) Times() (time.Time, time.Time) {
	if r.IsEmpty() {
		return time.Time{}, time.Time{}
	}
	return r.Lo.AsTime(), r.Hi.AsTime()
}

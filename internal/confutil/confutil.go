// Package confutil holds what our component configurations need from
// confmap beyond its defaults.
package confutil // import "github.com/recordreplay/otelcol-recordreplay/internal/confutil"

import (
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// DropEmpty returns conf without the top-level keys whose value is the
// empty string, so that such a key reads as unset. An environment variable
// that is not set expands to "" (`start_at: ${env:REPLAY_START_AT}`), and a
// time.Time setting would otherwise refuse it.
func DropEmpty(conf *confmap.Conf, keys ...string) *confmap.Conf {
	var m map[string]any
	for _, k := range keys {
		if v, ok := conf.Get(k).(string); ok && v == "" {
			if m == nil {
				m = conf.ToStringMap()
			}
			delete(m, k)
		}
	}
	if m == nil {
		return conf
	}
	return confmap.NewFromStringMap(m)
}

// CheckDuration refuses a negative duration, and a positive one under a
// millisecond: YAML's bare number (`duration: 60`) decodes as nanoseconds,
// which nobody means; the error is a FieldError of field and names the unit
// to give.
func CheckDuration(field string, d time.Duration) error {
	switch {
	case d < 0:
		return Errorf(field, "%s must not be negative", d)
	case d > 0 && d < time.Millisecond:
		return Errorf(field, "%s is under a millisecond: a bare number is read as nanoseconds; give a unit (e.g. %ds)",
			d, int64(d))
	}
	return nil
}

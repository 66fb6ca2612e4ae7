package confutil

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestDropEmpty(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"a": "", "b": "x", "c": "", "d": map[string]any{"e": ""}})
	got := DropEmpty(conf, "a", "b", "d", "missing")
	assert.Equal(t, map[string]any{"b": "x", "c": "", "d": map[string]any{"e": ""}}, got.ToStringMap())
	assert.Same(t, conf, DropEmpty(conf, "b"), "nothing to drop: the same conf")
	assert.Equal(t, "", conf.Get("a"), "the input is not changed")
}

// TestCheckDuration: negative durations and positive ones under a
// millisecond (a bare YAML number) are refused, naming the setting.
func TestCheckDuration(t *testing.T) {
	require.NoError(t, CheckDuration("duration", 0))
	require.NoError(t, CheckDuration("duration", time.Millisecond))
	require.NoError(t, CheckDuration("duration", time.Hour))
	require.ErrorContains(t, CheckDuration("max_duration", -time.Second), "max_duration: -1s must not be negative")
	require.ErrorContains(t, CheckDuration("duration", 60), "duration: 60ns is under a millisecond: a bare number is read as nanoseconds; give a unit (e.g. 60s)")
	fe, ok := errors.AsType[*FieldError](CheckDuration("start_delay", -1))
	require.True(t, ok)
	assert.Equal(t, "start_delay", fe.Field)
}

package confutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/confmap"
)

func TestDropEmpty(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"a": "", "b": "x", "c": "", "d": map[string]any{"e": ""}})
	got := DropEmpty(conf, "a", "b", "d", "missing")
	assert.Equal(t, map[string]any{"b": "x", "c": "", "d": map[string]any{"e": ""}}, got.ToStringMap())
	assert.Same(t, conf, DropEmpty(conf, "b"), "nothing to drop: the same conf")
	assert.Equal(t, "", conf.Get("a"), "the input is not changed")
}

package confutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

type colours struct{}

func (colours) Values() []string { return []string{string(red), string(green), string(blue)} }

type colour = Enum[colours]

const (
	red   colour = "red"
	green colour = "green"
	blue  colour = "blue"
)

func TestEnumUnmarshalText(t *testing.T) {
	var c colour
	require.NoError(t, c.UnmarshalText([]byte("green")))
	assert.Equal(t, green, c)

	err := c.UnmarshalText([]byte("Green"))
	require.EqualError(t, err, `unknown value "Green": want "red", "green" or "blue"`, "values are case-sensitive")
	assert.Equal(t, green, c, "a refused value leaves the setting as it was")
	require.Error(t, c.UnmarshalText(nil), "the empty string is not a value")
}

// TestEnumLoads: the collector's decoder reaches UnmarshalText, and its
// error names the key.
func TestEnumLoads(t *testing.T) {
	var cfg struct {
		Colour colour `mapstructure:"colour"`
	}
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"colour": "blue"}).Unmarshal(&cfg))
	assert.Equal(t, blue, cfg.Colour)
	err := confmap.NewFromStringMap(map[string]any{"colour": "purple"}).Unmarshal(&cfg)
	require.ErrorContains(t, err, "'colour' unknown value \"purple\": want \"red\", \"green\" or \"blue\"")
}

func TestOneOf(t *testing.T) {
	assert.Empty(t, OneOf(nil))
	assert.Equal(t, `"a"`, OneOf([]string{"a"}))
	assert.Equal(t, `"a" or "b"`, OneOf([]string{"a", "b"}))
	assert.Equal(t, `"a", "b" or "c"`, OneOf([]string{"a", "b", "c"}))
}

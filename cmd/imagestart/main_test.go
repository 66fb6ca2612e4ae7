package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCollectorArgs: the container's command goes to the collector as it
// is; without one, the image's default config is the capture, or the tap
// when FORWARD_ENDPOINT is set.
func TestCollectorArgs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	forward := env(map[string]string{"FORWARD_ENDPOINT": "backend:4317"})

	assert.Equal(t, []string{"--config", "/etc/otelcol-recordreplay/config.yaml"}, collectorArgs(nil, none))
	assert.Equal(t, []string{"--config", "/etc/otelcol-recordreplay/tap.yaml"}, collectorArgs(nil, forward))
	assert.Equal(t, []string{"--config", "/etc/otelcol-recordreplay/config.yaml"}, collectorArgs(nil, env(map[string]string{"FORWARD_ENDPOINT": ""})),
		"an empty FORWARD_ENDPOINT is not set")
	replay := []string{"--config", "/etc/otelcol-recordreplay/replay.yaml"}
	assert.Equal(t, replay, collectorArgs(replay, forward), "the container's command wins")
	assert.Equal(t, []string{"validate", "--config", "x.yaml"}, collectorArgs([]string{"validate", "--config", "x.yaml"}, none))
}

package main

import (
	"strings"
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

// TestReplayEnv: the image takes make replay's variables: REPLAY_PROTOCOL
// picks the exporter when REPLAY_ENDPOINT is set (an explicit
// REPLAY_EXPORTER wins), REPLAY_HEADERS name=value pairs become the YAML
// map the config takes, and bad values are refused, named.
func TestReplayEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    map[string]string // "" for: not in the environment
		wantErr string
	}{
		{name: "nothing set", in: []string{"PATH=/"}, want: map[string]string{"REPLAY_EXPORTER": "", "REPLAY_HEADERS": ""}},
		{name: "endpoint: http", in: []string{"REPLAY_ENDPOINT=http://t:4318"}, want: map[string]string{"REPLAY_EXPORTER": "otlp_http"}},
		{
			name: "grpc with headers",
			in:   []string{"REPLAY_PROTOCOL=grpc", "REPLAY_ENDPOINT=t:4317", "REPLAY_HEADERS=authorization=Bearer x, x-scope-orgid = team-a,"},
			want: map[string]string{"REPLAY_EXPORTER": "otlp_grpc", "REPLAY_HEADERS": "{'authorization': 'Bearer x', 'x-scope-orgid': 'team-a'}"},
		},
		{name: "a quote and =", in: []string{"REPLAY_HEADERS=x-note=it's=ok"}, want: map[string]string{"REPLAY_HEADERS": "{'x-note': 'it''s=ok'}"}},
		{name: "a YAML map as it is", in: []string{`REPLAY_HEADERS={authorization: "Bearer x"}`}, want: map[string]string{"REPLAY_HEADERS": `{authorization: "Bearer x"}`}},
		{name: "explicit exporter wins", in: []string{"REPLAY_ENDPOINT=t:4317", "REPLAY_EXPORTER=otlp_grpc"}, want: map[string]string{"REPLAY_EXPORTER": "otlp_grpc"}},
		{name: "no endpoint: debug (the config's default)", in: []string{"REPLAY_PROTOCOL=grpc"}, want: map[string]string{"REPLAY_EXPORTER": ""}},
		{name: "bad protocol", in: []string{"REPLAY_PROTOCOL=grcp", "REPLAY_ENDPOINT=t:4317"}, wantErr: "REPLAY_PROTOCOL=grcp: want grpc or http"},
		{name: "bare host over http", in: []string{"REPLAY_ENDPOINT=t:4318"}, wantErr: "REPLAY_ENDPOINT=t:4318: OTLP/HTTP needs a URL"},
		{name: "not a pair", in: []string{"REPLAY_HEADERS=a=b,Bearer s3cret"}, wantErr: `REPLAY_HEADERS: pair 2 has no "="`},
		{name: "not a header name", in: []string{"REPLAY_HEADERS=x scope=s3cret"}, wantErr: `REPLAY_HEADERS: pair 1: "x scope" is not a header name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := replayEnv(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				if err != nil {
					assert.NotContains(t, err.Error(), "s3cret", "the error shows a value")
				}
				return
			}
			assert.NoError(t, err)
			for name, want := range tc.want {
				var got []string
				for _, kv := range env {
					if v, ok := strings.CutPrefix(kv, name+"="); ok {
						got = append(got, v)
					}
				}
				if want == "" {
					assert.Empty(t, got, name)
				} else {
					assert.Equal(t, []string{want}, got, "%s, once", name)
				}
			}
		})
	}
}

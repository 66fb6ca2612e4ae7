package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// TestAnnotate: annotate adds phases (offsets from the session's first
// event, or RFC 3339 times), labels, flags and notes to a session's
// metadata.json, removes phases and labels, prints what the session has;
// bad input exits 2 naming it, and stores nothing.
func TestAnnotate(t *testing.T) {
	dir, st := seeded(t)
	ctx := context.Background()
	code, out, errw := sessionctl(t, "--dir", dir, "annotate", "good", "--phase", "incident=0s..1m",
		"--phase", "after=2026-11-28T23:01:00Z..2026-11-28T23:02:00Z", "--label", "ticket=INC-1", "--flag", "paymentFailure", "--note", "checkout broke")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, `session good annotated (status completed)
phase incident: 2026-11-28T22:59:50Z .. 2026-11-28T23:00:50Z (1m0s)
phase after: 2026-11-28T23:01:00Z .. 2026-11-28T23:02:00Z (1m0s)
label ticket=INC-1
flag paymentFailure
note: checkout broke
`, out)
	m, err := sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	require.NotNil(t, m.Annotations)
	assert.Equal(t, []sessionstore.AnnotatedPhase{
		{Name: "incident", Start: c0, End: c0.Add(time.Minute)},
		{Name: "after", Start: c0.Add(70 * time.Second), End: c0.Add(130 * time.Second)},
	}, m.Annotations.Phases)
	assert.Equal(t, "INC-1", m.Labels["ticket"])
	assert.Contains(t, m.EnabledFlags, "paymentFailure")
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)

	code, out, errw = sessionctl(t, "--dir", dir, "annotate", "good", "--remove-phase", "after", "--remove-label", "ticket")
	require.Equal(t, 0, code, errw)
	assert.NotContains(t, out, "after")
	assert.NotContains(t, out, "ticket")
	m, err = sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	assert.Len(t, m.Annotations.Phases, 1)
	assert.NotContains(t, m.Labels, "ticket")

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no session", []string{"--note", "n"}, "annotate needs one session id"},
		{"nothing", []string{"good"}, "nothing to annotate"},
		{"phase without range", []string{"good", "--phase", "p"}, `--phase "p": want NAME=FROM..TO`},
		{"phase without end", []string{"good", "--phase", "p=1m"}, `--phase "p=1m": want NAME=FROM..TO`},
		{"empty name", []string{"good", "--phase", "=1m..2m"}, "phases[0].name: must not be empty"},
		{"reversed", []string{"good", "--phase", "p=2m..1m"}, "is not before"},
		{"bad end", []string{"good", "--phase", "p=1m..later"}, `"later"`},
		{"bad label", []string{"good", "--label", "x"}, `"x": want key=value`},
		{"hostile id", []string{"../etc", "--note", "n"}, `invalid session id "../etc"`},
		{"missing session", []string{"nope", "--note", "n"}, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errw := sessionctl(t, append([]string{"--dir", dir, "annotate"}, tt.args...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, errw, tt.want)
		})
	}
	m, err = sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	assert.Len(t, m.Annotations.Phases, 1, "a refused annotate stores nothing")
}

// TestAnnotateControl: with --control, annotate goes through the API's
// POST /v1/sessions/{id}/annotations; its errors print as API errors.
func TestAnnotateControl(t *testing.T) {
	_, st := seeded(t)
	s := startControl(t, "")
	s.replay(t, "session_replay", newFakeReplay(st))
	code, out, errw := s.ctl(t, "annotate", "good", "--phase", "incident=0s..1m", "--note", "through the API")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "phase incident: 2026-11-28T22:59:50Z .. 2026-11-28T23:00:50Z (1m0s)\n")
	m, err := sessionstore.ReadMetadata(context.Background(), st, "good")
	require.NoError(t, err)
	require.NotNil(t, m.Annotations)
	assert.Equal(t, []string{"through the API"}, m.Annotations.Notes)

	code, _, errw = s.ctl(t, "annotate", "good", "--phase", "p=2m..1m")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, "error: bad_request: phases[0]: from")
	code, _, errw = s.ctl(t, "annotate", "nope", "--note", "n")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, `error: not_found: session "nope" not found`)
}

// TestPhasesAnnotated: phases prints a captured session's annotated
// phases (name, start, end, duration), since replays take them by name.
func TestPhasesAnnotated(t *testing.T) {
	dir, _ := seeded(t)
	code, _, errw := sessionctl(t, "--dir", dir, "annotate", "good", "--phase", "incident=0s..1m")
	require.Equal(t, 0, code, errw)
	code, out, errw := sessionctl(t, "--dir", dir, "phases", "good")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, `session good: 1 annotated phases
PHASE     START                 END                   DURATION
incident  2026-11-28T22:59:50Z  2026-11-28T23:00:50Z  1m0s
`, out)
}

// TestRepairKeepsAnnotations: verify --repair of an annotated session
// (stale counts, a stale writer view) keeps its annotations in
// metadata.json, and the repaired view holds none.
func TestRepairKeepsAnnotations(t *testing.T) {
	dir, st := seeded(t)
	ctx := context.Background()
	code, _, errw := sessionctl(t, "--dir", dir, "annotate", "good", "--phase", "incident=0s..1m", "--label", "ticket=INC-1")
	require.Equal(t, 0, code, errw)
	m, err := sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	m.CapturedTraces = 1
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "collector-a", m))
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))

	code, out, errw := sessionctl(t, "--dir", dir, "verify", "--repair", "good")
	require.Equal(t, 0, code, "%s%s", out, errw)
	m, err = sessionstore.ReadMetadata(ctx, st, "good")
	require.NoError(t, err)
	assert.Equal(t, int64(4), m.CapturedTraces, "repaired")
	require.NotNil(t, m.Annotations)
	assert.Len(t, m.Annotations.Phases, 1)
	assert.Equal(t, "INC-1", m.Labels["ticket"])
	views, err := sessionstore.ReadWriters(ctx, st, "good")
	require.NoError(t, err)
	for w, v := range views {
		assert.Nil(t, v.Annotations, w)
		assert.NotContains(t, v.Labels, "ticket", w)
	}
}

package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

const seedPhasesTable = `session seed: pattern payment-failure, seed 0, 2 phases
PHASE     INDEX  START                 END                   DURATION  FLAGS  ITEMS
baseline  0      2026-11-28T22:59:50Z  2026-11-28T23:00:20Z  30s       -      6
failure   1      2026-11-28T23:00:20Z  2026-11-28T23:00:50Z  30s       -      6
`

func TestPhases(t *testing.T) {
	dir, st := seeded(t) // sessiontest.SeedPhases as "seed", a capture session "good"
	code, out, errw := sessionctl(t, "--dir", dir, "phases", "seed")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, seedPhasesTable, out)

	code, out, errw = sessionctl(t, "--dir", dir, "phases", "good")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "sessionctl: session good has no phase table (it is a capture session; seed_gen writes one into the seed sessions it generates)\n", errw)
	code, _, errw = sessionctl(t, "--dir", dir, "phases", "missing")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, "not found")
	code, _, _ = sessionctl(t, "--dir", dir, "phases")
	assert.Equal(t, 2, code)

	// Flags (those at 0 left out), a seed, sub-second times.
	ctx := context.Background()
	m, err := sessionstore.ReadMetadata(ctx, st, "seed")
	require.NoError(t, err)
	m.Seed.Seed = 42
	m.Seed.Phases[0].Flags = map[string]float64{"payment.fail_rate": 0, "checkout.slow": 0}
	m.Seed.Phases[1].Flags = map[string]float64{"payment.fail_rate": 0.35, "checkout.slow": 1, "db.outage": 0}
	m.Seed.Phases[1].End = m.Seed.Phases[1].End.Add(1500 * time.Millisecond)
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
	code, out, errw = sessionctl(t, "--dir", dir, "phases", "seed")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, `session seed: pattern payment-failure, seed 42, 2 phases
PHASE     INDEX  START                 END                     DURATION  FLAGS                                   ITEMS
baseline  0      2026-11-28T22:59:50Z  2026-11-28T23:00:20Z    30s       -                                       6
failure   1      2026-11-28T23:00:20Z  2026-11-28T23:00:51.5Z  31.5s     checkout.slow=1,payment.fail_rate=0.35  6
`, out)
}

func TestPhasesControl(t *testing.T) {
	_, st := seeded(t)
	s := startControl(t, "")
	s.replay(t, "session_replay", newFakeReplay(st))
	code, out, errw := s.ctl(t, "phases", "seed")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, seedPhasesTable, out)
	code, out, errw = s.ctl(t, "phases", "good", "--store", st.String())
	assert.Equal(t, 1, code, out)
	assert.Contains(t, errw, "session good has no phase table")
	code, _, errw = s.ctl(t, "phases", "missing")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, `error: not_found: session "missing" not found`)
	code, _, errw = s.ctl(t, "phases", "seed", "--store", "nowhere")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, `error: not_found: no registered component uses store "nowhere"`)
}

package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

func duJSON(t *testing.T, out string) []duSession {
	t.Helper()
	var all []duSession
	for _, l := range lines(out) {
		var s duSession
		require.NoError(t, json.Unmarshal([]byte(l), &s), l)
		all = append(all, s)
	}
	return all
}

func val(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func TestDu(t *testing.T) {
	dir, st := newStore(t)
	meta := writeBase(t, st, "base")
	stored := sessiontest.Read(t, st, "base")

	// From the listing and metadata.json.
	code, out, errw := sessionctl(t, "--dir", dir, "du", "base", "--json")
	require.Equal(t, 0, code, errw)
	s := duJSON(t, out)[0]
	assert.Equal(t, "metadata.json", s.ItemsFrom)
	assert.Equal(t, meta.TotalSizeBytes, s.Total.StoredBytes)
	assert.Equal(t, int64(6), s.Total.Objects)
	assert.Equal(t, meta.Items(), val(s.Total.Items))
	assert.Equal(t, stored.Raw[sessionstore.SignalTraces]+stored.Raw[sessionstore.SignalMetrics]+stored.Raw[sessionstore.SignalLogs], val(s.Total.RawBytes))
	for _, sig := range sessionstore.Signals {
		assert.Equal(t, meta.Signals[sig].Items, val(s.Signals[sig].Items), sig)
		assert.Equal(t, meta.Signals[sig].CompressedBytes, s.Signals[sig].StoredBytes, sig)
	}
	require.Len(t, s.Hours, 2, "the fixture spans an hour boundary")
	assert.Equal(t, "2026-11-28/22", s.Hours[0].Hour)
	assert.Equal(t, "2026-11-28/23", s.Hours[1].Hour)
	assert.Equal(t, int64(1), s.Hours[0].Signals[sessionstore.SignalTraces].Objects)
	assert.Equal(t, int64(3), s.Hours[1].Signals[sessionstore.SignalTraces].Objects)
	assert.Nil(t, s.Hours[1].Signals[sessionstore.SignalTraces].Items, "per hour: only with --decode")

	// --decode: per hour from the objects.
	code, out, _ = sessionctl(t, "--dir", dir, "du", "--decode", "--json", "base")
	require.Equal(t, 0, code)
	d := duJSON(t, out)[0]
	assert.Equal(t, "objects", d.ItemsFrom)
	assert.Equal(t, int64(12), val(d.Hours[0].Signals[sessionstore.SignalTraces].Items))
	assert.Equal(t, int64(64), val(d.Hours[1].Signals[sessionstore.SignalTraces].Items))
	assert.Equal(t, int64(12), val(d.Hours[1].Signals[sessionstore.SignalLogs].Items))
	assert.Equal(t, s.Total, d.Total, "the metadata and the objects agree")
	var hours int64
	for _, h := range d.Hours {
		for _, c := range h.Signals {
			hours += val(c.RawBytes)
		}
	}
	assert.Equal(t, val(d.Total.RawBytes), hours)

	// The table.
	code, out, _ = sessionctl(t, "--dir", dir, "du", "base")
	require.Equal(t, 0, code)
	ls := lines(out)
	assert.Regexp(t, `^base: 6 objects, \S+ stored; items and raw bytes per signal from metadata.json \(per hour: --decode\)$`, ls[0])
	assert.Regexp(t, `^HOUR +SIGNAL +OBJECTS +STORED +RAW +ITEMS$`, ls[1])
	assert.Regexp(t, `^2026-11-28/22  traces +1 +\S+ +- +-$`, ls[2])
	assert.Regexp(t, `^2026-11-28/23  metrics +1 +\S+ +- +-$`, ls[4])
	assert.Regexp(t, `^total +traces +4 +\S+ +\S+ +76$`, ls[6])
	assert.Regexp(t, `^total +all +6 +\S+ +\S+ +92$`, ls[9])
	for _, l := range ls[1:] {
		assert.Len(t, l, len(ls[1]), "aligned: %q", l)
	}
}

// TestDuDisagreement: --decode notes where metadata.json says otherwise,
// and bad objects make the exit status 1.
func TestDuDisagreement(t *testing.T) {
	dir, st := newStore(t)
	m := writeBase(t, st, "base")
	m.CapturedLogs = 5
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))
	w := sessiontest.NewWriter(t, st, "base", c0)
	bad := w.Raw(sessionstore.SignalMetrics, c0.Add(2*time.Hour), []byte("junk"))
	require.NoError(t, st.Put(context.Background(), sessionstore.RawPrefix("base")+"stray.txt", []byte("x")))

	code, out, errw := sessionctl(t, "--dir", dir, "du", "--decode", "base")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "note: metadata.json says 5 logs items, the objects hold 12 (sessionctl verify)")
	assert.Contains(t, out, "note: 2 bad objects (see stderr)")
	assert.Regexp(t, `\ntotal +other +- +1B +- +-\n`, out)
	assert.Regexp(t, `\n2026-11-29/00  metrics +1 +4B +0B +0\n`, out)
	assert.Contains(t, errw, bad+": corrupt object: not gzip")
	assert.Contains(t, errw, "stray.txt")
}

func TestDuSessions(t *testing.T) {
	dir, st := newStore(t)
	writeBase(t, st, "a")
	sessiontest.OriginalToolingSession(t, st, "old", c0)
	code, out, errw := sessionctl(t, "--dir", dir, "du", "a", "old")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "\nold: 4 objects")
	// The original tooling's metadata counts items, not raw bytes.
	assert.Regexp(t, `\ntotal +traces +3 +\S+ +- +12\n`, out)
	assert.Contains(t, out, "\nall 2 sessions:\n")
	assert.Regexp(t, `\nall +10 +\S+ +- +105\n$`, out)
	code, out, _ = sessionctl(t, "--dir", dir, "du", "--json", "a", "old")
	require.Equal(t, 0, code)
	assert.Len(t, duJSON(t, out), 2)
	assert.Equal(t, 2, strings.Count(out, "\n"))

	code, _, errw = sessionctl(t, "--dir", dir, "du")
	assert.Equal(t, 2, code)
	assert.Contains(t, errw, "du needs at least one session id")
}

package sessionstore

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateSessionID(t *testing.T) {
	valid := []string{"a", "capture-20261128T231000Z-1a2b3c4d", "A.b_c-9", strings.Repeat("x", 128), "a..b",
		"console", "nulls", "com10", "aux_1", "con-x", "lpt"}
	for _, id := range valid {
		assert.NoError(t, ValidateSessionID(id), id)
	}
	invalid := map[string]string{
		"../x":                   `"../x"`,
		"a/b":                    `"a/b"`,
		"":                       "must not be empty",
		"..":                     `".."`,
		".hidden":                `".hidden"`,
		"a\x00b":                 `"a\x00b"`,
		strings.Repeat("y", 200): "200 bytes long",
		"a b":                    `"a b"`,
		"é":                      `"é"`,
		"-leading":               `"-leading"`,
		// Unsafe where names are case-insensitive or Windows rules apply.
		"run1.":    "ends in a dot",
		"CON":      "reserved on Windows",
		"nul":      "reserved on Windows",
		"Aux.json": "reserved on Windows",
		"com7":     "reserved on Windows",
		"LPT1.log": "reserved on Windows",
		"prn.x.y":  "reserved on Windows",
	}
	for id, frag := range invalid {
		err := ValidateSessionID(id)
		require.ErrorIs(t, err, ErrInvalidSessionID, "%q", id)
		assert.Contains(t, err.Error(), frag)
		assert.True(t, IsPermanent(err))
	}
}

func TestNewSessionID(t *testing.T) {
	at := time.Date(2026, 11, 28, 23, 10, 0, 0, time.FixedZone("x", 3600))
	id := NewSessionID("capture", at)
	assert.Regexp(t, `^capture-20261128T221000Z-[0-9a-f]{8}$`, id)
	require.NoError(t, ValidateSessionID(id))
	assert.NotEqual(t, id, NewSessionID("capture", at))
}

func TestObjectKeyRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 28, 23, 59, 59, 999_999_999, time.UTC)
	k := NewObjectKey("s1", SignalMetrics, at)
	s := k.String()
	assert.Regexp(t, `^sessions/s1/raw/2026-11-28/23/metrics-1795910399999-[0-9a-f-]{36}\.otlp\.gz$`, s)
	got, err := ParseObjectKey(s)
	require.NoError(t, err)
	assert.Equal(t, k, got)
	assert.Equal(t, at.Truncate(time.Millisecond), got.CaptureTime)

	// Keys sort in capture-time order, across hours and days.
	a := NewObjectKey("s1", SignalTraces, at).String()
	b := NewObjectKey("s1", SignalLogs, at.Add(time.Millisecond)).String()
	assert.Less(t, a, b)
}

func TestParseObjectKeyRefuses(t *testing.T) {
	good := NewObjectKey("s1", SignalTraces, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).String()
	bad := []string{
		"sessions/s1/metadata.json",
		strings.Replace(good, "/03/", "/04/", 1),                 // hour disagrees
		strings.Replace(good, "2026-01-02", "2026-01-03", 1),     // day disagrees
		strings.Replace(good, "traces-", "spans-", 1),            // unknown signal
		strings.Replace(good, ".otlp.gz", ".json", 1),            // suffix
		strings.Replace(good, "sessions/s1/", "sessions/../", 1), // bad id
		strings.Replace(good, "-17", "-7", 1),                    // 12 digits
		good[:len(good)-12] + "zz.otlp.gz",                       // not a uuid
	}
	for _, k := range bad {
		_, err := ParseObjectKey(k)
		assert.Error(t, err, k)
	}
}

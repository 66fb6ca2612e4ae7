package sessionstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// seedResource is a resource as seed_gen writes it, with the given extra
// attributes.
func seedResource(extra map[string]string) pcommon.Resource {
	res := pcommon.NewResource()
	a := res.Attributes()
	a.PutStr(sessionstore.AttrSessionID, "seed-1")
	a.PutStr(sessionstore.AttrPattern, "payment-failure")
	for k, v := range extra {
		a.PutStr(k, v)
	}
	return res
}

// TestApplySeedResourceLabels: a seed resource's test.label.<key> and
// test.diagnostic_session_id fill the session's labels and
// diagnosticSessionId; the pattern label stays the pattern's.
func TestApplySeedResourceLabels(t *testing.T) {
	m := &sessionstore.Metadata{}
	m.ApplySeedResource(seedResource(map[string]string{
		sessionstore.AttrLabel + "team":      "payments",
		sessionstore.AttrLabel + "run":       "7",
		sessionstore.AttrLabel + "pattern":   "not-the-pattern",
		sessionstore.AttrDiagnosticSessionID: "diag-42",
	}))
	assert.Equal(t, map[string]string{"pattern": "payment-failure", "team": "payments", "run": "7"}, m.Labels)
	assert.Equal(t, "diag-42", m.DiagnosticSessionID)

	// A session that has a diagnostic session id and labels keeps them.
	m.ApplySeedResource(seedResource(map[string]string{
		sessionstore.AttrLabel + "team":      "other",
		sessionstore.AttrDiagnosticSessionID: "diag-43",
	}))
	assert.Equal(t, "payments", m.Labels["team"])
	assert.Equal(t, "diag-42", m.DiagnosticSessionID)

	// Without the pattern, nothing is taken: not a seed resource.
	plain := &sessionstore.Metadata{}
	res := pcommon.NewResource()
	res.Attributes().PutStr(sessionstore.AttrLabel+"team", "payments")
	res.Attributes().PutStr(sessionstore.AttrDiagnosticSessionID, "diag-42")
	plain.ApplySeedResource(res)
	assert.Empty(t, plain.Labels)
	assert.Empty(t, plain.DiagnosticSessionID)
}

// TestApplySeedResourceLabelsHostile: any OTLP client can send these
// attributes, so what reaches metadata.json is bounded and valid: an
// invalid diagnostic session id, an empty label name and labels beyond the
// limits are left out.
func TestApplySeedResourceLabelsHostile(t *testing.T) {
	extra := map[string]string{
		sessionstore.AttrLabel:                            "empty name",
		sessionstore.AttrDiagnosticSessionID:              "../etc",
		sessionstore.AttrLabel + strings.Repeat("k", 300): "long name",
		sessionstore.AttrLabel + "big":                    strings.Repeat("v", 10<<10),
	}
	for i := range 100 {
		extra[fmt.Sprintf("%sl%03d", sessionstore.AttrLabel, i)] = "x"
	}
	m := &sessionstore.Metadata{}
	m.ApplySeedResource(seedResource(extra))
	assert.Empty(t, m.DiagnosticSessionID)
	assert.NotContains(t, m.Labels, "")
	assert.NotContains(t, m.Labels, strings.Repeat("k", 300))
	assert.LessOrEqual(t, len(m.Labels), sessionstore.MaxSeedLabels+1, "the labels and the pattern")
	assert.Equal(t, "payment-failure", m.Labels["pattern"])
	for k, v := range m.Labels {
		assert.LessOrEqual(t, len(v), 1<<10, k)
	}
}

func TestValidateSeedLabels(t *testing.T) {
	require.NoError(t, sessionstore.ValidateSeedLabels(nil))
	require.NoError(t, sessionstore.ValidateSeedLabels(map[string]string{"team": "payments", "empty-value": ""}))
	many := map[string]string{}
	for i := range sessionstore.MaxSeedLabels + 1 {
		many[fmt.Sprint("l", i)] = "x"
	}
	for name, tt := range map[string]struct {
		labels map[string]string
		want   string
	}{
		"empty name": {map[string]string{"": "x"}, "empty label name"},
		"reserved":   {map[string]string{"pattern": "x"}, `label "pattern" is reserved`},
		"long name":  {map[string]string{strings.Repeat("k", 257): "x"}, "label name of 257 bytes"},
		"long value": {map[string]string{"k": strings.Repeat("v", 1025)}, `label "k": value of 1025 bytes`},
		"too many":   {many, "65 labels"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorContains(t, sessionstore.ValidateSeedLabels(tt.labels), tt.want)
		})
	}
}

package seedgenreceiver

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// TestReadmeScenariosWork parses and runs every scenario example of the
// README, so the documentation cannot drift from the format.
func TestReadmeScenariosWork(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := strings.Split(string(data), "```yaml\n")
	found := 0
	for _, b := range blocks[1:] {
		body, _, _ := strings.Cut(b, "```")
		if !strings.HasPrefix(body, "extends:") && !strings.HasPrefix(body, "name:") {
			continue
		}
		found++
		sc, err := scenario.Parse([]byte(body), "README example")
		require.NoError(t, err, body)
		g, err := generator.New(generator.Options{Scenario: sc, Seed: 1, TracesPerSecond: 5, ErrorRate: 0.1})
		require.NoError(t, err)
		spans := 0
		for batch := range g.Batches() {
			spans += batch.Traces.SpanCount()
		}
		require.Positive(t, spans, sc.Name)
	}
	require.Equal(t, 2, found, "both scenario examples were checked")
}

// TestReadmeListsBuiltins: the "Built-in patterns" table has a row for
// every built-in pattern.
func TestReadmeListsBuiltins(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(data), "## Built-in patterns")
	require.True(t, ok)
	table, _, _ = strings.Cut(table, "\n\n## ")
	for _, name := range scenario.Builtins() {
		sc, err := scenario.Builtin(name)
		require.NoError(t, err)
		require.Contains(t, table, "| `"+name+"` | "+fmt.Sprint(sc.Length().Seconds())+" s |", "a row for %s with its length", name)
	}
}

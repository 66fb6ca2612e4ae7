package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// listEntryJSON is what a test reads of an entry of list --json.
type listEntryJSON struct {
	ID          string                   `json:"id"`
	Type        string                   `json:"type"`
	Status      string                   `json:"status"`
	StartTime   *time.Time               `json:"startTime"`
	EndTime     *time.Time               `json:"endTime"`
	Counts      *sessionstore.ItemCounts `json:"counts"`
	StoredBytes int64                    `json:"storedBytes"`
	Labels      map[string]string        `json:"labels"`
	Description string                   `json:"description"`
	Seed        *sessionstore.SeedInfo   `json:"seed"`
	Error       string                   `json:"error"`
}

// listFixture writes, besides fixture's "good" (capture, now) and "old"
// (capture, 40 days ago): "seed" (a seed session of two phases, 10 days
// ago, labelled team=payments and env=staging), "failing" (failed,
// labelled team=payments, 2 days ago), "broken" (unreadable metadata).
func listFixture(t *testing.T) string {
	t.Helper()
	dir, st := fixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sessiontest.SeedPhases(t, st, "seed", now.AddDate(0, 0, -10))
	m, err := sessionstore.ReadMetadata(ctx, st, "seed")
	require.NoError(t, err)
	m.Labels = map[string]string{"team": "payments", "env": "staging"}
	m.Description = "payment failure, two phases"
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))

	w := sessiontest.NewWriter(t, st, "failing", now.AddDate(0, 0, -2))
	w.Traces(now.AddDate(0, 0, -2), testdata.GenerateTraces(3))
	w.Meta.Labels = map[string]string{"team": "payments"}
	m = w.Complete()
	m.Status = sessionstore.StatusFailed
	m.LostItems = &sessionstore.LostItems{Traces: 1}
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))

	require.NoError(t, st.Put(ctx, sessionstore.MetadataKey("broken"), []byte("{not json")))
	return dir
}

func listJSON(t *testing.T, dir string, args ...string) []listEntryJSON {
	t.Helper()
	code, out, errw := sessionctl(t, append([]string{"--dir", dir, "list", "--json"}, args...)...)
	require.Equal(t, 0, code, errw)
	var got []listEntryJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	return got
}

func ids(entries []listEntryJSON) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}

func TestListJSON(t *testing.T) {
	dir := listFixture(t)
	all := listJSON(t, dir)
	assert.Equal(t, []string{"broken", "failing", "good", "old", "seed"}, ids(all))

	byID := map[string]listEntryJSON{}
	for _, e := range all {
		byID[e.ID] = e
	}
	good := byID["good"]
	assert.Equal(t, "capture", good.Type)
	assert.Equal(t, "completed", good.Status)
	require.NotNil(t, good.StartTime)
	require.NotNil(t, good.EndTime)
	assert.Equal(t, 2*time.Second, good.EndTime.Sub(*good.StartTime))
	require.NotNil(t, good.Counts)
	assert.Equal(t, sessionstore.ItemCounts{Traces: 5, Metrics: int64(testdata.GenerateMetrics(3).DataPointCount()), Logs: 4}, *good.Counts)
	assert.Positive(t, good.StoredBytes)
	assert.Empty(t, good.Error)
	assert.Nil(t, good.Seed)

	seed := byID["seed"]
	assert.Equal(t, "seed", seed.Type)
	assert.Equal(t, map[string]string{"team": "payments", "env": "staging"}, seed.Labels)
	assert.Equal(t, "payment failure, two phases", seed.Description)
	require.NotNil(t, seed.Seed)
	assert.Equal(t, "payment-failure", seed.Seed.Pattern)
	require.Len(t, seed.Seed.Phases, 2)
	assert.Equal(t, "failure", seed.Seed.Phases[1].Name)

	assert.Equal(t, "failed", byID["failing"].Status)
	broken := byID["broken"]
	assert.Contains(t, broken.Error, "metadata")
	assert.Empty(t, broken.Type)
	assert.Nil(t, broken.Counts)
}

func TestListFilters(t *testing.T) {
	dir := listFixture(t)
	threeDaysAgo := time.Now().UTC().AddDate(0, 0, -3).Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--type", "seed"}, []string{"seed"}},
		{[]string{"--type", "capture"}, []string{"failing", "good", "old"}},
		{[]string{"--type", "training"}, []string{}},
		{[]string{"--status", "failed"}, []string{"failing"}},
		{[]string{"--status", "completed"}, []string{"good", "old", "seed"}},
		{[]string{"--status", "active"}, []string{}},
		{[]string{"--label", "team=payments"}, []string{"failing", "seed"}},
		{[]string{"--label", "team=payments", "--label", "env=staging"}, []string{"seed"}},
		{[]string{"--label", "team=search"}, []string{}},
		{[]string{"--label", "env="}, []string{}},
		{[]string{"--since", "72h"}, []string{"failing", "good"}},
		{[]string{"--since", threeDaysAgo}, []string{"failing", "good"}},
		{[]string{"--since", "720h", "--type", "capture", "--status", "completed"}, []string{"good"}},
	} {
		t.Run(tc.args[0]+" "+tc.args[1], func(t *testing.T) {
			assert.Equal(t, tc.want, ids(listJSON(t, dir, tc.args...)))
			// The table shows the same sessions.
			code, out, errw := sessionctl(t, append([]string{"--dir", dir, "list"}, tc.args...)...)
			require.Equal(t, 0, code, errw)
			for _, id := range []string{"broken", "failing", "good", "old", "seed"} {
				if contains(tc.want, id) {
					assert.Regexp(t, `(?m)^`+id+`\s`, out)
				} else {
					assert.NotRegexp(t, `(?m)^`+id+`\s`, out)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestListBadFlags(t *testing.T) {
	dir := listFixture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "sed"}, `--type "sed": want capture, seed or training`},
		{[]string{"--status", "done"}, `--status "done": want active, completed or failed`},
		{[]string{"--label", "team"}, `"team": want key=value`},
		{[]string{"--since", "yesterday"}, `--since "yesterday": want an RFC 3339 time`},
		{[]string{"--since", "-2h"}, `--since "-2h": a duration must not be negative`},
		{[]string{"extra"}, `list takes no arguments`},
	} {
		code, out, errw := sessionctl(t, append([]string{"--dir", dir, "list"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, out)
		assert.Contains(t, errw, tc.want)
	}
}

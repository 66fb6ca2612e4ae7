package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestTwoCollectorsOneSession: two collector processes of the built binary,
// fed one seed run split between them by resource (as a load balancer
// would), both filing by from_attribute into one store, end with one
// session whose metadata equals what its objects hold, and which says
// completed only after both stopped.
func TestTwoCollectorsOneSession(t *testing.T) {
	dir := t.TempDir()
	collector := func(writer string) *otelcoltest.Collector {
		return otelcoltest.Start(t, captureConfig("backend: filesystem\ndirectory: "+dir, `
session:
  from_attribute: test.session.id
  writer_id: `+writer+`
sending_queue: {enabled: false}`))
	}
	a, b := collector("collector-a"), collector("collector-b")
	all := ptrace.NewTraces()
	for batch := range 20 {
		td := sessiontest.Traces("svc", batch, 10, time.Now())
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", "seed-shared")
		td.ResourceSpans().At(0).CopyTo(all.ResourceSpans().AppendEmpty())
		if batch%2 == 0 {
			a.SendTracesHTTP(t, td)
		} else {
			b.SendTracesHTTP(t, td)
		}
	}
	a.Stop(t)
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	m, err := sessionstore.ReadMetadata(context.Background(), st, "seed-shared")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusActive, m.Status, "collector-b is still writing")
	b.Stop(t)

	s := sessiontest.Read(t, st, "seed-shared")
	assert.Equal(t, all.SpanCount(), s.Traces.SpanCount())
	assert.Equal(t, int64(all.SpanCount()), s.Meta.CapturedTraces, "both shares counted")
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	sessiontest.CheckCounts(t, s)
	views, err := sessionstore.ReadWriters(context.Background(), st, "seed-shared")
	require.NoError(t, err)
	assert.Len(t, views, 2)
	assert.Equal(t, []string{"seed-shared"}, sessiontest.IDs(t, st))
}

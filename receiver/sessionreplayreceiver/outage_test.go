package sessionreplayreceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// spanOrder lists the first span id of every replayed batch, in order.
func spanOrder(a *arrivals) []pcommon.SpanID {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []pcommon.SpanID
	for _, g := range a.got {
		out = append(out, g.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID())
	}
	return out
}

func writeNumbered(t *testing.T, st sessionstore.Store, id string, n int, gap time.Duration) []pcommon.SpanID {
	t.Helper()
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, id, c0)
	var want []pcommon.SpanID
	for i := range n {
		td := sessiontest.Traces("svc", i, 2, c0)
		want = append(want, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID())
		w.Traces(c0.Add(time.Duration(i)*gap), td)
	}
	w.Complete()
	return want
}

// TestS3OutageMidReplay stops the S3 server while a replay runs and starts
// it again: the replay waits and delivers every object once, in order.
func TestS3OutageMidReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the S3 server")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "outage")
	storeCfg := srv.Config("outage", "")
	st, err := sessionstore.Open(context.Background(), &storeCfg)
	require.NoError(t, err)
	want := writeNumbered(t, st, "outage", 40, 100*time.Millisecond)

	cfg := baseConfig(storeCfg, "outage")
	cfg.Speed = 1 // 4 s of replay
	cfg.ReadAhead = 2
	sink := &arrivals{}
	rep := startReplay(t, cfg, sink, nil, nil)
	time.Sleep(time.Second)
	srv.Stop()
	time.Sleep(2 * time.Second)
	srv.Restart(t)
	rep.wait(t, 60*time.Second)
	assert.Equal(t, want, spanOrder(sink))
	assert.Equal(t, int64(0), rep.r.lastSummary().badObjects)
	assert.NotEmpty(t, rep.logs.FilterMessage("Reading object failed; retrying").All(), "the outage was noticed")
}

func TestListingResumesAfterFailure(t *testing.T) {
	storeCfg, st := fsStore(t)
	// Objects 1 ms apart spread over two hour directories.
	want := writeNumbered(t, st, "resume", 20, 200*time.Second)
	cfg := baseConfig(storeCfg, "resume")
	sink := &arrivals{}
	var wrapped *faultstore.Store
	rep := startReplayWith(t, cfg, func(s sessionstore.Store) sessionstore.Store {
		// The first listing breaks off after 7 objects.
		wrapped = faultstore.New(s, faultstore.Once(faultstore.List, faultstore.Fault{Err: errors.New("connection reset"), After: 7}))
		return wrapped
	}, sink)
	rep.wait(t, 30*time.Second)
	require.Len(t, wrapped.Calls(faultstore.List), 2, "the listing failed once and was resumed")
	assert.Equal(t, want, spanOrder(sink), "nothing skipped, nothing repeated")
}

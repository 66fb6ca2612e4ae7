package sessioncaptureexporter

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// consumeBatches sends n batches of each signal, one push each (no queue),
// and shuts the exporter down.
func consumeBatches(t *testing.T, tr *trio, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		require.NoError(t, tr.traces.ConsumeTraces(ctx, testdata.GenerateTraces(4)))
		require.NoError(t, tr.metrics.ConsumeMetrics(ctx, testdata.GenerateMetrics(2)))
		require.NoError(t, tr.logs.ConsumeLogs(ctx, testdata.GenerateLogs(3)))
	}
	tr.shutdown(t)
}

// TestStoreRequestsPerObject counts what capture asks of the store: one
// write per stored object and nothing else that grows with the objects (no
// existence check, listing or read before or after a write), whether the
// session id is fixed or auto. The calls that are not object writes are
// the same for 3 batches as for 30, metadata writes included.
func TestStoreRequestsPerObject(t *testing.T) {
	for _, id := range []string{AutoSessionID, "fixed"} {
		t.Run(id, func(t *testing.T) {
			other := map[int]map[faultstore.Op]int{}
			for _, batches := range []int{3, 30} {
				cfg, st := fsConfig(t)
				cfg.Session.ID = id
				cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
				var fs *faultstore.Store
				tr := newTrio(t, cfg, func(s sessionstore.Store) sessionstore.Store {
					fs = faultstore.New(s)
					return fs
				})
				consumeBatches(t, tr, batches)

				ids := sessiontest.IDs(t, st)
				require.Len(t, ids, 1)
				s := sessiontest.Read(t, st, ids[0])
				require.Len(t, s.Objects, 3*batches, "one object per batch")
				sessiontest.CheckCounts(t, s)
				objectPuts, metadataPuts := 0, 0
				other[batches] = map[faultstore.Op]int{}
				for _, c := range fs.Calls("") {
					switch {
					case c.Op == faultstore.Put && isObjectKey(c.Key):
						objectPuts++
					case c.Op == faultstore.Put && c.IsMetadata():
						metadataPuts++
					default:
						other[batches][c.Op]++
					}
				}
				assert.Equal(t, 3*batches, objectPuts, "one write per object, no retry")
				// metadata is written when the session opens and closes and on its
				// interval (10 s, longer than the test), not per object
				other[batches]["metadata put"] = metadataPuts
			}
			assert.Equal(t, other[3], other[30], fmt.Sprintf("calls besides object and metadata writes: %v for 3 batches, %v for 30", other[3], other[30]))
		})
	}
}

// TestS3RequestsPerObject is the same count on the wire, against a fake
// S3 server: one PUT per object, no HEAD, GET or LIST that grows with the
// objects, and the connections reused (a handful for 30 batches).
func TestS3RequestsPerObject(t *testing.T) {
	type wire struct {
		requests map[string]int
		conns    int
	}
	seen := map[int]wire{}
	for _, batches := range []int{3, 30} {
		storeCfg, traffic := s3server.StartFakeCounting(t, "capture")
		cfg := createDefaultConfig().(*Config)
		cfg.Store = storeCfg
		cfg.Session.ID = "s3-requests"
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		tr := newTrio(t, cfg, nil)
		consumeBatches(t, tr, batches)
		ctx := context.Background()
		w := wire{requests: traffic.Requests(), conns: traffic.Conns()}

		st, err := sessionstore.Open(ctx, &storeCfg)
		require.NoError(t, err)
		s := sessiontest.Read(t, st, "s3-requests")
		require.NoError(t, st.Close())
		require.Len(t, s.Objects, 3*batches, "one object per batch")
		sessiontest.CheckCounts(t, s)
		seen[batches] = w
	}
	few, many := seen[3], seen[30]
	t.Logf("3 batches: %v over %d connections; 30 batches: %v over %d", few.requests, few.conns, many.requests, many.conns)
	assert.Equal(t, 3*(30-3), many.requests["PUT"]-few.requests["PUT"], "one PUT per object: %v, then %v", few.requests, many.requests)
	for _, m := range []string{"HEAD", "GET", "POST", "DELETE"} {
		assert.Equal(t, few.requests[m], many.requests[m], "%s requests do not grow with the objects: %v, then %v", m, few.requests, many.requests)
	}
	// A connection per request would be about a hundred; a writer whose
	// metadata write overlaps an object's may open a second or third.
	assert.LessOrEqual(t, many.conns, 4, "connections are reused")
}

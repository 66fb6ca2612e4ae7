package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// StartFake serves an in-process fake S3 (gofakes3, in memory) on loopback
// with bucket already created, for fast unit tests. It does not check
// signatures or credentials: anything about auth needs Start.
func StartFake(tb testing.TB, bucket string) sessionstore.Config {
	tb.Helper()
	cfg, _ := StartFakeCounting(tb, bucket)
	return cfg
}

// Traffic is what clients asked of a fake S3: the connections they opened
// and their requests by method.
type Traffic struct {
	mu       sync.Mutex
	conns    int
	requests map[string]int
}

// Conns is the number of connections opened so far.
func (t *Traffic) Conns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns
}

// Requests returns the requests so far by HTTP method (HEAD, GET, PUT, …).
func (t *Traffic) Requests() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.requests))
	for k, v := range t.requests {
		out[k] = v
	}
	return out
}

// StartFakeCounting is StartFake, also counting the traffic it serves.
func StartFakeCounting(tb testing.TB, bucket string) (sessionstore.Config, *Traffic) {
	tb.Helper()
	tr := &Traffic{requests: map[string]int{}}
	backend := s3mem.New()
	require.NoError(tb, backend.CreateBucket(bucket))
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	h := faker.Server()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.requests[r.Method]++
		tr.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			tr.mu.Lock()
			tr.conns++
			tr.mu.Unlock()
		}
	}
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	tb.Cleanup(srv.Close)
	cfg := sessionstore.NewDefaultConfig()
	cfg.Backend = sessionstore.BackendS3
	cfg.S3.Bucket = bucket
	cfg.S3.Endpoint = srv.URL
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = "fake"
	cfg.S3.SecretAccessKey = "fake"
	return cfg, tr
}

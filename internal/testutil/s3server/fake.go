package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"net"
	"net/http/httptest"
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
	backend := s3mem.New()
	require.NoError(tb, backend.CreateBucket(bucket))
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	srv := httptest.NewUnstartedServer(faker.Server())
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
	return cfg
}

// Package s3server starts a real S3-compatible server (versitygw) on the
// loopback interface for integration tests. Tests that need it skip when the
// binary is missing, unless RECORDREPLAY_REQUIRE_S3=1 (as `make test` sets),
// in which case they fail.
package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

// Credentials of the root account the server starts with.
const (
	AccessKey = "recordreplay-test"
	SecretKey = "recordreplay-test-secret"
)

// Server is one versitygw process serving a posix directory (package
// versitygw), for the duration of a test.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	srv      *versitygw.Server
	logPath  string
}

// waitStart bounds a start of the server.
const waitStart = 30 * time.Second

// Start starts a server with an empty directory and stops it when the test
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := versitygw.Binary()
	if err != nil {
		if os.Getenv("RECORDREPLAY_REQUIRE_S3") == "1" {
			tb.Fatalf("versitygw not found (run `make tools`): %v", err)
		}
		tb.Skipf("versitygw not found (run `make tools` or set VERSITYGW): %v", err)
	}
	root := tb.TempDir()
	cfg := versitygw.Config{
		Bin:       bin,
		Addr:      "127.0.0.1:" + strconv.Itoa(ports.Free(tb)),
		Dir:       filepath.Join(root, "data"),
		AccessKey: AccessKey,
		SecretKey: SecretKey,
	}
	require.NoError(tb, os.MkdirAll(cfg.Dir, 0o755))
	s := &Server{Endpoint: cfg.Endpoint(), logPath: filepath.Join(root, "versitygw.log")}
	ctx, cancel := context.WithTimeout(context.Background(), waitStart)
	defer cancel()
	s.srv, err = versitygw.Start(ctx, cfg, s.logPath)
	require.NoError(tb, err)
	tb.Cleanup(s.Stop)
	return s
}

// Restart starts the server again (after Stop) on the same address and data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitStart)
	defer cancel()
	require.NoError(tb, s.srv.Restart(ctx))
}

// Stop kills the server; the data directory stays for Restart.
func (s *Server) Stop() { s.srv.Stop() }

// Config returns an S3 store configuration for bucket on this server, the
// way a MinIO user would write it: custom endpoint, path style, static keys.
func (s *Server) Config(bucket, prefix string) sessionstore.Config {
	cfg := sessionstore.NewDefaultConfig()
	cfg.Backend = sessionstore.BackendS3
	cfg.S3.Bucket = bucket
	cfg.S3.Prefix = prefix
	cfg.S3.Endpoint = s.Endpoint
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = AccessKey
	cfg.S3.SecretAccessKey = SecretKey
	return cfg
}

// CreateBucket creates a bucket, retrying while the server finishes starting.
func (s *Server) CreateBucket(tb testing.TB, bucket string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitStart)
	defer cancel()
	if err := s.srv.CreateBucket(ctx, bucket); err != nil {
		tb.Fatalf("%v\n%s", err, strings.Join(proc.LogTail(s.logPath, 40), "\n"))
	}
}

// String describes the server.
func (s *Server) String() string { return s.srv.String() }

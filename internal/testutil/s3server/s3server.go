// Package s3server starts a real S3-compatible server (versitygw) on the
// loopback interface for integration tests. Tests that need it skip when the
// binary is missing, unless RECORDREPLAY_REQUIRE_S3=1 (as `make test` sets),
// in which case they fail.
package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
)

// Credentials of the root account the server starts with.
const (
	AccessKey = "recordreplay-test"
	SecretKey = "recordreplay-test-secret"
)

// Server is one versitygw process serving a posix directory.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	bin      string
	addr     string
	dir      string
	logPath  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary finds the versitygw binary: $VERSITYGW, then bin/versitygw at the
// repository root, then $PATH.
func Binary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "bin", "versitygw")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return exec.LookPath("versitygw")
}

// Start starts a server with an empty directory and stops it when the test
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("RECORDREPLAY_REQUIRE_S3") == "1" {
			tb.Fatalf("versitygw not found (run `make tools`): %v", err)
		}
		tb.Skipf("versitygw not found (run `make tools` or set VERSITYGW): %v", err)
	}
	root := tb.TempDir()
	s := &Server{
		bin:     bin,
		addr:    "127.0.0.1:" + strconv.Itoa(ports.Free(tb)),
		dir:     filepath.Join(root, "data"),
		logPath: filepath.Join(root, "versitygw.log"),
	}
	require.NoError(tb, os.MkdirAll(s.dir, 0o755))
	s.Endpoint = "http://" + s.addr
	s.Restart(tb)
	tb.Cleanup(s.Stop)
	return s
}

// Restart starts the server again (after Stop) on the same address and data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(tb, err)
	cmd := exec.Command(s.bin, "--port", s.addr, "posix", s.dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcAttr(cmd)
	require.NoError(tb, cmd.Start())
	_ = logf.Close()
	s.cmd = cmd
	waitListening(tb, s.addr, s.logPath)
}

// waitListening waits until the server started with its log at logPath
// accepts connections on addr.
func waitListening(tb testing.TB, addr, logPath string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			tb.Fatalf("versitygw did not listen on %s within 30s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server; the data directory stays for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

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
	cfg := s.Config(bucket, "")
	client, err := newClient(context.Background(), &cfg.S3)
	require.NoError(tb, err)
	var lastErr error
	for range 100 {
		_, lastErr = client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		if lastErr == nil {
			return
		}
		var apiErr smithy.APIError
		if errors.As(lastErr, &apiErr) {
			break // the server answered: retrying will not help
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(s.logPath)
	tb.Fatalf("create bucket %s: %v\n%s", bucket, lastErr, log)
}

// newClient opens a raw S3 client for test set-up only.
func newClient(ctx context.Context, c *sessionstore.S3Config) (*s3.Client, error) {
	st, err := sessionstore.OpenS3(ctx, c, sessionstore.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	client, ok := sessionstore.S3Client(st)
	if !ok {
		return nil, errors.New("not an s3 store")
	}
	return client, nil
}

// String describes the server.
func (s *Server) String() string { return fmt.Sprintf("versitygw %s (%s)", s.Endpoint, s.dir) }

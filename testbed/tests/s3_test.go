package tests

// A real S3 server for scenario 4: versitygw (installed by `make tools` into
// bin/) serving a posix directory on the loopback interface. Its posix
// backend keeps every object as a file under {dir}/{bucket}/{key}, so the
// scenario reads what the exporter stored straight from that directory.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	s3AccessKey = "testbed-access"
	s3SecretKey = "testbed-secret-key"
)

type s3Server struct {
	Endpoint string
	bin      string
	addr     string
	dir      string
	logPath  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// versitygwBinary is $VERSITYGW, else bin/versitygw of the repository.
func versitygwBinary(t *testing.T) string {
	p := os.Getenv("VERSITYGW")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "versitygw")
	}
	p, err := filepath.Abs(p)
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("versitygw %s: %v (run `make tools` at the repository root, or set VERSITYGW)", p, err)
	}
	return p
}

// startS3 starts versitygw on a free loopback port with an empty directory
// holding the bucket, and stops it when the test ends.
func startS3(t *testing.T, dir, bucket string) *s3Server {
	s := &s3Server{
		bin:     versitygwBinary(t),
		addr:    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		dir:     dir,
		logPath: filepath.Join(filepath.Dir(dir), "versitygw.log"),
	}
	s.Endpoint = "http://" + s.addr
	// A bucket of the posix backend is a directory.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, bucket), 0o755))
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) on the same address and directory and
// waits until it listens.
func (s *s3Server) Start(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command(s.bin, "--port", s.addr, "posix", s.dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s3AccessKey, "ROOT_SECRET_KEY="+s3SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test
	require.NoError(t, cmd.Start())
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.logPath)
			t.Fatalf("versitygw did not listen on %s within 30 s: %v\n%s", s.addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server; its directory stays for Start.
func (s *s3Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

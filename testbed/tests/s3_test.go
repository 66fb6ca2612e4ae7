package tests

// A real S3 server for scenario 4: the repository's one way to run versitygw
// (installed by `make tools` into bin/), `bin/devtools s3` (its
// internal/versitygw, built by `make testbed`), serving a posix directory on
// the loopback interface. The posix backend keeps every object as a file
// under {dir}/{bucket}/{key}, so the scenario reads what the exporter stored
// straight from that directory. This module does not import the root module
// (its collector and contrib versions differ): it runs the command.

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// s3Server is `devtools s3` serving a directory, stopped and started again
// for an outage.
type s3Server struct {
	Endpoint string
	bin      string
	args     []string
	logPath  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	drained chan struct{} // closed when its stdout is at EOF: it has exited
}

// devtools is $DEVTOOLS, else bin/devtools of the repository.
func devtools(t *testing.T) string {
	p := os.Getenv("DEVTOOLS")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "devtools")
	}
	p, err := filepath.Abs(p)
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("devtools %s: %v (run `make devtools tools` at the repository root, or set DEVTOOLS)", p, err)
	}
	return p
}

// startS3 starts the server on a free loopback port with dir holding the
// bucket, and stops it when the test ends.
func startS3(t *testing.T, dir, bucket string) *s3Server {
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s := &s3Server{Endpoint: "http://" + addr, bin: devtools(t), logPath: filepath.Join(filepath.Dir(dir), "versitygw.log")}
	s.args = []string{"s3", "-addr", addr, "-dir", dir, "-bucket", bucket,
		"-access-key", s3AccessKey, "-secret-key", s3SecretKey, "-log", s.logPath}
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) on the same address and directory and
// waits until it says it serves.
func (s *s3Server) Start(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, s.args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test
	require.NoError(t, cmd.Start())
	serving, drained := make(chan string, 1), make(chan struct{})
	go func() { // the first line says it serves; EOF says it exited
		defer close(drained)
		line, _ := bufio.NewReader(out).ReadString('\n')
		serving <- line
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-serving:
		if !strings.HasPrefix(line, "s3: serving ") {
			<-drained
			_ = cmd.Wait()
			b, _ := os.ReadFile(s.logPath)
			t.Fatalf("devtools s3 did not start (%v):\n%s", cmd.ProcessState, b)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-drained
		_ = cmd.Wait()
		t.Fatalf("devtools s3 did not serve within a minute")
	}
	s.cmd, s.drained = cmd, drained
}

// Stop kills the server (devtools s3 kills versitygw at SIGTERM); its
// directory stays for Start.
func (s *s3Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.drained
	_ = s.cmd.Wait()
	s.cmd = nil
}

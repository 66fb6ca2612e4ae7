// Package versitygw runs versitygw, the S3 server of the tests, the dev stack
// (make dev-up), the benchmarks and the testbed, on a loopback address with
// its posix backend, and creates buckets on an S3 server. The posix backend
// keeps a bucket as a directory and each object as a file at its key, so what
// a test or a benchmark stored can be read straight from the directory.
package versitygw // import "github.com/recordreplay/otelcol-recordreplay/internal/versitygw"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
)

// Config is one versitygw server.
type Config struct {
	Bin  string // the versitygw binary (see Binary)
	Addr string // 127.0.0.1:PORT: loopback only
	Dir  string // the posix backend's directory
	// AccessKey and SecretKey are the root account's.
	AccessKey, SecretKey string
	// CertFile and KeyFile, both set, serve HTTPS.
	CertFile, KeyFile string
	// Quiet turns versitygw's access log off.
	Quiet bool
}

// Endpoint is the server's URL: http://ADDR, or https://ADDR.
func (c Config) Endpoint() string {
	if c.CertFile != "" {
		return "https://" + c.Addr
	}
	return "http://" + c.Addr
}

// check refuses a configuration that cannot serve, or would serve beyond
// this machine.
func (c Config) check() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("versitygw address %q: %w", c.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("versitygw address %q: want a loopback address such as 127.0.0.1:PORT", c.Addr)
	}
	switch {
	case c.Bin == "":
		return errors.New("no versitygw binary")
	case c.Dir == "":
		return errors.New("no directory for versitygw's posix backend")
	case c.AccessKey == "" || c.SecretKey == "":
		return errors.New("versitygw needs a root access key and secret key")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return fmt.Errorf("versitygw HTTPS needs both a certificate (%q) and a key (%q)", c.CertFile, c.KeyFile)
	}
	return nil
}

// Spec is the command that runs the server, its output appended to log.
func (c Config) Spec(log string) (proc.Spec, error) {
	if err := c.check(); err != nil {
		return proc.Spec{}, err
	}
	var args []string
	if c.Quiet {
		args = append(args, "--quiet")
	}
	args = append(args, "--port", c.Addr)
	if c.CertFile != "" {
		args = append(args, "--cert", c.CertFile, "--key", c.KeyFile)
	}
	return proc.Spec{
		Path: c.Bin,
		Args: append(args, "posix", c.Dir),
		Env:  []string{"ROOT_ACCESS_KEY=" + c.AccessKey, "ROOT_SECRET_KEY=" + c.SecretKey},
		Log:  log,
	}, nil
}

// Server is a versitygw child process (it dies with this process).
type Server struct {
	Config
	log string

	mu sync.Mutex
	p  *proc.Process
}

// Start starts the server, its output appended to log, and waits until it
// accepts connections (or exits, or ctx is done).
func Start(ctx context.Context, c Config, log string) (*Server, error) {
	s := &Server{Config: c, log: log}
	if err := s.Restart(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Restart starts the server again (after Stop) on the same address and
// directory; it does nothing while the server runs.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil && s.p.Alive() {
		return nil
	}
	spec, err := s.Spec(s.log)
	if err != nil {
		return err
	}
	spec.DieWithParent = true
	p, err := proc.Start(spec)
	if err != nil {
		return err
	}
	if err := proc.WaitDial(ctx, s.Addr, p); err != nil {
		p.Kill()
		return fmt.Errorf("versitygw did not listen: %w%s", err, s.logTail())
	}
	s.p = p
	return nil
}

// logTail is the end of the server's log, for an error message.
func (s *Server) logTail() string {
	lines := proc.LogTail(s.log, 20)
	if len(lines) == 0 {
		return ""
	}
	return "; last lines of " + s.log + ":\n    " + strings.Join(lines, "\n    ")
}

// Stop kills the server (an outage, or the end); the directory stays.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.p.Kill()
		s.p = nil
	}
}

// Shutdown stops the server with SIGTERM, SIGKILL after grace.
func (s *Server) Shutdown(grace time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return nil
	}
	_, err := s.p.Stop(grace)
	s.p = nil
	return err
}

// Process is the running server's process (nil when stopped).
func (s *Server) Process() *proc.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p
}

// String describes the server.
func (s *Server) String() string { return fmt.Sprintf("versitygw %s (%s)", s.Endpoint(), s.Dir) }

// Binary finds the versitygw binary: $VERSITYGW, then bin/versitygw in the
// nearest directory above the working directory that has one beside a
// go.mod (the repository's, installed by make tools), then $PATH.
func Binary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return filepath.Abs(p)
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

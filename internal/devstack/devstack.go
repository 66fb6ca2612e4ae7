// Package devstack is the local S3 dev stack of make dev-up and make
// dev-down: versitygw (S3 on loopback) with a bucket, and
// bin/otelcol-recordreplay capturing OTLP into it (configs/capture-minio.yaml),
// both detached, under DEV_DIR, found again through their pid files.
//
// Settings (environment):
//
//	DEV_DIR                 .dev at the repository root: s3/ (the bucket's files),
//	                        *.log, *.pid, env (for `source`)
//	DEV_S3_PORT             9000 (S3 on 127.0.0.1:DEV_S3_PORT)
//	DEV_BUCKET              otel-data
//	DEV_ACCESS_KEY          recordreplay
//	DEV_SECRET_KEY          recordreplay-dev-secret
//	DEV_OTLP_GRPC_ENDPOINT  127.0.0.1:4317  (or OTLP_GRPC_ENDPOINT)
//	DEV_OTLP_HTTP_ENDPOINT  127.0.0.1:4318  (or OTLP_HTTP_ENDPOINT)
//	DEV_HEALTH_ENDPOINT     127.0.0.1:13133 (or HEALTH_ENDPOINT)
//	DEV_CONFIG              configs/capture-minio.yaml
//	DEV_WAIT                60 (seconds to wait for each process to be ready)
//	DEV_STOP_TIMEOUT        15 (seconds the collector gets to exit on SIGTERM)
//
// The collector also takes the config's CAPTURE_SESSION_ID,
// CAPTURE_DESCRIPTION and CAPTURE_MAX_DURATION from the environment.
package devstack // import "github.com/recordreplay/otelcol-recordreplay/internal/devstack"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

var (
	// ErrFailed is a failure that has been reported on Stderr.
	ErrFailed = errors.New("dev stack: failed")
	// ErrInterrupted is SIGINT or SIGTERM during Up; what it had started
	// has been stopped.
	ErrInterrupted = errors.New("dev stack: interrupted")
)

// The programs of the stack, in bin/ of the repository.
const (
	collectorName = "otelcol-recordreplay"
	vgwName       = "versitygw"
)

// Stack is the dev stack of a repository.
type Stack struct {
	root           string // the repository
	dir            string // DEV_DIR
	env            func(string) string
	stdout, stderr io.Writer
	vgw, collector proc.PIDFile
}

// New is the stack of the repository at root, with its settings from env
// (os.Getenv), its messages to stdout and stderr.
func New(root string, env func(string) string, stdout, stderr io.Writer) (*Stack, error) {
	dir, _ := getenv(env, filepath.Join(root, ".dev"), "DEV_DIR")
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("DEV_DIR=%s: %w", env("DEV_DIR"), err)
	}
	return &Stack{
		root: root, dir: dir, env: env, stdout: stdout, stderr: stderr,
		vgw:       proc.PIDFile{Path: filepath.Join(dir, "versitygw.pid"), Name: vgwName},
		collector: proc.PIDFile{Path: filepath.Join(dir, "collector.pid"), Name: collectorName},
	}, nil
}

func (s *Stack) path(name string) string { return filepath.Join(s.dir, name) }

func (s *Stack) say(format string, args ...any) {
	fmt.Fprintf(s.stdout, "dev: "+format+"\n", args...)
}

func (s *Stack) warn(format string, args ...any) {
	fmt.Fprintf(s.stderr, "dev: "+format+"\n", args...)
}

// show is path relative to the repository when it is inside it.
func (s *Stack) show(path string) string {
	if rel, ok := strings.CutPrefix(path, s.root+string(filepath.Separator)); ok {
		return rel
	}
	return path
}

// downCmd is the command that stops this stack.
func (s *Stack) downCmd() string {
	if s.dir == filepath.Join(s.root, ".dev") {
		return "make dev-down"
	}
	return "make dev-down DEV_DIR=" + shellQuote(s.dir)
}

// Up starts what of the stack is not running (or says it is up), waits
// until both answer, prints the endpoints and the lines that use them and
// writes DEV_DIR/env. When a start fails it stops what it started.
func (s *Stack) Up(ctx context.Context) error {
	for _, b := range []string{collectorName, "sessionctl", vgwName} {
		if st, err := os.Stat(s.bin(b)); err != nil || st.Mode()&0o111 == 0 {
			s.warn("%s missing: run make dev-up (it builds and installs it)", s.show(s.bin(b)))
			return ErrFailed
		}
	}
	if err := os.MkdirAll(s.path("s3"), 0o755); err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	vgwPid, vgwUp := s.vgw.Pid()
	colPid, colUp := s.collector.Pid()
	set, err := s.settings(vgwUp || colUp)
	if err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	if vgwUp && colUp {
		s.say("already up (versitygw pid %d, collector pid %d); %s stops it", vgwPid, colPid, s.downCmd())
		return s.printInfo(set)
	}
	for _, p := range []struct {
		f    proc.PIDFile
		pid  int
		up   bool
		what string
	}{{s.vgw, vgwPid, vgwUp, "versitygw"}, {s.collector, colPid, colUp, "collector"}} {
		if p.up {
			s.say("%s already running (pid %d)", p.what, p.pid)
		} else if err := os.Remove(p.f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.warn("%v", err)
			return ErrFailed
		}
	}
	config := set.Config
	if !filepath.IsAbs(config) {
		config = filepath.Join(s.root, config)
	}
	if _, err := os.Stat(config); err != nil {
		s.warn("no config %s (DEV_CONFIG)", config)
		return ErrFailed
	}
	if err := s.checkPorts(set, !vgwUp, !colUp); err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	wait, err := seconds(s.env, "DEV_WAIT", 60)
	if err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	if err := writeState(s.path("dev.state"), set); err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	u := &upRun{Stack: s, set: set, config: config, wait: wait}
	if err := u.run(ctx, !vgwUp, !colUp); err != nil {
		u.stopStarted()
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		return ErrFailed
	}
	s.say("up")
	return s.printInfo(set)
}

func (s *Stack) bin(name string) string { return filepath.Join(s.root, "bin", name) }

// secs is d as the settings give it: 60s, not 1m0s.
func secs(d time.Duration) string { return fmt.Sprintf("%gs", d.Seconds()) }

// settings are those of the running stack (when running), else the environment's.
func (s *Stack) settings(running bool) (Settings, error) {
	if running {
		set, err := readState(s.path("dev.state"))
		if err == nil {
			return set, nil // a running stack keeps its settings
		}
		if !errors.Is(err, os.ErrNotExist) {
			s.warn("ignoring the settings of the running stack: %v", err)
		}
	}
	return settingsFromEnv(s.env)
}

// checkPorts: every address the processes to start need is free, and none is
// given twice.
func (s *Stack) checkPorts(set Settings, vgw, collector bool) error {
	var check [][2]string
	if vgw {
		check = append(check, [2]string{"S3 (DEV_S3_PORT)", set.S3Addr()})
	}
	if collector {
		check = append(check, [2]string{"OTLP gRPC (DEV_OTLP_GRPC_ENDPOINT)", set.GRPC},
			[2]string{"OTLP HTTP (DEV_OTLP_HTTP_ENDPOINT)", set.HTTP},
			[2]string{"health check (DEV_HEALTH_ENDPOINT)", set.Health})
	}
	seen := map[string]bool{}
	for _, c := range check {
		what, addr := c[0], c[1]
		port, err := parseHostPort(addr)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, addr, err)
		}
		if seen[port] {
			return fmt.Errorf("port %s is given twice (%s)", port, what)
		}
		seen[port] = true
		if inUse(addr) {
			return fmt.Errorf("port %s is taken: something already listens on %s, wanted for %s; stop it or choose another port", port, addr, what)
		}
	}
	return nil
}

// probe is the address to connect to for a listen address.
func probe(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// inUse reports whether something accepts connections at the listen address.
func inUse(addr string) bool {
	c, err := net.DialTimeout("tcp", probe(addr), 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// upRun is one start of the stack: what it started is stopped if it fails.
type upRun struct {
	*Stack
	set     Settings
	config  string
	wait    time.Duration
	started []string // "versitygw", "collector", in order
	// the pids of what this run started (0: running before): it can tell
	// how they ended
	vgwPid, colPid int
}

func (u *upRun) run(ctx context.Context, startVGW, startCollector bool) error {
	vgwLog, colLog := u.path("versitygw.log"), u.path("collector.log")
	vgw := versitygw.Config{
		Bin: u.bin(vgwName), Addr: u.set.S3Addr(), Dir: u.path("s3"),
		AccessKey: u.set.AccessKey, SecretKey: u.set.SecretKey, Quiet: true,
	}
	if startVGW {
		u.say("starting versitygw on %s (log %s)", vgw.Addr, u.show(vgwLog))
		spec, err := vgw.Spec(vgwLog)
		if err == nil {
			err = u.start("versitygw", u.vgw, spec)
		}
		if err != nil {
			return u.fail(vgwLog, "versitygw did not start: %v", err)
		}
	}
	if err := u.ready(ctx, vgwLog, "versitygw", u.vgwPid, func(ctx context.Context) error { return proc.WaitDial(ctx, vgw.Addr, u.vgw) },
		func() string { return fmt.Sprintf("S3 at %s did not answer within %s", vgw.Endpoint(), secs(u.wait)) }); err != nil {
		return err
	}

	if !vgw.HasBucket(u.set.Bucket) {
		u.say("creating bucket %s", u.set.Bucket)
		bctx, cancel := context.WithTimeout(ctx, u.wait)
		err := vgw.CreateBucket(bctx, u.set.Bucket)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return u.fail(vgwLog, "could not create bucket %s: %v", u.set.Bucket, err)
		}
	}

	if startCollector {
		u.say("starting the collector with %s (log %s)", u.set.Config, u.show(colLog))
		desc, _ := getenv(u.env, "dev stack (make dev-up)", "CAPTURE_DESCRIPTION")
		err := u.start("collector", u.collector, proc.Spec{
			Path: u.bin(collectorName), Args: []string{"--config", u.config}, Dir: u.root, Log: colLog,
			Env: []string{
				"OTLP_GRPC_ENDPOINT=" + u.set.GRPC, "OTLP_HTTP_ENDPOINT=" + u.set.HTTP, "HEALTH_ENDPOINT=" + u.set.Health,
				"S3_ENDPOINT=" + vgw.Endpoint(), "S3_BUCKET=" + u.set.Bucket, "S3_PREFIX=", "S3_REGION=us-east-1",
				"S3_PATH_STYLE=true", "AWS_ACCESS_KEY_ID=" + u.set.AccessKey, "AWS_SECRET_ACCESS_KEY=" + u.set.SecretKey,
				"CAPTURE_DESCRIPTION=" + desc,
			},
		})
		if err != nil {
			return u.fail(colLog, "the collector did not start: %v", err)
		}
	}
	health, status := "http://"+probe(u.set.Health)+"/", 0
	return u.ready(ctx, colLog, "the collector", u.colPid, func(ctx context.Context) (err error) {
		status, err = proc.WaitHTTP(ctx, health, func(s int) bool { return s == 200 }, u.collector)
		return err
	}, func() string {
		return fmt.Sprintf("the collector's health check (%s) did not return 200 within %s (last: %03d)", health, secs(u.wait), status)
	})
}

// ready waits (up to DEV_WAIT) for a process to be ready; a process that
// exits and one that is not ready in time are failures, reported with its
// log; an interruption (ctx) is not.
func (u *upRun) ready(ctx context.Context, log, what string, pid int, wait func(context.Context) error, late func() string) error {
	wctx, cancel := context.WithTimeout(ctx, u.wait)
	err := wait(wctx)
	cancel()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, proc.ErrExited):
		if status := proc.ExitStatus(pid); status != "" {
			return u.fail(log, "%s exited during start-up (%s)", what, status)
		}
		return u.fail(log, "%s exited during start-up", what)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return u.fail(log, "%s", late())
}

// start starts spec detached, with a line in its log saying so.
func (u *upRun) start(name string, f proc.PIDFile, spec proc.Spec) error {
	if logf, err := os.OpenFile(spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(logf, "\n=== %s: starting %s (make dev-up)\n", time.Now().UTC().Format(time.RFC3339), name)
		_ = logf.Close()
	}
	pid, err := f.Start(spec)
	if err != nil {
		return err
	}
	if name == "collector" {
		u.colPid = pid
	} else {
		u.vgwPid = pid
	}
	u.started = append(u.started, name)
	return nil
}

// bindError finds, in a log, the address a process could not bind.
var bindError = regexp.MustCompile(`listen tcp (\S+): bind: address already in use`)

// fail reports a failed start: the message, a port found taken, and the
// last lines of the log.
func (u *upRun) fail(log, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	u.warn("%s", msg)
	lines := proc.LogTail(log, 500)
	for i := len(lines) - 1; i >= 0; i-- {
		if m := bindError.FindStringSubmatch(lines[i]); m != nil {
			_, port, _ := net.SplitHostPort(m[1])
			u.warn("port %s is taken: %s is in use by another process", port, m[1])
			break
		}
	}
	if len(lines) > 0 {
		u.warn("last lines of %s:", u.show(log))
		for _, l := range lines[max(0, len(lines)-20):] {
			fmt.Fprintf(u.stderr, "    %s\n", l)
		}
	}
	return errors.New(msg)
}

// stopStarted stops what this run started, the collector first.
func (u *upRun) stopStarted() {
	if len(u.started) > 0 {
		u.warn("start-up failed: stopping what was started")
		out := u.stdout
		u.stdout = u.stderr
		for i := len(u.started) - 1; i >= 0; i-- {
			if u.started[i] == "collector" {
				u.stop("the collector", u.collector, 5*time.Second)
			} else {
				u.stop("versitygw", u.vgw, 5*time.Second)
			}
		}
		u.stdout = out
	}
	_ = os.Remove(u.path("dev.state"))
}

// Down stops the collector (SIGTERM: its sessions are completed while S3 is
// still there), then the S3 server; the data stays.
func (s *Stack) Down() error {
	if !s.collector.Exists() && !s.vgw.Exists() {
		s.say("nothing running (no pid files in %s)", s.show(s.dir))
		return nil
	}
	grace, err := seconds(s.env, "DEV_STOP_TIMEOUT", 15)
	if err != nil {
		s.warn("%v", err)
		return ErrFailed
	}
	s.stop("the collector", s.collector, grace)
	s.stop("versitygw", s.vgw, 10*time.Second)
	_ = os.Remove(s.path("dev.state"))
	s.say("down; the data stays in %s", s.show(s.dir))
	return nil
}

// stop stops the process of a pid file: SIGTERM, SIGKILL after grace; the
// pid file goes either way.
func (s *Stack) stop(label string, f proc.PIDFile, grace time.Duration) {
	defer func() { _ = os.Remove(f.Path) }()
	pid, ok := f.Pid()
	if !ok {
		if f.Exists() {
			s.say("%s was not running (removed %s)", label, s.show(f.Path))
		}
		return
	}
	s.say("stopping %s (pid %d, SIGTERM)", label, pid)
	_, err := proc.Terminate(f, grace, func() {
		s.warn("%s (pid %d) still running after %s: SIGKILL", label, pid, secs(grace))
		if f.Name == collectorName {
			s.warn("sessions it had open may stay active: bin/sessionctl verify --repair <id> completes them")
		}
	})
	if err != nil {
		s.warn("%s (pid %d): %v", label, pid, err)
		return
	}
	s.say("stopped %s", label)
}

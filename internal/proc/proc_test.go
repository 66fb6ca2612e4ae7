package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary is its own child process: PROC_TEST_CHILD says what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("PROC_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "ignore-term": // runs until SIGKILL
		signal.Ignore(syscall.SIGTERM)
	case "sleep": // SIGTERM ends it
	}
	fmt.Println("ready")
	time.Sleep(time.Hour)
	os.Exit(0)
}

// child is a spec of the test binary doing what.
func child(t *testing.T, what string) Spec {
	return Spec{
		Path: os.Args[0], Env: []string{"PROC_TEST_CHILD=" + what},
		Log: filepath.Join(t.TempDir(), what+".log"), DieWithParent: true,
	}
}

// waitReady waits until the child has logged that it is ready.
func waitReady(t *testing.T, s Spec, alive Target) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !slices.Contains(LogTail(s.Log, 1), "ready") {
		require.NoError(t, pause(ctx, alive), "the child did not get ready")
	}
}

func TestStopTermEnough(t *testing.T) {
	s := child(t, "sleep")
	p, err := Start(s)
	require.NoError(t, err)
	waitReady(t, s, p)
	killed, err := p.Stop(time.Minute)
	require.NoError(t, err)
	assert.False(t, killed, "it exits on SIGTERM")
	assert.False(t, p.Alive())
	assert.Equal(t, syscall.SIGTERM, p.State().Sys().(syscall.WaitStatus).Signal())
	// stopping again does nothing
	killed, err = p.Stop(time.Minute)
	assert.NoError(t, err)
	assert.False(t, killed)
}

func TestStopThenKill(t *testing.T) {
	s := child(t, "ignore-term")
	p, err := Start(s)
	require.NoError(t, err)
	waitReady(t, s, p)
	var warned atomic.Bool
	killed, err := Terminate(p, 100*time.Millisecond, func() { warned.Store(true) })
	require.NoError(t, err)
	assert.True(t, killed, "it ignores SIGTERM")
	assert.True(t, warned.Load(), "beforeKill runs before SIGKILL")
	assert.False(t, p.Alive())
	assert.Equal(t, syscall.SIGKILL, p.State().Sys().(syscall.WaitStatus).Signal())
	assert.Error(t, p.Err())
}

func TestStartErrors(t *testing.T) {
	_, err := Start(Spec{})
	assert.ErrorContains(t, err, "no command")
	_, err = Start(Spec{Path: filepath.Join(t.TempDir(), "missing")})
	assert.ErrorContains(t, err, "missing")
	_, err = Start(Spec{Path: os.Args[0], Log: filepath.Join(t.TempDir(), "no", "dir", "x.log")})
	assert.ErrorContains(t, err, "log of")
}

func TestPIDFileDetached(t *testing.T) {
	for _, what := range []string{"sleep", "ignore-term"} {
		t.Run(what, func(t *testing.T) {
			s := child(t, what)
			f := PIDFile{Path: filepath.Join(t.TempDir(), "child.pid"), Name: filepath.Base(os.Args[0])}
			require.NoError(t, os.WriteFile(f.Path, []byte("1\n"), 0o644)) // a stale file is replaced
			pid, err := f.Start(s)
			require.NoError(t, err)
			t.Cleanup(func() { _ = f.Signal(syscall.SIGKILL) })
			got, ok := f.Pid()
			require.True(t, ok, "running after Start")
			assert.Equal(t, pid, got)
			assert.Equal(t, pid, session(t, pid), "a session of its own")
			waitReady(t, s, f)

			var warned atomic.Bool
			killed, err := Terminate(f, 100*time.Millisecond, func() { warned.Store(true) })
			require.NoError(t, err)
			assert.Equal(t, what == "ignore-term", killed)
			assert.Equal(t, killed, warned.Load())
			// a zombie of this test process until ExitStatus reaps it
			_, ok = f.Pid()
			assert.False(t, ok, "gone after Terminate")
			assert.True(t, f.Exists(), "Terminate leaves the file to the caller")
			want := map[bool]string{false: "signal: terminated", true: "signal: killed"}[killed]
			assert.Equal(t, want, ExitStatus(pid), "how it ended (it is reaped now)")
			assert.Empty(t, ExitStatus(pid), "reaped already")
		})
	}
}

// session is the session id of pid, from /proc/PID/stat.
func session(t *testing.T, pid int) int {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /proc")
	}
	require.NoError(t, err)
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	sid, err := strconv.Atoi(fields[3]) // state ppid pgrp session
	require.NoError(t, err)
	return sid
}

func TestPIDFileNotRunning(t *testing.T) {
	dir := t.TempDir()
	exited := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, exited.Run())
	self := filepath.Base(os.Args[0])
	for _, c := range []struct {
		name, content, proc string
		want                bool
	}{
		{"this process", strconv.Itoa(os.Getpid()), self, true},
		{"no such file", "", self, false},
		{"exited", strconv.Itoa(exited.Process.Pid), self, false},
		{"pid taken by another program", strconv.Itoa(os.Getpid()), "versitygw", false},
		{"not a pid", "12ab\n", self, false},
		{"empty", "\n", self, false},
		{"negative", "-1\n", self, false},
	} {
		f := PIDFile{Path: filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".pid"), Name: c.proc}
		if c.content != "" {
			require.NoError(t, os.WriteFile(f.Path, []byte(c.content), 0o644))
		}
		_, ok := f.Pid()
		assert.Equal(t, c.want, ok, c.name)
		assert.NoError(t, f.Signal(syscall.Signal(0)), c.name)
	}
}

func TestPIDFileZombie(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Wait() })
	f := PIDFile{Path: filepath.Join(t.TempDir(), "z.pid"), Name: filepath.Base(os.Args[0])}
	require.NoError(t, os.WriteFile(f.Path, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	// not waited for, it stays a zombie once it has exited
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for f.Alive() {
		require.NoError(t, pause(ctx, nil), "the child did not exit")
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err == nil {
		assert.Contains(t, string(stat), ") Z ", "a zombie, not running")
	}
}

func TestWaitDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, WaitDial(ctx, addr, nil))
	require.NoError(t, l.Close())

	err = WaitDial(ctx, addr, exitedTarget{})
	assert.ErrorIs(t, err, ErrExited)
	assert.ErrorContains(t, err, addr)
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	assert.ErrorIs(t, WaitDial(done, addr, nil), context.Canceled)
}

func TestWaitHTTP(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, err := WaitHTTP(ctx, srv.URL, func(s int) bool { return s == http.StatusOK }, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 3, calls.Load())

	status, err = WaitHTTP(ctx, srv.URL, func(s int) bool { return s == http.StatusTeapot }, exitedTarget{})
	assert.ErrorIs(t, err, ErrExited)
	assert.Equal(t, http.StatusOK, status, "the last status")
}

type exitedTarget struct{}

func (exitedTarget) Signal(os.Signal) error { return nil }
func (exitedTarget) Alive() bool            { return false }

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	assert.Nil(t, LogTail(filepath.Join(dir, "missing.log"), 5))
	small := filepath.Join(dir, "small.log")
	require.NoError(t, os.WriteFile(small, []byte("a\nb\nc\n"), 0o644))
	assert.Equal(t, []string{"b", "c"}, LogTail(small, 2))
	assert.Equal(t, []string{"a", "b", "c"}, LogTail(small, 20))
	big := filepath.Join(dir, "big.log")
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	require.NoError(t, os.WriteFile(big, []byte(b.String()), 0o644))
	assert.Equal(t, []string{"line 19997", "line 19998", "line 19999"}, LogTail(big, 3))
}

func TestWaitLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- WaitLog(ctx, path, "Seed finished", nil) }()
	// the text arrives split over two writes, after 100 KiB of other lines
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString(strings.Repeat("a line of the log\n", 6000) + "Seed fin")
	require.NoError(t, err)
	_, err = f.WriteString("ished\n")
	require.NoError(t, err)
	require.NoError(t, <-done)

	err = WaitLog(ctx, path, "never logged", exitedTarget{})
	assert.ErrorIs(t, err, ErrExited)
	assert.ErrorContains(t, err, `"never logged" in `+path)
}

// TestAlive: what /proc says about a process, at every stage of its life.
func TestAlive(t *testing.T) {
	for _, c := range []struct {
		what, stat, cmdline string
		want                bool
	}{
		{"running", "42 (otelcol-recordr) S 1 42", "/repo/bin/otelcol-recordreplay\x00--config\x00c.yaml\x00", true},
		{"another program", "42 (sh) S 1 42", "sh\x00-c\x00sleep 1\x00", false},
		{"just exec'd, no arguments yet", "42 (otelcol-recordr) R 1 42", "", true},
		{"exiting, memory released", "42 (otelcol-recordr) R 1 42", "", true},
		{"not yet exec'd, or another one", "42 (devtools) R 1 42", "", false},
		{"zombie", "42 (otelcol-recordr) Z 1 42", "", false},
		{"dead", "42 (otelcol-recordr) X 1 42", "", false},
		{"a ) in the comm", "42 (a) b) S 1 42", "/bin/a) b\x00", false},
		{"garbage", "42", "", false},
	} {
		assert.Equal(t, c.want, alive([]byte(c.stat), []byte(c.cmdline), "otelcol-recordreplay"), c.what)
	}
	assert.True(t, alive([]byte("7 (versitygw) S 1 7"), nil, "versitygw"))
}

func TestWaitExit(t *testing.T) {
	assert.NoError(t, WaitExit(context.Background(), exitedTarget{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, WaitExit(ctx, aliveTarget{}), context.Canceled)
}

type aliveTarget struct{}

func (aliveTarget) Signal(os.Signal) error { return nil }
func (aliveTarget) Alive() bool            { return true }

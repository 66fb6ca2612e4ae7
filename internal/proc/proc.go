// Package proc starts and stops the processes of the dev stack, the
// benchmarks and the tests (collectors, versitygw): a child whose output is
// appended to a log file, or a detached process found again through its pid
// file; SIGTERM, then SIGKILL when a grace period is over; waits, bounded by
// a context, until a port accepts connections or an endpoint answers.
package proc // import "github.com/recordreplay/otelcol-recordreplay/internal/proc"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Spec is a command to start.
type Spec struct {
	Path string
	Args []string
	Env  []string // set on top of this process's environment
	Dir  string   // working directory ("": this process's)
	// Log is the file the process's output is appended to (created if
	// needed); "" discards it. Its standard input is /dev/null.
	Log string
	// DieWithParent (Linux) kills the process when this one ends.
	DieWithParent bool
}

// command is the spec as an exec.Cmd, with its log file open (the caller
// closes it once the process has started: the process has its own copy).
func (s Spec) command() (*exec.Cmd, *os.File, error) {
	if s.Path == "" {
		return nil, nil, errors.New("no command to start")
	}
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.DieWithParent {
		dieWithParent(cmd.SysProcAttr)
	}
	if s.Log == "" {
		return cmd, nil, nil
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("log of %s: %w", s.Path, err)
	}
	// an *os.File goes to the process as it is: no goroutine copies output
	cmd.Stdout, cmd.Stderr = logf, logf
	return cmd, logf, nil
}

// Process is a child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts s as a child of this process.
func Start(s Spec) (*Process, error) {
	cmd, logf, err := s.command()
	if err != nil {
		return nil, err
	}
	err = cmd.Start()
	if logf != nil {
		_ = logf.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the process has not exited yet.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Err is how the process ended (nil: status 0, or still running).
func (p *Process) Err() error {
	if p.Alive() {
		return nil
	}
	return p.err
}

// State is the exit state, with its resource usage (nil while running).
func (p *Process) State() *os.ProcessState {
	if p.Alive() {
		return nil
	}
	return p.cmd.ProcessState
}

// Signal sends sig unless the process has exited.
func (p *Process) Signal(sig os.Signal) error {
	if !p.Alive() {
		return nil
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Stop sends SIGTERM and waits for the process to exit, with SIGKILL when
// grace is over; it reports whether it had to kill.
func (p *Process) Stop(grace time.Duration) (killed bool, err error) {
	return Terminate(p, grace, nil)
}

// Kill kills the process and waits for it.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Target is a process to terminate.
type Target interface {
	Signal(os.Signal) error
	Alive() bool
}

// killWait is how long a process may take to go once SIGKILLed.
const killWait = 5 * time.Second

// poll is how often waits look again.
const poll = 50 * time.Millisecond

// Terminate sends t SIGTERM and waits up to grace for it to be gone; if it
// is not, it calls beforeKill (if not nil), sends SIGKILL and waits for it.
// It reports whether it had to kill.
func Terminate(t Target, grace time.Duration, beforeKill func()) (killed bool, err error) {
	if !t.Alive() {
		return false, nil
	}
	if err := t.Signal(syscall.SIGTERM); err != nil {
		return false, fmt.Errorf("SIGTERM: %w", err)
	}
	if gone(t, grace) {
		return false, nil
	}
	if beforeKill != nil {
		beforeKill()
	}
	if err := t.Signal(syscall.SIGKILL); err != nil {
		return true, fmt.Errorf("SIGKILL: %w", err)
	}
	if !gone(t, killWait) {
		return true, fmt.Errorf("still running %s after SIGKILL", killWait)
	}
	return true, nil
}

// gone waits up to d for t to be gone and reports whether it is.
func gone(t Target, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return WaitExit(ctx, t) == nil
}

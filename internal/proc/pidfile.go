package proc // import "github.com/recordreplay/otelcol-recordreplay/internal/proc"

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PIDFile is a detached process found through the file holding its pid.
// Name is a word of its command line (the binary's name): a pid file whose
// process has exited (or become a zombie), or whose pid another program has
// taken since, does not count as running.
type PIDFile struct {
	Path string
	Name string
}

// Start starts s detached, in a session of its own: it has no controlling
// terminal (so no SIGHUP when the one that started it closes) and it
// outlives this process. It writes the pid file and returns the pid.
func (f PIDFile) Start(s Spec) (int, error) {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	cmd, logf, err := s.command()
	if err != nil {
		return 0, err
	}
	cmd.SysProcAttr.Setsid = true
	err = cmd.Start()
	if logf != nil {
		_ = logf.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", s.Path, err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	if err := writeFile(f.Path, []byte(strconv.Itoa(pid)+"\n")); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return 0, fmt.Errorf("pid file of %s: %w", s.Path, err)
	}
	return pid, nil
}

// writeFile writes data to path through a temporary file and a rename, so
// that a reader sees the whole file or none.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// Pid is the pid in the file if that process runs and its command line
// names Name.
func (f PIDFile) Pid() (int, bool) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, running(pid, f.Name)
}

// Exists reports whether the pid file is there (running or not).
func (f PIDFile) Exists() bool {
	_, err := os.Stat(f.Path)
	return err == nil
}

// Alive reports whether the file's process runs.
func (f PIDFile) Alive() bool {
	_, ok := f.Pid()
	return ok
}

// Signal sends sig to the file's process if it runs.
func (f PIDFile) Signal(sig os.Signal) error {
	pid, ok := f.Pid()
	if !ok {
		return nil
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a syscall.Signal", sig)
	}
	if err := syscall.Kill(pid, s); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// running reports whether pid is a live process (not a zombie) whose
// command line contains name.
func running(pid int, name string) bool {
	dir := fmt.Sprintf("/proc/%d", pid)
	if _, err := os.Stat("/proc/self"); err != nil {
		return runningPS(pid, name) // no /proc (not Linux)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false
	}
	cmdline, err := os.ReadFile(dir + "/cmdline")
	if err != nil {
		return false
	}
	return alive(stat, cmdline, name)
}

// alive decides running from /proc/PID/stat and /proc/PID/cmdline. The
// command line is empty for a moment at both ends of a process's life:
// after exec has replaced its memory but before the arguments are in place
// (a process just started, whose starter already goes on), and after it has
// released its memory on exit, before it is a zombie. Then the comm in stat
// (the program's file name, cut at 15 bytes) says which program it is.
func alive(stat, cmdline []byte, name string) bool {
	// "pid (comm) state ...": the state follows the last ')'
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) || stat[end+2] == 'Z' || stat[end+2] == 'X' {
		return false
	}
	if len(bytes.Trim(cmdline, "\x00")) == 0 {
		comm := string(stat[open+1 : end])
		return comm != "" && strings.HasPrefix(name, comm)
	}
	return bytes.Contains(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), []byte(name))
}

// runningPS is running by ps(1).
func runningPS(pid int, name string) bool {
	out, err := exec.Command("ps", "-p", strconv.Itoa(pid), "-o", "stat=", "-o", "args=").Output()
	if err != nil {
		return false
	}
	stat, args, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return stat != "" && !strings.HasPrefix(stat, "Z") && strings.Contains(args, name)
}

// ExitStatus says how a process this one started detached, and that has
// exited or is exiting, ended ("exit status 1", "signal: killed"), and reaps
// it; "" when it is not a child of this process or has not ended within 2 s.
// (A process on its way out no longer counts as running, see Pid, a moment
// before it can be waited for.)
func ExitStatus(pid int) string {
	for range 40 {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		switch {
		case err != nil:
			return "" // not a child of this process
		case got != pid:
			time.Sleep(poll)
			continue
		case ws.Signaled():
			return "signal: " + ws.Signal().String()
		}
		return "exit status " + strconv.Itoa(ws.ExitStatus())
	}
	return ""
}

package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the times in /proc/stat and /proc/PID/stat: the
// kernel's USER_HZ, 100 on Linux whatever its internal tick rate.
const userHZ = 100

// cpuTicks is the CPU time (user + system, in USER_HZ ticks) that process
// pid has used so far.
func cpuTicks(pid int) (int64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// "pid (comm) state ppid ...": utime and stime are the 14th and 15th
	// fields, the 12th and 13th after the comm
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}

// machineBusyTicks is the CPU time all processes on all cores have used
// (user, nice, system, irq, softirq, steal; in USER_HZ ticks).
func machineBusyTicks() (int64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 9 || fields[0] != "cpu" {
			continue
		}
		var busy int64
		for _, i := range []int{1, 2, 3, 6, 7, 8} {
			v, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: %q: %w", sc.Text(), err)
			}
			busy += v
		}
		return busy, nil
	}
	return 0, fmt.Errorf("/proc/stat: no cpu line")
}

// peakRSSKiB is the process's peak resident set size (VmHWM).
func peakRSSKiB(pid int) (int64, error) {
	v, err := procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
}

// cpuModel is the CPU's model name.
func cpuModel() string {
	v, _ := procField("/proc/cpuinfo", "model name")
	return strings.TrimPrefix(v, ": ")
}

// kernelRelease is uname -r.
func kernelRelease() string {
	data, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(data))
}

// procField is the rest of the first line of a /proc file that starts with
// name, trimmed.
func procField(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("%s: no %s", path, name)
}

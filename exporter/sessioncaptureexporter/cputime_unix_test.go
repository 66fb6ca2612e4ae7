//go:build unix

package sessioncaptureexporter

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the test process has used
// so far, in every thread: the benchmarks' work, the GC and the store's
// syscalls, but not the time spent waiting for the disk.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

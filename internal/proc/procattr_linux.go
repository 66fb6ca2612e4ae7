package proc // import "github.com/recordreplay/otelcol-recordreplay/internal/proc"

import "syscall"

// dieWithParent has the kernel SIGKILL the process when the thread that
// started it ends, so that a crashed test or benchmark leaves nothing behind.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the server die with the test binary, so a crashed test
// leaves no server behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

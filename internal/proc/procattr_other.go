//go:build !linux

package proc // import "github.com/recordreplay/otelcol-recordreplay/internal/proc"

import "syscall"

// dieWithParent: only Linux has a parent-death signal.
func dieWithParent(*syscall.SysProcAttr) {}

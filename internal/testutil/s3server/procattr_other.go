//go:build !linux

package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import "os/exec"

func setProcAttr(*exec.Cmd) {}

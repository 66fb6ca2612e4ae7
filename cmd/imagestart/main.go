// Command imagestart is the container image's entrypoint: it runs the
// collector, /otelcol-recordreplay, in its place (exec, so the collector is
// the container's process 1 and gets its signals).
//
// With arguments (the container's command, e.g. `--config
// /etc/otelcol-recordreplay/replay.yaml`) the collector gets them as they
// are. Without, it runs the image's default config: config.yaml
// (configs/container.yaml: record everything received into sessions), or,
// when FORWARD_ENDPOINT is set, tap.yaml (configs/tap.yaml: forward
// everything to FORWARD_ENDPOINT and record a copy that never holds the
// forwarding up).
package main

import (
	"fmt"
	"os"
	"syscall"
)

const (
	collector     = "/otelcol-recordreplay"
	captureConfig = "/etc/otelcol-recordreplay/config.yaml"
	tapConfig     = "/etc/otelcol-recordreplay/tap.yaml"
)

// collectorArgs returns the collector's arguments for the container's.
func collectorArgs(given []string, getenv func(string) string) []string {
	if len(given) > 0 {
		return given
	}
	if getenv("FORWARD_ENDPOINT") != "" {
		return []string{"--config", tapConfig}
	}
	return []string{"--config", captureConfig}
}

func main() {
	argv := append([]string{collector}, collectorArgs(os.Args[1:], os.Getenv)...)
	err := syscall.Exec(collector, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "imagestart: cannot run %s: %v\n", collector, err)
	os.Exit(127)
}

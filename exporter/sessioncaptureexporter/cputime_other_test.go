//go:build !unix

package sessioncaptureexporter

import "time"

// processCPU is not measured here: the benchmarks report no cpu-ns/span.
func processCPU() (time.Duration, bool) { return 0, false }

// Package metadata holds the component's identity and its own telemetry, in
// the shape mdatagen would generate from ../../metadata.yaml (mdatagen is not
// available to this build, so this file is maintained by hand: keep the two
// in step).
package metadata // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in configuration.
	Type = component.MustNewType("session_replay")
	// ScopeName is the instrumentation scope of the component's own telemetry.
	ScopeName = "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"
)

// Stability per signal.
const (
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
)

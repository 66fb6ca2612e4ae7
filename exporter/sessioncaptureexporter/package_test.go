package sessioncaptureexporter

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// lifecycleStore is where the lifecycle test of generated_component_test.go
// stores what it consumes (tests::config in metadata.yaml).
const lifecycleStore = "testdata/lifecycle-store"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// exporterhelper's and OpenCensus-free telemetry leave no goroutines,
		// but the AWS SDK's idle HTTP connections may linger briefly.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.Cleanup(func(code int) {
			_ = os.RemoveAll(lifecycleStore)
			os.Exit(code)
		}),
	)
}

package tests

// Scenario 4 (the ScenarioSendingQueuesFull idea): capture at 10k spans/s
// into a real S3 server that is stopped for 20 s in the middle of a 60 s
// load. Nothing may be lost once it is back, and memory stays under its
// limit while the exporter holds the outage's data.

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
)

// s3OutageLimits: memory while the exporter's queue (1000 requests, blocking
// when full) holds what arrives during the outage; CPU over any 3 s period,
// which includes the burst of uploads after recovery.
var s3OutageLimits = testbed.ResourceSpec{ExpectedMaxCPU: 40, ExpectedMaxRAM: 200}

const s3Bucket = "testbed"

func s3Exporter(endpoint, sessionID string) string {
	return fmt.Sprintf(`
  session_capture:
    store:
      backend: s3
      s3:
        bucket: %s
        endpoint: %s
        use_path_style: true
        region: us-east-1
        access_key_id: %s
        secret_access_key: %s
    session:
      id: %s
    metadata_interval: 1s`, s3Bucket, endpoint, s3AccessKey, s3SecretKey, sessionID)
}

// TestCaptureS3Outage is scenario 4.
func TestCaptureS3Outage(t *testing.T) {
	dir := freshDir(t, "s3")
	server := startS3(t, dir, s3Bucket)
	duration := loadDuration(t, 60*time.Second)
	outageStart, outageEnd := duration/3, duration/3+20*time.Second
	if outageEnd > duration {
		outageEnd = duration
	}
	var rssBefore, rssDuring float64
	runCapture(t, captureOpts{
		signal:   "traces",
		rate:     10_000,
		duration: duration,
		limits:   s3OutageLimits,
		root:     filepath.Join(dir, s3Bucket),
		exporter: s3Exporter(server.Endpoint, "testbed-s3-outage"),
		// The load generator retries a refused batch (the receiver pushes
		// back once the exporter's queue is full) for up to a minute instead
		// of its default 10 s, after which it would give the batch up.
		maxDelay:     time.Minute,
		drainTimeout: 2 * time.Minute,
		during: func(t *testing.T, tc *testbed.TestCase, agent testbed.OtelcolRunner, start time.Time) {
			tc.Sleep(outageStart - time.Since(start))
			rssBefore = rssMiB(agent)
			server.Stop()
			report(t, "S3 server stopped at %.1f s (%d spans sent so far)", time.Since(start).Seconds(), tc.LoadGenerator.DataItemsSent())
			tc.Sleep(outageEnd - time.Since(start))
			rssDuring = rssMiB(agent)
			server.Start(t)
			report(t, "S3 server started again at %.1f s (%d spans sent so far); agent RSS %.0f MiB before the outage, %.0f MiB at its end",
				time.Since(start).Seconds(), tc.LoadGenerator.DataItemsSent(), rssBefore, rssDuring)
			tc.Sleep(duration - time.Since(start))
		},
	})
}

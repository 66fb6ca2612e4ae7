package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestRecorderRolls: the built collector with `recorder: {window: 3s}`,
// on the filesystem and on the S3 server, fed spans with sequence numbers
// at a steady 200 spans/s for 12 s: the rolling session never holds an
// object older than the window plus one clean-up period (1 s for this
// window; plus 1 s of housekeeping tick and listing); after the stop its
// metadata.json counts exactly what it holds, the latest spans sent.
func TestRecorderRolls(t *testing.T) {
	t.Parallel()
	const window, period, slack = 3 * time.Second, time.Second, time.Second
	for _, backend := range []string{"filesystem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var store string
			var env []string
			var st sessionstore.Store
			switch backend {
			case "filesystem":
				store = fsStore
			default:
				srv := s3server.Start(t)
				srv.CreateBucket(t, "otel-data")
				store, env = s3Store(srv, "otel-data"), s3Env
				cfg := srv.Config("otel-data", "captures/e2e")
				var err error
				st, err = sessionstore.Open(context.Background(), &cfg)
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
			}
			c := otelcoltest.Start(t, captureConfig(store, `
session: {id: recorder}
recorder: {window: 3s}
metadata_interval: 1s`), env...)
			if st == nil {
				var err error
				st, err = sessionstore.OpenFilesystem(c.Dir + "/data")
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
			}
			start := time.Now()
			for i := 0; time.Since(start) < 12*time.Second; i++ {
				c.SendTracesHTTP(t, sessiontest.Traces("steady", i, 10, time.Now()))
				time.Sleep(50 * time.Millisecond)
				if i%20 != 19 || time.Since(start) < window+2*period {
					continue
				}
				now := time.Now()
				for o, err := range sessionstore.ListObjects(context.Background(), st, "recorder") {
					require.NoError(t, err)
					assert.False(t, o.CaptureTime.Before(now.Add(-window-period-slack)),
						"an object %s old after %s", now.Sub(o.CaptureTime).Round(time.Millisecond), time.Since(start).Round(time.Second))
				}
			}
			c.Stop(t)

			s := sessiontest.Read(t, st, "recorder")
			sessiontest.CheckCounts(t, s)
			assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			spans := s.Traces.SpanCount()
			assert.Len(t, sessiontest.SpanIDs(s.Traces), spans, "no span twice")
			t.Logf("%s: the rolling session holds %d spans in %d objects at the stop", backend, spans, len(s.Objects))
			assert.InDelta(t, 200*window.Seconds(), spans, 200*(period+slack).Seconds(), "about the window's worth")
		})
	}
}

// TestSnapshotOfTheRecorder: the built collector with a 15 s recorder, on
// the filesystem and on the S3 server, fed 10-span requests every 100 ms;
// 15 s in, `sessionctl capture snapshot --before 10s --after 2s` through the
// control API. The snapshot session completes holding every request sent
// inside its window and none sent more than a second outside it (objects
// group a second of arrivals), each whole; `sessionctl verify` finds it
// sound; the recorder goes on rolling, and its later deletions leave the
// snapshot whole.
func TestSnapshotOfTheRecorder(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"filesystem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			store, env := fsStore, []string(nil)
			ctlStore := func(c *otelcoltest.Collector) []string { return []string{"--dir", c.Dir + "/data"} }
			var srv *s3server.Server
			if backend == "s3" {
				srv = s3server.Start(t)
				srv.CreateBucket(t, "otel-data")
				store, env = s3Store(srv, "otel-data"), s3Env
				ctlStore = func(*otelcoltest.Collector) []string {
					return []string{"--s3-bucket", "otel-data", "--s3-prefix", "captures/e2e", "--s3-endpoint", srv.Endpoint, "--s3-path-style"}
				}
			}
			cfg := strings.Replace(captureConfig(store, `
session: {id: recorder}
recorder: {window: 15s}
metadata_interval: 1s
control: session_control`), "  health_check: {endpoint: \"{{HEALTH}}\"}", "  health_check: {endpoint: \"{{HEALTH}}\"}\n  session_control: {endpoint: \"{{CONTROL}}\"}", 1)
			cfg = strings.Replace(cfg, "extensions: [health_check]", "extensions: [health_check, session_control]", 1)
			c := otelcoltest.Start(t, cfg, env...)
			ctl := func(args ...string) string {
				cmd := exec.Command(sessionctlBin(t), args...)
				cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "sessionctl %v:\n%s", args, out)
				return string(out)
			}

			sent := map[int]time.Time{} // request -> when it was sent
			start := time.Now()
			asked := false
			for i := 0; time.Since(start) < 25*time.Second; i++ {
				sent[i] = time.Now()
				c.SendTracesHTTP(t, sessiontest.Traces("steady", i, 10, time.Now()))
				if !asked && time.Since(start) > 15*time.Second {
					out := ctl("--control", "http://"+c.Control, "capture", "snapshot", "--id", "saved", "--before", "10s", "--after", "2s")
					t.Logf("%s", out)
					asked = true
				}
				time.Sleep(100 * time.Millisecond)
			}
			c.Stop(t)

			var st sessionstore.Store
			var err error
			if srv != nil {
				scfg := srv.Config("otel-data", "captures/e2e")
				st, err = sessionstore.Open(context.Background(), &scfg)
			} else {
				st, err = sessionstore.OpenFilesystem(c.Dir + "/data")
			}
			require.NoError(t, err)
			defer st.Close()
			s := sessiontest.Read(t, st, "saved")
			require.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
			require.NotNil(t, s.Meta.Snapshot)
			from, to := s.Meta.Snapshot.From, s.Meta.Snapshot.To
			assert.Equal(t, 12*time.Second, to.Sub(from))
			sessiontest.CheckCounts(t, s)
			perRequest := map[int]int{}
			for _, sp := range pdatawalk.Spans(s.Traces) {
				b, _ := sp.Attributes().Get("batch")
				perRequest[int(b.Int())]++
			}
			for i, at := range sent {
				switch n := perRequest[i]; {
				case at.After(from.Add(time.Second)) && at.Before(to.Add(-time.Second)):
					assert.Equal(t, 10, n, "request %d, sent %s into the window, is in the snapshot whole", i, at.Sub(from))
				case at.Before(from.Add(-time.Second)) || at.After(to.Add(time.Second)):
					assert.Zero(t, n, "request %d, sent %s from the window's start, is outside it", i, at.Sub(from))
				default:
					assert.Contains(t, []int{0, 10}, n, "request %d at the edge is whole or absent", i)
				}
			}
			t.Logf("%s: the snapshot holds %d requests (%d spans)", backend, len(perRequest), s.Traces.SpanCount())
			verify := ctl(append(ctlStore(c), "verify", "saved")...)
			assert.Contains(t, verify, "saved: ok")
			if srv == nil {
				// It replays like any session: every span of it, once.
				sink := new(consumertest.TracesSink)
				target, stopTarget := serveOTLPHTTP(t, sink, nil)
				r := otelcoltest.Launch(t, `
receivers:
  session_replay:
    store: {backend: filesystem, directory: `+c.Dir+`/data}
    session: saved
    speed: 0
exporters:
  otlp_http: {endpoint: "http://`+target+`"}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [otlp_http]}
`)
				r.WaitLog(t, "Replay finished", time.Minute)
				r.Stop(t)
				stopTarget()
				assert.Equal(t, s.Traces.SpanCount(), sink.SpanCount(), "replayed")
			}

			rolling := sessiontest.Read(t, st, "recorder")
			sessiontest.CheckCounts(t, rolling)
			first, _ := rolling.Meta.CaptureRange()
			assert.True(t, first.After(from), "the recorder has deleted the window's start since (its oldest object: %s)", first)
		})
	}
}

// TestAlertmanagerSavesTheWindow: Alertmanager's webhook posted to the
// built collector's control API (firing, the same alert again, resolved)
// saves the recorder's window once: one completed session, named from the
// alert and its start, labelled with the alert's labels.
func TestAlertmanagerSavesTheWindow(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(captureConfig(fsStore, `
session: {id: recorder}
recorder: {window: 5s}
control: session_control`), "  health_check: {endpoint: \"{{HEALTH}}\"}", "  health_check: {endpoint: \"{{HEALTH}}\"}\n  session_control: {endpoint: \"{{CONTROL}}\"}", 1)
	cfg = strings.Replace(cfg, "extensions: [health_check]", "extensions: [health_check, session_control]", 1)
	c := otelcoltest.Start(t, cfg)
	for i := range 20 {
		c.SendTracesHTTP(t, sessiontest.Traces("alerting", i, 5, time.Now()))
		time.Sleep(100 * time.Millisecond)
	}
	notify := func(status string) control.AlertsResult {
		body := `{"version": "4", "status": "` + status + `", "receiver": "recordreplay", "groupLabels": {"alertname": "HighErrorRate"},
		  "alerts": [{"status": "` + status + `", "labels": {"alertname": "HighErrorRate", "service": "checkout"},
		    "annotations": {"summary": "checkout errors"}, "startsAt": "2026-12-07T13:58:00Z", "fingerprint": "0123456789abcdef"}]}`
		resp, err := http.Post("http://"+c.Control+"/v1/captures/session_capture/alerts", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var res control.AlertsResult
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
		return res
	}
	first := notify("firing")
	require.Len(t, first.Saved, 1)
	again := notify("firing")
	assert.Equal(t, []string{first.Saved[0].Session}, again.AlreadySaved)
	assert.Equal(t, 1, notify("resolved").Ignored)
	st, err := sessionstore.OpenFilesystem(c.Dir + "/data")
	require.NoError(t, err)
	defer st.Close()
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(context.Background(), st, first.Saved[0].Session)
		return err == nil && m.Status == sessionstore.StatusCompleted
	}, 60*time.Second, 100*time.Millisecond, "the snapshot completes")
	c.Stop(t)

	var alerts []string
	for _, id := range sessiontest.IDs(t, st) {
		if strings.HasPrefix(id, "alert-") {
			alerts = append(alerts, id)
		}
	}
	require.Equal(t, []string{first.Saved[0].Session}, alerts, "one session for the alert")
	s := sessiontest.Read(t, st, alerts[0])
	assert.Equal(t, map[string]string{"alertname": "HighErrorRate", "service": "checkout"}, s.Meta.Labels)
	assert.Equal(t, "checkout errors", s.Meta.Description)
	assert.Positive(t, s.Traces.SpanCount(), "the window's spans")
	sessiontest.CheckCounts(t, s)
}

// TestSnapshotOfTwoRecorders: two built collectors (writer ids a and b)
// record into one rolling session on the filesystem and on the S3 server,
// each fed its own 10-span requests every 100 ms; a snapshot asked of one
// holds both collectors' requests of the window, each once and whole, and
// completes.
func TestSnapshotOfTwoRecorders(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"filesystem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			shared := t.TempDir()
			store, env := "backend: filesystem\ndirectory: "+shared, []string(nil)
			var srv *s3server.Server
			if backend == "s3" {
				srv = s3server.Start(t)
				srv.CreateBucket(t, "otel-data")
				store, env = s3Store(srv, "otel-data"), s3Env
			}
			start := func(writer string) *otelcoltest.Collector {
				cfg := strings.Replace(captureConfig(store, `
session: {id: recorder, writer_id: `+writer+`}
recorder: {window: 20s}
metadata_interval: 1s
control: session_control`), "  health_check: {endpoint: \"{{HEALTH}}\"}", "  health_check: {endpoint: \"{{HEALTH}}\"}\n  session_control: {endpoint: \"{{CONTROL}}\"}", 1)
				cfg = strings.Replace(cfg, "extensions: [health_check]", "extensions: [health_check, session_control]", 1)
				return otelcoltest.Start(t, cfg, env...)
			}
			a, b := start("a"), start("b")
			begin := time.Now()
			asked := false
			var snap control.SnapshotState
			for i := 0; time.Since(begin) < 15*time.Second; i++ {
				a.SendTracesHTTP(t, sessiontest.Traces("replica-a", 2*i, 10, time.Now()))
				b.SendTracesHTTP(t, sessiontest.Traces("replica-b", 2*i+1, 10, time.Now()))
				if !asked && time.Since(begin) > 10*time.Second {
					resp, err := http.Post("http://"+a.Control+"/v1/captures/session_capture/snapshot", "application/json",
						strings.NewReader(`{"id": "both", "before": "8s", "after": "2s"}`))
					require.NoError(t, err)
					require.Equal(t, http.StatusOK, resp.StatusCode)
					require.NoError(t, json.NewDecoder(resp.Body).Decode(&snap))
					_ = resp.Body.Close()
					asked = true
				}
				time.Sleep(100 * time.Millisecond)
			}
			var st sessionstore.Store
			var err error
			if srv != nil {
				scfg := srv.Config("otel-data", "captures/e2e")
				st, err = sessionstore.Open(context.Background(), &scfg)
			} else {
				st, err = sessionstore.OpenFilesystem(shared)
			}
			require.NoError(t, err)
			defer st.Close()
			require.Eventually(t, func() bool {
				m, err := sessionstore.ReadMetadata(context.Background(), st, "both")
				return err == nil && m.Status == sessionstore.StatusCompleted
			}, 60*time.Second, 100*time.Millisecond, "the snapshot completes with both shares")
			a.Stop(t)
			b.Stop(t)

			s := sessiontest.Read(t, st, "both")
			sessiontest.CheckCounts(t, s)
			views, err := sessionstore.ReadWriters(context.Background(), st, "both")
			require.NoError(t, err)
			assert.Len(t, views, 2, "a share per collector")
			perService := map[string]int{}
			seen := map[pcommon.SpanID]bool{}
			for _, rs := range s.Traces.ResourceSpans().All() {
				svc, _ := rs.Resource().Attributes().Get("service.name")
				for _, ss := range rs.ScopeSpans().All() {
					for _, sp := range ss.Spans().All() {
						assert.False(t, seen[sp.SpanID()], "span %s twice", sp.SpanID())
						seen[sp.SpanID()] = true
						perService[svc.Str()]++
					}
				}
			}
			t.Logf("%s: snapshot %s to %s holds %v", backend, snap.From.Format(time.TimeOnly), snap.To.Format(time.TimeOnly), perService)
			// 10 s of window at 10 requests of 10 spans a second each, give or
			// take the requests at the window's ends
			assert.InDelta(t, 1000, perService["replica-a"], 150)
			assert.InDelta(t, 1000, perService["replica-b"], 150)
		})
	}
}

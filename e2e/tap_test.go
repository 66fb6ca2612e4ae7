package e2e

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // the htpasswd format's {SHA} scheme, for a test password
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// tapRequests and tapSpans are the traffic the tap tests send: the
// issue's 200 requests of 25 spans.
const (
	tapRequests = 200
	tapSpans    = 25
	tapSent     = tapRequests * tapSpans
)

// tapEnv is the environment of configs/tap.yaml forwarding to backend
// (grpc, plain text) and capturing into session id on srv.
func tapEnv(srv *s3server.Server, backend, id string, extra ...string) []string {
	return append([]string{
		"FORWARD_ENDPOINT=" + backend, "FORWARD_INSECURE=true", "TELEMETRY_HOST=127.0.0.1",
		"STORE=s3", "S3_ENDPOINT=" + srv.Endpoint, "S3_BUCKET=otel-data", "S3_PREFIX=tap",
		"AWS_ACCESS_KEY_ID=" + s3server.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3server.SecretKey,
		"CAPTURE_SESSION_ID=" + id,
	}, extra...)
}

// sendPaced sends the tap traffic to c over OTLP/HTTP, one request every
// 10 ms (2,500 spans/s), as an OTLP SDK would: each request must succeed
// within the SDK's default timeout of 10 s. It returns how long the
// sending took.
func sendPaced(t *testing.T, c *otelcoltest.Collector) time.Duration {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	for i := range tapRequests {
		body, err := ptraceotlp.NewExportRequestFromTraces(sessiontest.Traces("checkout", i, tapSpans, time.Now())).MarshalProto()
		require.NoError(t, err)
		resp, err := client.Post("http://"+c.HTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		require.NoError(t, err, "request %d of %d", i+1, tapRequests)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d of %d", i+1, tapRequests)
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 10 * time.Millisecond)))
	}
	return time.Since(start)
}

// forwardedOnce waits until the backend has every span sent and checks
// that it got each exactly once; it returns when the last one arrived,
// counted from start.
func forwardedOnce(t *testing.T, sink *consumertest.TracesSink, start time.Time) time.Duration {
	t.Helper()
	var last atomic.Int64
	require.Eventually(t, func() bool {
		if sink.SpanCount() >= tapSent {
			last.CompareAndSwap(0, int64(time.Since(start)))
			return true
		}
		return false
	}, 30*time.Second, 5*time.Millisecond, "the backend got %d of %d spans", sink.SpanCount(), tapSent)
	seen := map[pcommon.SpanID]int{}
	for _, td := range sink.AllTraces() {
		for _, sp := range pdatawalk.Spans(td) {
			seen[sp.SpanID()]++
		}
	}
	assert.Len(t, seen, tapSent, "distinct spans at the backend")
	for id, n := range seen {
		if n != 1 {
			t.Errorf("span %s reached the backend %d times", id, n)
			break
		}
	}
	return time.Duration(last.Load())
}

// sessionctlS3 runs sessionctl on the tap's store.
func sessionctlS3(t *testing.T, srv *s3server.Server, args ...string) string {
	t.Helper()
	cmd := exec.Command(sessionctlBin(t), append([]string{"--s3-bucket", "otel-data", "--s3-prefix", "tap",
		"--s3-endpoint", srv.Endpoint, "--s3-path-style"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sessionctl %v:\n%s", args, out)
	return string(out)
}

// TestTapWithStoreDown: configs/tap.yaml, unchanged, in front of a backend,
// with the S3 server stopped and a capture queue of 10 requests (the
// issue's setup). The backend receives every span exactly once while they
// are sent, and the client never sees an error; the capture drops what
// its queue cannot hold. After S3 returns and the collector stops, the
// session holds stored + dropped = sent, says failed, and metadata.json
// and `sessionctl show/list` report the drops.
func TestTapWithStoreDown(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	srv.Stop()
	sink := new(consumertest.TracesSink)
	backend, _ := serveOTLP(t, "grpc", sink, nil)
	c := otelcoltest.StartFile(t, "../configs/tap.yaml", tapEnv(srv, backend, "tap-outage", "CAPTURE_QUEUE_SIZE=10")...)

	start := time.Now()
	took := sendPaced(t, c)
	arrived := forwardedOnce(t, sink, start)
	t.Logf("sent %d spans in %s; the backend had them all %s after the first was sent", tapSent, took.Round(time.Millisecond), arrived.Round(time.Millisecond))
	assert.Less(t, arrived, took+5*time.Second, "forwarding kept up with the sender")

	srv.Restart(t)
	cfg := srv.Config("otel-data", "tap")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	// What the capture's queue held is stored once S3 is back.
	require.Eventually(t, func() bool {
		m, err := sessionstore.ReadMetadata(context.Background(), st, "tap-outage")
		return err == nil && m.CapturedTraces+m.DroppedItems.Of(sessionstore.SignalTraces) == tapSent
	}, 60*time.Second, 100*time.Millisecond, "the session accounts for every span")
	c.Stop(t)

	s := sessiontest.Read(t, st, "tap-outage")
	sessiontest.CheckCounts(t, s)
	stored := len(sessiontest.SpanIDs(s.Traces))
	assert.Equal(t, stored, s.Traces.SpanCount(), "no span stored twice")
	require.NotNil(t, s.Meta.DroppedItems, "drops in metadata.json")
	dropped := s.Meta.DroppedItems.Traces
	assert.Equal(t, int64(tapSent), int64(stored)+dropped, "stored %d + dropped %d = sent", stored, dropped)
	assert.Positive(t, dropped)
	assert.Positive(t, stored, "the queue's share was stored when S3 came back")
	assert.Equal(t, sessionstore.StatusFailed, s.Meta.Status, "a session with drops is not complete")
	assert.Nil(t, s.Meta.LostItems)

	show := sessionctlS3(t, srv, "show", "tap-outage")
	assert.Contains(t, show, `"droppedItems"`)
	list := sessionctlS3(t, srv, "list")
	assert.Regexp(t, `tap-outage\s+capture\s+failed \(\d+ dropped\)`, list)
	assert.Contains(t, c.Log(), "Sending queue full: items dropped (backpressure: drop)")
	assert.NotContains(t, c.Log(), "Rejecting data", "no error per dropped request")
}

// TestTapWithStoreUp: the same tap with S3 up throughout: the backend and
// the session each hold every span once (stored = forwarded = sent), and
// the session is completed.
func TestTapWithStoreUp(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	sink := new(consumertest.TracesSink)
	backend, _ := serveOTLP(t, "grpc", sink, nil)
	c := otelcoltest.StartFile(t, "../configs/tap.yaml", tapEnv(srv, backend, "tap-healthy")...)
	start := time.Now()
	sendPaced(t, c)
	forwardedOnce(t, sink, start)
	c.Stop(t)

	cfg := srv.Config("otel-data", "tap")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	s := sessiontest.Read(t, st, "tap-healthy")
	sessiontest.CheckCounts(t, s)
	assert.Len(t, sessiontest.SpanIDs(s.Traces), tapSent)
	assert.Equal(t, tapSent, s.Traces.SpanCount(), "stored = forwarded = sent")
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	assert.Nil(t, s.Meta.DroppedItems)
}

// scrubCards are the card numbers of the scrub test, one per span in turn.
var scrubCards = []string{"4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011000990139424"}

// scrubTraces builds spans number `span` (0 or 1) of traces [first,
// first+n) of the scrub test: trace ids from ids, a customer's e-mail
// address and card number in attributes, the team's address on the
// resource.
func scrubTraces(ids []pcommon.TraceID, first, n, span int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("team.contact", "payments-oncall@corp.example.org")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := first; i < first+n; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(ids[i])
		sp.SetSpanID(pcommon.SpanID{0: byte(span + 1), 4: byte(i >> 24), 5: byte(i >> 16), 6: byte(i >> 8), 7: byte(i)})
		sp.SetName("charge")
		now := time.Now()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		sp.Attributes().PutStr("customer.email", fmt.Sprintf("customer%d@shop.example.com", i))
		sp.Attributes().PutStr("payment.card", scrubCards[i%4])
		sp.Attributes().PutStr("note", fmt.Sprintf("refund to customer%d@shop.example.com, card 4012888888881881", i))
		sp.Attributes().PutInt("order.id", int64(4000000000000000+i)) // a number, not a card
	}
	return td
}

// TestScrubbingTap: configs/tap-scrubbed.yaml keeping 25 % of the traces.
// The backend receives every span with its original attributes; the
// session holds none of the e-mail addresses or card numbers (read with
// `sessionctl cat`); it holds a share of the traces within ±3 % of 25 %,
// each kept trace whole, and its metadata says the share.
func TestScrubbingTap(t *testing.T) {
	t.Parallel()
	const traces, perRequest = 20000, 200
	rng := rand.New(rand.NewPCG(18, 4))
	ids := make([]pcommon.TraceID, traces)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][:8], rng.Uint64())
		binary.BigEndian.PutUint64(ids[i][8:], rng.Uint64())
	}
	sink := new(consumertest.TracesSink)
	backend, _ := serveOTLP(t, "http", sink, nil)
	dir := t.TempDir()
	c := otelcoltest.StartFile(t, "../configs/tap-scrubbed.yaml",
		"FORWARD_PROTOCOL=http", "FORWARD_ENDPOINT=http://"+backend, "TELEMETRY_HOST=127.0.0.1",
		"CAPTURE_DIR="+dir, "CAPTURE_SESSION_ID=scrubbed", "CAPTURE_SAMPLING_PERCENTAGE=25")
	// Each trace's two spans arrive in different requests, far apart.
	for span := range 2 {
		for first := 0; first < traces; first += perRequest {
			c.SendTracesHTTP(t, scrubTraces(ids, first, perRequest, span))
		}
	}
	require.Eventually(t, func() bool { return sink.SpanCount() >= 2*traces }, 60*time.Second, 10*time.Millisecond,
		"the backend got %d of %d spans", sink.SpanCount(), 2*traces)
	c.Stop(t)

	// The backend: everything, as sent.
	assert.Equal(t, 2*traces, sink.SpanCount())
	// (The forwarder's queue may deliver requests in any order: a span is
	// told by its order.id.)
	fwd := sink.AllTraces()[0].ResourceSpans().At(0)
	contact, _ := fwd.Resource().Attributes().Get("team.contact")
	assert.Equal(t, "payments-oncall@corp.example.org", contact.Str())
	sp := fwd.ScopeSpans().At(0).Spans().At(0)
	order, _ := sp.Attributes().Get("order.id")
	i := int(order.Int() - 4000000000000000)
	email, _ := sp.Attributes().Get("customer.email")
	assert.Equal(t, fmt.Sprintf("customer%d@shop.example.com", i), email.Str())
	card, _ := sp.Attributes().Get("payment.card")
	assert.Equal(t, scrubCards[i%4], card.Str())

	// The session: scrubbed.
	out, err := exec.Command(sessionctlBin(t), "--dir", dir, "cat", "--json", "scrubbed").Output()
	require.NoError(t, err)
	dump := string(out)
	// (Not assert.Contains: its message would print the whole dump.)
	require.True(t, strings.Contains(dump, `"customer.email"`), "the attribute is kept, its value hashed")
	for _, secret := range append([]string{"@shop.example.com", "@corp.example.org", "4012888888881881"}, scrubCards...) {
		assert.False(t, strings.Contains(dump, secret), "the session holds %q", secret)
	}
	assert.True(t, regexp.MustCompile(`"intValue":"4000000000000\d{3}"`).MatchString(dump), "numbers that are not card numbers stay")

	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	defer st.Close()
	s := sessiontest.Read(t, st, "scrubbed")
	sessiontest.CheckCounts(t, s)
	perTrace := map[pcommon.TraceID]int{}
	for _, sp := range pdatawalk.Spans(s.Traces) {
		perTrace[sp.TraceID()]++
	}
	share := float64(len(perTrace)) / traces
	t.Logf("kept %d of %d traces (%.2f %%)", len(perTrace), traces, 100*share)
	assert.InDelta(t, 0.25, share, 0.25*0.03, "the kept share of traces")
	for id, n := range perTrace {
		if n != 2 {
			t.Errorf("trace %s kept with %d of its 2 spans", id, n)
			break
		}
	}
	require.Len(t, s.Meta.Sampling, 1)
	assert.Equal(t, 0.25, s.Meta.Sampling[0].Probability, "metadata.json says the share kept")
	assert.Equal(t, int64(s.Traces.SpanCount()), s.Meta.Sampling[0].Spans)
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
}

// TestControlAPIBehindAuthenticators: the distribution's authenticator
// extensions guard the control API through its `auth:` setting, as they
// guard any HTTP server of the collector: bearertokenauth and basicauth.
func TestControlAPIBehindAuthenticators(t *testing.T) {
	t.Parallel()
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	// sre:letmein, as `htpasswd -nbs sre letmein` writes it ({SHA}).
	sum := sha1.Sum([]byte("letmein"))
	require.NoError(t, os.WriteFile(htpasswd, []byte("sre:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o600))
	for _, tc := range []struct {
		name, extension, authenticator string
		good, bad                      func(*http.Request)
	}{
		{
			name: "bearertokenauth", authenticator: "bearertokenauth",
			extension: `bearertokenauth: {token: "s3cret-token"}`,
			good:      func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") },
			bad:       func(r *http.Request) { r.Header.Set("Authorization", "Bearer guess") },
		},
		{
			name: "basicauth", authenticator: "basicauth",
			extension: `basicauth: {htpasswd: {file: "` + htpasswd + `"}}`,
			good:      func(r *http.Request) { r.SetBasicAuth("sre", "letmein") },
			bad:       func(r *http.Request) { r.SetBasicAuth("sre", "guess") },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := otelcoltest.Start(t, `
receivers:
  otlp: {protocols: {http: {endpoint: "{{HTTP}}"}}}
exporters:
  session_capture:
    store: {directory: "{{DIR}}/data"}
    control: session_control
extensions:
  `+tc.extension+`
  session_control:
    endpoint: "{{CONTROL}}"
    auth: {authenticator: `+tc.authenticator+`}
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check, `+tc.authenticator+`, session_control]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [session_capture]}
`)
			get := func(set func(*http.Request)) int {
				req, err := http.NewRequest("GET", "http://"+c.Control+"/v1/captures", nil)
				require.NoError(t, err)
				if set != nil {
					set(req)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				return resp.StatusCode
			}
			assert.Equal(t, http.StatusOK, get(tc.good))
			assert.Equal(t, http.StatusUnauthorized, get(tc.bad))
			assert.Equal(t, http.StatusUnauthorized, get(nil))
		})
	}
}

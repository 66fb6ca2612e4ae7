package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// TestS3OutageLongerThanIdleTimeout: two sessions named by an attribute
// (idle_timeout 30s) get traffic before, during and after a 90 s S3
// outage. Neither completes during the outage or while its backlog drains;
// every span sent is stored exactly once; what was sent during the outage
// is keyed by when it was sent, not by when the queue drained; and once
// the traffic stops each session completes after idle_timeout, with
// metadata that agrees with its objects.
func TestS3OutageLongerThanIdleTimeout(t *testing.T) {
	t.Parallel() // two minutes of real time in its own collector and store
	if testing.Short() {
		t.Skip("90 s outage and 30 s idle timeout")
	}
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), `
session: {from_attribute: test.session.id, idle_timeout: 30s}
metadata_interval: 500ms
retry_on_failure:
  enabled: true
  initial_interval: 500ms
  max_interval: 2s
  max_elapsed_time: 0s
sending_queue:
  enabled: true
  queue_size: 10000
  block_on_overflow: true`), s3Env...)
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	ctx := context.Background()

	ids := []string{"drill-a", "drill-b"}
	want := map[string]ptrace.Traces{}
	for _, id := range ids {
		want[id] = ptrace.NewTraces()
	}
	sentAt := map[int64]time.Time{} // batch -> when the test sent it
	batch := 0
	tick := func() { // one batch per session
		for _, id := range ids {
			td := sessiontest.Traces("svc", batch, 10, time.Now())
			td.ResourceSpans().At(0).Resource().Attributes().PutStr("test.session.id", id)
			td.ResourceSpans().At(0).CopyTo(want[id].ResourceSpans().AppendEmpty())
			sentAt[int64(batch)] = time.Now()
			c.SendTracesHTTP(t, td)
			batch++
		}
	}
	for start := time.Now(); time.Since(start) < 3*time.Second; { // before
		tick()
		time.Sleep(250 * time.Millisecond)
	}
	srv.Stop()
	outage := time.Now()
	firstInOutage := batch
	for time.Since(outage) < 90*time.Second { // during: accepted and queued
		tick()
		time.Sleep(500 * time.Millisecond)
	}
	lastInOutage := batch - 1
	srv.Restart(t)
	back := time.Now()
	t.Logf("outage of %s: batches %d to %d sent during it", back.Sub(outage).Round(time.Millisecond), firstInOutage, lastInOutage)
	for start := time.Now(); time.Since(start) < 3*time.Second; { // after
		tick()
		time.Sleep(250 * time.Millisecond)
	}
	lastSend := time.Now()

	// The backlog lands; the sessions are still open: idleness counts from
	// the last data, and from the store's recovery, not from before the
	// outage.
	require.Eventually(t, func() bool {
		for _, id := range ids {
			m, err := sessionstore.ReadMetadata(ctx, st, id)
			if err != nil || m.CapturedTraces != int64(want[id].SpanCount()) {
				return false
			}
		}
		return true
	}, 60*time.Second, 250*time.Millisecond, "the backlog is stored once the server is back")
	stored := time.Now()
	require.Less(t, stored.Sub(lastSend), 25*time.Second, "the backlog must land well within idle_timeout of the last data for the next check to mean anything")
	t.Logf("backlog stored %s after the server came back", stored.Sub(back).Round(time.Millisecond))
	for _, id := range ids {
		m, err := sessionstore.ReadMetadata(ctx, st, id)
		require.NoError(t, err)
		assert.Equal(t, sessionstore.StatusActive, m.Status, "%s completed early", id)
		assert.Nil(t, m.EndTime, id)
	}
	assert.Empty(t, logLines(c, "Session idle; completing it"), "a session was completed during the outage or the drain")

	// No more data: after idle_timeout each session completes.
	require.Eventually(t, func() bool {
		for _, id := range ids {
			m, err := sessionstore.ReadMetadata(ctx, st, id)
			if err != nil || m.Status != sessionstore.StatusCompleted {
				return false
			}
		}
		return true
	}, 60*time.Second, 250*time.Millisecond, "idle sessions complete")
	idle := strings.Join(logLines(c, "Session idle; completing it"), "\n")
	for _, id := range ids {
		assert.Contains(t, idle, `"session": "`+id+`"`, "completed for idleness")
	}
	c.Stop(t)

	assert.Equal(t, ids, sessiontest.IDs(t, st), "no other session (and no own session) opened")
	var outageCaptures []time.Time
	for _, id := range ids {
		s := sessiontest.Read(t, st, id)
		assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status, id)
		require.NotNil(t, s.Meta.EndTime, id)
		assert.GreaterOrEqual(t, s.Meta.EndTime.Sub(lastSend), 29*time.Second, "%s completed before idle_timeout had passed since its last data", id)
		assert.Equal(t, want[id].SpanCount(), s.Traces.SpanCount(), "%s: everything sent is stored", id)
		for sid, n := range sessiontest.SpanIDs(s.Traces) {
			require.Equal(t, 1, n, "%s: span %s stored %d times", id, sid, n)
		}
		require.NoError(t, ptracetest.CompareTraces(want[id], s.Traces, ptracetest.IgnoreResourceSpansOrder()), id)
		sessiontest.CheckCounts(t, s)

		// Each object is keyed by when its data was sent: its capture time
		// is the arrival of its earliest request, and a backlog is split by
		// second of arrival, so every batch in it was sent within about a
		// second of its capture time (2 s allowed for a loaded machine).
		for _, o := range s.Objects {
			b, _, err := sessionstore.ReadObject(ctx, st, o, 64<<20)
			require.NoError(t, err)
			inOutage := false
			for _, bt := range batchesIn(b.Traces) {
				sent := sentAt[bt]
				require.False(t, sent.IsZero(), "batch %d was never sent", bt)
				assert.WithinDuration(t, sent, o.CaptureTime, 2*time.Second,
					"%s: batch %d sent at %s is in object %s captured at %s", id, bt, sent.Format(time.StampMilli), o.Key, o.CaptureTime.Format(time.StampMilli))
				if bt >= int64(firstInOutage) && bt <= int64(lastInOutage) {
					inOutage = true
				}
			}
			if inOutage {
				assert.True(t, o.CaptureTime.Before(back), "%s: object %s with data sent during the outage is keyed at the drain", id, o.Key)
				outageCaptures = append(outageCaptures, o.CaptureTime)
			}
		}
	}
	// The outage's data is spread over the outage, not bunched at its end.
	require.NotEmpty(t, outageCaptures)
	first, last := outageCaptures[0], outageCaptures[0]
	for _, ct := range outageCaptures {
		if ct.Before(first) {
			first = ct
		}
		if ct.After(last) {
			last = ct
		}
	}
	t.Logf("%d objects hold data sent during the outage, captured from %s to %s after it began",
		len(outageCaptures), first.Sub(outage).Round(time.Millisecond), last.Sub(outage).Round(time.Millisecond))
	assert.WithinDuration(t, outage, first, 2*time.Second, "the first object of the outage is keyed at its start")
	assert.WithinDuration(t, back, last, 3*time.Second, "the last object of the outage is keyed at its end")
	assert.GreaterOrEqual(t, len(outageCaptures), 80, "objects of the outage: about one per second per session")
}

// logLines returns the lines of a collector's log that contain text.
func logLines(c *otelcoltest.Collector, text string) []string {
	var out []string
	for _, l := range strings.Split(c.Log(), "\n") {
		if strings.Contains(l, text) {
			out = append(out, l)
		}
	}
	return out
}

// batchesIn returns the distinct values of the "batch" span attribute
// (sessiontest.Traces sets it) in td.
func batchesIn(td ptrace.Traces) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, sp := range pdatawalk.Spans(td) {
		v, ok := sp.Attributes().Get("batch")
		if !ok {
			continue
		}
		if !seen[v.Int()] {
			seen[v.Int()] = true
			out = append(out, v.Int())
		}
	}
	return out
}

// TestSIGTERMWhileS3StaysAway: S3 stopped, 500 spans accepted, SIGTERM,
// and S3 back only after the exporter has spent its 3/4 of
// shutdown_timeout retrying the data, while it still writes the final
// metadata. The collector exits with status 0 (the shutdown itself
// worked), the session says failed with the spans it lost, the log has an
// error naming them, and the counts agree with what the objects hold:
// whether the session was open before S3 went away or all of its data
// came while S3 was away (so the exporter never managed to open it).
func TestSIGTERMWhileS3StaysAway(t *testing.T) {
	t.Parallel() // seconds of real time in its own collectors and stores
	if testing.Short() {
		t.Skip("seconds of real time with the S3 server stopped")
	}
	t.Run("session opened before the outage", func(t *testing.T) {
		t.Parallel()
		sigtermWhileS3Away(t, true)
	})
	t.Run("all data sent during the outage", func(t *testing.T) {
		t.Parallel()
		sigtermWhileS3Away(t, false)
	})
}

func sigtermWhileS3Away(t *testing.T, openFirst bool) {
	const shutdownTimeout = 8 * time.Second
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	c := otelcoltest.Start(t, captureConfig(s3Store(srv, "otel-data"), `
session: {id: drill}
metadata_interval: 500ms
shutdown_timeout: 8s
retry_on_failure:
  enabled: true
  initial_interval: 200ms
  max_interval: 1s
  max_elapsed_time: 0s
sending_queue:
  enabled: true
  block_on_overflow: true`), s3Env...)
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)

	accepted := 0
	if openFirst {
		c.SendTracesHTTP(t, sessiontest.Traces("svc", 100, 25, time.Now()))
		accepted += 25
		require.Eventually(t, func() bool {
			m, err := sessionstore.ReadMetadata(context.Background(), st, "drill")
			return err == nil && m.CapturedTraces == 25
		}, 30*time.Second, 50*time.Millisecond, "the session opens with its first batch")
	}
	srv.Stop()
	for batch := range 20 {
		c.SendTracesHTTP(t, sessiontest.Traces("svc", batch, 25, time.Now()))
		accepted += 25
	}
	time.Sleep(time.Second)
	sigterm := time.Now()
	require.NoError(t, syscall.Kill(c.Pid(), syscall.SIGTERM))
	// The push retrying the data goes on until 3/4 of shutdown_timeout
	// after the collector began to stop (6 s, with backoff up to 1 s; no
	// write is tried after its deadline) and keeps the last 1/4 for the
	// final metadata (attempts at about 6.0, 6.1, 6.3, 6.7 and 7.5 s). The
	// server comes back at 6.1 s, measured from when the exporter logged
	// that it is stopping: after the last chance for the data, with a
	// second and more to spare for the metadata on a loaded machine.
	c.WaitLog(t, "Stopping: the batches not stored yet are retried", 30*time.Second)
	retrying := time.Now()
	time.Sleep(time.Until(retrying.Add(shutdownTimeout*3/4 + 100*time.Millisecond)))
	srv.Restart(t)
	back := time.Now()
	exitErr, exited := c.Wait(60 * time.Second)
	require.True(t, exited, "collector did not exit:\n%s", c.LogTail(40))
	t.Logf("SIGTERM; exporter retrying %s later; S3 listening %s after that; exit %s after SIGTERM (%v)",
		retrying.Sub(sigterm).Round(time.Millisecond), back.Sub(retrying).Round(time.Millisecond),
		time.Since(sigterm).Round(time.Millisecond), exitErr)
	require.NoError(t, exitErr, "exit status 0: the final metadata was written; log:\n%s", c.LogTail(40))

	ids := sessiontest.IDs(t, st)
	require.Equal(t, []string{"drill"}, ids, "the session's metadata.json; log:\n%s", c.LogTail(40))
	s := sessiontest.Read(t, st, "drill")
	stored := s.Traces.SpanCount()
	for id, k := range sessiontest.SpanIDs(s.Traces) {
		require.Equal(t, 1, k, "span %s stored %d times", id, k)
	}
	t.Logf("%d of %d accepted spans stored", stored, accepted)
	assert.Equal(t, sessionstore.StatusFailed, s.Meta.Status)
	require.NotNil(t, s.Meta.LostItems, "metadata names what was lost")
	assert.Equal(t, int64(accepted-stored), s.Meta.LostItems.Traces, "lostItems.traces: the accepted spans not in the objects")
	assert.Zero(t, s.Meta.LostItems.Metrics)
	assert.Zero(t, s.Meta.LostItems.Logs)
	sessiontest.CheckCounts(t, s)
	lostLine := ""
	for _, l := range logLines(c, "lost") {
		if strings.Contains(l, "\terror\t") {
			lostLine = l
		}
	}
	require.NotEmpty(t, lostLine, "an error line names the lost items:\n%s", c.LogTail(40))
	assert.Contains(t, lostLine, `"session": "drill"`)
	assert.Contains(t, lostLine, `"lost_spans": `+strconv.Itoa(accepted-stored))
}

// TestSIGKILLWithPersistentQueue: steady traffic into a session (a fixed
// id, or session.id: auto) with a persistent sending queue (contrib
// file_storage); the collector is killed with SIGKILL right after it
// accepted a burst of requests, while their uploads are in flight, then
// started again on the same queue directory, where it delivers what the
// queue still held into the session it was accepted into (with auto, not
// the new run's). Without any repair, every span whose request was
// accepted is in that session exactly once, every object once, the
// session says completed with counts that agree with its objects
// (`sessionctl verify`), and a replay of it delivers each span exactly
// once. (Batching is off, as the exporter's README asks for exact
// once-only storage across crashes: a batch regrouped on redelivery would
// be a new object.)
func TestSIGKILLWithPersistentQueue(t *testing.T) {
	t.Parallel() // seconds of real time in its own collectors and store
	if testing.Short() {
		t.Skip("seconds of real time, two collector runs and a replay")
	}
	for _, id := range []string{"crash", "auto"} {
		t.Run("session.id "+id, func(t *testing.T) {
			t.Parallel()
			sigkillWithPersistentQueue(t, id)
		})
	}
}

func sigkillWithPersistentQueue(t *testing.T, sessionID string) {
	sessionctl := sessionctlBin(t)
	srv := s3server.Start(t)
	srv.CreateBucket(t, "otel-data")
	queueDir := t.TempDir()
	config := withFileStorage(captureConfig(s3Store(srv, "otel-data"), `
session: {id: `+sessionID+`}
metadata_interval: 500ms
retry_on_failure:
  enabled: true
  initial_interval: 200ms
  max_interval: 1s
  max_elapsed_time: 0s
sending_queue:
  enabled: true
  storage: file_storage
  block_on_overflow: true
  batch: {enabled: false}`), queueDir)
	c := otelcoltest.Start(t, config, s3Env...)
	cfg := srv.Config("otel-data", "captures/e2e")
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)

	// Steady traffic from a goroutine: 25-span requests every 20 ms, each
	// recorded with whether the collector accepted it (HTTP 200). Once
	// asked, the goroutine sends a burst and kills the collector as soon
	// as the burst is answered, then goes on sending into the dead port
	// for 300 ms.
	var (
		mu       sync.Mutex
		sent     = map[pcommon.SpanID]bool{} // every span sent -> accepted
		requests int
	)
	const burst = 20
	killNext := make(chan struct{})
	type kill struct {
		at  time.Time
		err error
	}
	killed := make(chan kill, 1)
	client := &http.Client{Timeout: 5 * time.Second}
	send := func(batch int) bool {
		td := sessiontest.Traces("svc", batch, 25, time.Now())
		ok := postTraces(client, c.HTTP, td)
		mu.Lock()
		defer mu.Unlock()
		for id := range sessiontest.SpanIDs(td) {
			sent[id] = ok
		}
		requests++
		return ok
	}
	go func() {
		defer close(killed)
		var killedAt time.Time
		for batch := 0; killedAt.IsZero() || time.Since(killedAt) < 300*time.Millisecond; batch++ {
			time.Sleep(20 * time.Millisecond)
			select {
			case <-killNext:
				if !killedAt.IsZero() {
					break
				}
				// A burst of requests at once, so that every consumer of
				// the queue is uploading, and the kill as soon as the
				// last of them is accepted.
				var wg sync.WaitGroup
				for i := range burst {
					wg.Go(func() { send(batch + i) })
				}
				wg.Wait()
				batch += burst
				err := syscall.Kill(c.Pid(), syscall.SIGKILL)
				killedAt = time.Now()
				killed <- kill{killedAt, err}
				continue
			default:
			}
			send(batch)
		}
	}()

	require.Eventually(t, func() bool { return countAllObjects(st) >= 50 }, 30*time.Second, 50*time.Millisecond,
		"objects are being stored")
	time.Sleep(time.Second)
	close(killNext)
	k := <-killed
	require.NoError(t, k.err, "SIGKILL")
	killedAt := k.at
	_, exited := c.Wait(10 * time.Second)
	require.True(t, exited, "SIGKILL did not end the collector")
	for range killed { // the sender stops 300 ms after the kill
	}
	mu.Lock()
	var accepted, refused int
	for _, ok := range sent {
		if ok {
			accepted++
		} else {
			refused++
		}
	}
	mu.Unlock()
	beforeRestart := countAllObjects(st)
	t.Logf("%d requests: %d spans accepted, %d refused; %d objects stored when the collector was killed", requests, accepted, refused, beforeRestart)
	require.Positive(t, refused, "the client was still sending when the collector died")

	// Same config, same queue directory: the queue delivers what it held.
	c2 := otelcoltest.Start(t, config, s3Env...)
	missing := -1 // accepted spans not stored yet (-1: unknown)
	for deadline := time.Now().Add(60 * time.Second); missing != 0 && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		ids, err := storedSpanIDsAll(st)
		if err != nil {
			continue
		}
		missing = 0
		for id, ok := range sent {
			if ok && ids[id] == 0 {
				missing++
			}
		}
	}
	require.Zero(t, missing, "accepted spans not stored 60 s after the restart")
	c2.Stop(t)
	// The kill came while uploads were in flight: the restarted queue
	// found requests a consumer had taken and not finished
	// (dispatchedItems), besides those not taken yet.
	queued := regexp.MustCompile(`Loaded queue metadata.*"readIndex": (\d+), "writeIndex": (\d+).*"dispatchedItems": (\d+)`)
	inFlight := 0
	for _, m := range queued.FindAllStringSubmatch(c2.Log(), -1) {
		dispatched, _ := strconv.Atoi(m[3])
		t.Logf("persistent queue at restart: readIndex %s, writeIndex %s, dispatchedItems %d", m[1], m[2], dispatched)
		inFlight += dispatched
	}
	require.Positive(t, inFlight, "no upload was in flight at the kill")
	t.Logf("second run: %d objects more; %d redelivered requests found stored already; drained %s after the kill",
		countAllObjects(st)-beforeRestart, strings.Count(c2.Log(), "Batch delivered again after a restart was stored already"),
		time.Since(killedAt).Round(time.Millisecond))

	// Every session holds exactly what its metadata says, with no repair:
	// the restarted run recounted the session the killed one left open.
	ids := sessiontest.IDs(t, st)
	if sessionID == "auto" {
		require.Len(t, ids, 1, "no data reached the second run: the killed run's session is the only one")
	} else {
		require.Equal(t, []string{sessionID}, ids)
	}
	id := ids[0]
	cmd := exec.Command(sessionctl, "--s3-bucket", "otel-data", "--s3-prefix", "captures/e2e", "--s3-endpoint", srv.Endpoint,
		"--s3-path-style", "verify", id)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
	out, err := cmd.CombinedOutput()
	t.Logf("sessionctl verify %s:\n%s", id, out)
	require.NoError(t, err, "sessionctl verify")

	s := sessiontest.Read(t, st, id)
	stored := sessiontest.SpanIDs(s.Traces)
	for id, k := range stored {
		require.Equal(t, 1, k, "span %s stored %d times", id, k)
		_, wasSent := sent[id]
		require.True(t, wasSent, "span %s was never sent", id)
	}
	for id, ok := range sent {
		if ok {
			require.Equal(t, 1, stored[id], "accepted span %s stored %d times", id, stored[id])
		}
	}
	uuids := map[string]string{}
	for _, o := range s.Objects {
		prev, dup := uuids[o.ID]
		require.False(t, dup, "uuid %s in %s and %s", o.ID, prev, o.Key)
		uuids[o.ID] = o.Key
	}
	assert.Equal(t, sessionstore.StatusCompleted, s.Meta.Status)
	assert.Nil(t, s.Meta.LostItems)
	assert.Nil(t, s.Meta.QueuedItems)
	sessiontest.CheckCounts(t, s)

	// A replay of the session delivers each stored span exactly once.
	second := otelcoltest.Start(t, captureConfig(fsStore, "session: {id: replayed}"))
	replay := otelcoltest.StartFile(t, "../configs/replay.yaml",
		"STORE=s3", "S3_BUCKET=otel-data", "S3_PREFIX=captures/e2e", "S3_ENDPOINT="+srv.Endpoint,
		"AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey,
		"REPLAY_SESSION="+id, "REPLAY_SPEED=0", "REPLAY_TIMESTAMPS=none",
		"REPLAY_EXPORTER=otlp_http", "REPLAY_ENDPOINT=http://"+second.HTTP)
	replay.WaitLog(t, "Replay finished", 60*time.Second)
	assert.Contains(t, replay.Log(), `"duplicate_objects": 0`)
	replay.Stop(t)
	second.Stop(t)
	fs, err := sessionstore.OpenFilesystem(filepath.Join(second.Dir, "data"))
	require.NoError(t, err)
	defer fs.Close()
	got := sessiontest.Read(t, fs, "replayed")
	replayed := sessiontest.SpanIDs(got.Traces)
	for id, k := range replayed {
		require.Equal(t, 1, k, "span %s replayed %d times", id, k)
	}
	assert.Equal(t, spans(s.Traces), spans(got.Traces), "the replay delivers what the session holds")
}

// spanRow is what identifies a span's content in a comparison.
type spanRow struct {
	trace      pcommon.TraceID
	name       string
	start, end pcommon.Timestamp
	attrs      string
}

// spans maps each span id of td to its content.
func spans(td ptrace.Traces) map[pcommon.SpanID]spanRow {
	out := map[pcommon.SpanID]spanRow{}
	for _, sp := range pdatawalk.Spans(td) {
		out[sp.SpanID()] = spanRow{sp.TraceID(), sp.Name(), sp.StartTimestamp(), sp.EndTimestamp(), fmt.Sprint(sp.Attributes().AsRaw())}
	}
	return out
}

// storedSpanIDs reads a session's span ids, with how often each is
// stored, without failing the test (for polling).
func storedSpanIDs(st sessionstore.Store, id string) (map[pcommon.SpanID]int, error) {
	out := map[pcommon.SpanID]int{}
	for o, err := range sessionstore.ListObjects(context.Background(), st, id) {
		if err != nil {
			return nil, err
		}
		b, _, err := sessionstore.ReadObject(context.Background(), st, o, 64<<20)
		if err != nil {
			return nil, err
		}
		for sid, n := range sessiontest.SpanIDs(b.Traces) {
			out[sid] += n
		}
	}
	return out, nil
}

// storedSpanIDsAll is storedSpanIDs over every session of the store.
func storedSpanIDsAll(st sessionstore.Store) (map[pcommon.SpanID]int, error) {
	list, err := sessionstore.ListSessions(context.Background(), st)
	if err != nil {
		return nil, err
	}
	out := map[pcommon.SpanID]int{}
	for _, info := range list {
		ids, err := storedSpanIDs(st, info.ID)
		if err != nil {
			return nil, err
		}
		for id, n := range ids {
			out[id] += n
		}
	}
	return out, nil
}

// countAllObjects counts the data objects of every session (-1: a listing
// failed).
func countAllObjects(st sessionstore.Store) int {
	list, err := sessionstore.ListSessions(context.Background(), st)
	if err != nil {
		return -1
	}
	n := 0
	for _, info := range list {
		k := countObjects(st, info.ID)
		if k < 0 {
			return -1
		}
		n += k
	}
	return n
}

// withFileStorage adds contrib's file_storage extension on dir to a config
// built by captureConfig, for a persistent sending queue.
func withFileStorage(config, dir string) string {
	const ext, svc = "extensions:\n  health_check: {endpoint: \"{{HEALTH}}\"}\n", "extensions: [health_check]"
	if !strings.Contains(config, ext) || !strings.Contains(config, svc) {
		panic("withFileStorage: not a captureConfig")
	}
	config = strings.Replace(config, ext, ext+"  file_storage: {directory: "+dir+", compaction: {directory: "+dir+"}}\n", 1)
	return strings.Replace(config, svc, "extensions: [health_check, file_storage]", 1)
}

// postTraces posts td to a collector's OTLP/HTTP endpoint and reports
// whether it was accepted.
func postTraces(client *http.Client, addr string, td ptrace.Traces) bool {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return false
	}
	resp, err := client.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// countObjects counts a session's data objects (-1: the listing failed).
func countObjects(st sessionstore.Store, id string) int {
	n := 0
	for _, err := range sessionstore.ListObjects(context.Background(), st, id) {
		if err != nil {
			return -1
		}
		n++
	}
	return n
}

// sessionctlBin finds bin/sessionctl next to the collector binary (`make
// build` builds both).
func sessionctlBin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(otelcoltest.Bin(t)), "sessionctl")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("RECORDREPLAY_REQUIRE_OTELCOL") == "1" {
			t.Fatalf("%s not found: run `make build`", p)
		}
		t.Skipf("%s not found: run `make build`", p)
	}
	return p
}

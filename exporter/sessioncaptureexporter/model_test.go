package sessioncaptureexporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"
)

// FuzzAccounting is the accounting model test of capture. A seed chooses
// a configuration (session.id auto or fixed, routing by attribute or not,
// retries off, bounded or unbounded, a memory or a persistent queue,
// batches small or default, rotation or not) and a run of requests of 1
// to 100,000 items of every signal over several resources and sessions,
// with random store faults (retryable, permanent, writes that land but
// answer an error, slow writes) and restarts. After the last run every
// session is checked: its objects' items equal its metadata's counts, no
// item is in two objects (or two sessions), every item accepted is stored
// or counted lost (accepted = stored + lost), every stored item was
// accepted and is in the session it belongs to, and a session says
// completed only when nothing was lost. `make test` runs the seeds below;
// `make fuzz` runs more.
func FuzzAccounting(f *testing.F) {
	for seed := range uint64(6) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		if testing.Short() {
			t.Skip("seconds of real time per seed")
		}
		runAccountingModel(t, seed)
	})
}

// modelFaults fails data writes at random while on.
type modelFaults struct {
	mu  sync.Mutex
	rng *rand.Rand
	on  bool
}

func (m *modelFaults) rule(c faultstore.Call) faultstore.Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on {
		return faultstore.Fault{}
	}
	p := m.rng.Float64()
	switch {
	case c.Op == faultstore.Put && c.IsMetadata():
		if p < 0.03 {
			return faultstore.Fault{Err: errors.New("metadata write: connection reset")}
		}
	case c.Op != faultstore.Put || !isObjectKey(c.Key):
	case p < 0.12:
		return faultstore.Fault{Err: errors.New("connection refused")}
	case p < 0.15:
		return faultstore.Fault{Err: sessionstore.Permanent(errors.New("AccessDenied"))}
	case p < 0.20:
		return faultstore.Fault{Err: errors.New("i/o timeout"), Land: true}
	case p < 0.28:
		return faultstore.Fault{Delay: 5 * time.Millisecond}
	}
	return faultstore.Fault{}
}

func (m *modelFaults) set(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on = on
}

func runAccountingModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg, st := fsConfig(t)
	cfg.MetadataInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 2 * time.Second
	desc := []string{fmt.Sprintf("seed %d", seed)}
	if rng.IntN(2) == 0 {
		cfg.Session.ID = "model"
	}
	desc = append(desc, "session.id "+cfg.Session.ID)
	routing := rng.IntN(2) == 0
	if routing {
		cfg.Session.FromAttribute = "test.session.id"
		desc = append(desc, "from_attribute")
	}
	switch rng.IntN(3) {
	case 0:
		cfg.RetryConfig.Enabled = false
		desc = append(desc, "retries off")
	case 1:
		cfg.RetryConfig.MaxElapsedTime = 200 * time.Millisecond
		desc = append(desc, "retries for 200ms")
	default:
		cfg.RetryConfig.MaxElapsedTime = 0
		desc = append(desc, "retries until shutdown")
	}
	persistent := rng.IntN(2) == 0
	if rng.IntN(2) == 0 {
		b := cfg.QueueConfig.GetOrInsertDefault().Batch.GetOrInsertDefault()
		b.MinSize, b.MaxSize = 100, 500
		desc = append(desc, "batches 100-500")
	}
	if rng.IntN(3) == 0 {
		cfg.Session.MaxDuration = 150 * time.Millisecond
		desc = append(desc, "rotation 150ms")
	}
	runs := 1 + rng.IntN(3)
	desc = append(desc, fmt.Sprintf("persistent queue %v, %d runs", persistent, runs))
	// A draw of its own, so that the seeds keep the rest of their runs.
	if rand.New(rand.NewPCG(seed, 0xd7)).IntN(3) == 0 {
		cfg.Backpressure = BackpressureDrop
		q := cfg.QueueConfig.GetOrInsertDefault()
		q.Sizer, q.QueueSize = exporterhelper.RequestSizerTypeItems, 20000
		desc = append(desc, "backpressure: drop, queue of 20000 items")
	}
	t.Log(strings.Join(desc, ", "))

	faults := &modelFaults{rng: rand.New(rand.NewPCG(seed+1, seed))}
	queueDir := t.TempDir()
	core, logs := observer.New(zap.InfoLevel)
	var history []string // the sessions after each run
	t.Cleanup(func() {
		if t.Failed() { // what became of the batches, for the failure's reader
			for _, h := range history {
				t.Log(h)
			}
			for _, e := range logs.All() {
				if e.Level >= zap.WarnLevel || strings.Contains(e.Message, "stays") || strings.Contains(e.Message, "again") {
					t.Logf("%s %s %v", e.Level, e.Message, e.ContextMap())
				}
			}
		}
	})
	start := func() *trio {
		set := exportertest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName(metadata.Type.String(), "model")
		set.Logger = zap.New(core)
		wrap := func(s sessionstore.Store) sessionstore.Store { return faultstore.New(s, faults.rule) }
		if !persistent {
			return startTrio(t, set, cfg, wrap)
		}
		host, id := storagehost.FileStorage(t, queueDir)
		c := *cfg // the queue block is a value: the copy's is its own
		c.QueueConfig.Get().StorageID = &id
		return startTrioOn(t, host, set, &c, wrap)
	}

	ctx := context.Background()
	routes := []string{"", "seed-a", "seed-b"}
	accepted := map[itemKey]string{} // item -> the route it was sent with
	next := 0
	for run := range runs {
		faults.set(true)
		tr := start()
		for range 2 + rng.IntN(6) {
			signal := allSignals[rng.IntN(len(allSignals))]
			n := int(math.Exp(rng.Float64() * math.Log(100000)))
			route := ""
			if routing {
				route = routes[rng.IntN(len(routes))]
			}
			err := tr.consumeItems(ctx, signal, itemBatch(signal, next, n, 1+rng.IntN(4), route))
			var fated *fatedError
			if err == nil || errors.As(err, &fated) {
				for i := next; i < next+n; i++ {
					accepted[itemKey{signal, int64(i)}] = route
				}
			}
			next += n
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		}
		if run < runs-1 {
			tr.shutdown(t)
			history = append(history, fmt.Sprintf("after run %d:%s", run+1, summarize(st)))
			continue
		}
		// The last run: the store heals, and whatever a persistent queue
		// still holds is stored before it stops.
		faults.set(false)
		// Every accepted item is accounted for (stored or lost) in some
		// session's metadata, and none waits: what the persistent queue
		// held came back, and what this run accepted reached the store.
		var want counts
		for k := range accepted {
			want.add(k.signal, 1)
		}
		if !assert.Eventually(t, func() bool { return accountedFor(st) == want }, 20*time.Second, 20*time.Millisecond,
			"every accepted item is stored or counted lost before the last stop") {
			history = append(history, "not all accounted for:"+summarize(st))
		}
		tr.shutdown(t)
	}
	if !persistent && runs == 1 {
		// One more run, healthy: nothing to hand back, nothing changes.
		start().shutdown(t)
	}

	a := audit(t, st)
	stored := a.checkLedger(t)
	var lost counts
	for id, m := range a.meta {
		assert.Zero(t, m.QueuedItems.Total(), "session %s still waits for queued items", id)
		assert.NotEqual(t, sessionstore.StatusActive, m.Status, "session %s is still active", id)
		for _, sig := range signals {
			lost.add(sig, lostOf(m, sig)+dropped(m, sig))
		}
	}
	if cfg.Backpressure == BackpressureDrop {
		var d int64
		for _, m := range a.meta {
			d += m.DroppedItems.Total()
		}
		t.Logf("%d items dropped", d)
	}
	var acceptedBy counts
	for k := range accepted {
		acceptedBy.add(k.signal, 1)
	}
	for _, sig := range signals {
		assert.Equal(t, acceptedBy.of(sig), int64(stored[sig])+lost.of(sig), "%s: accepted = stored + lost + dropped (%s)", sig, a.summary())
	}
	for k, w := range a.items {
		route, ok := accepted[k]
		if !assert.True(t, ok, "%s %d stored, never accepted", k.signal, k.n) {
			continue
		}
		id := w.sessions[0]
		if route != "" {
			assert.True(t, id == route || strings.HasPrefix(id, route+"-"), "%s %d of %s stored in session %s", k.signal, k.n, route, id)
		} else {
			assert.False(t, strings.HasPrefix(id, "seed-"), "%s %d of the own session stored in session %s", k.signal, k.n, id)
		}
	}
}

// summary says what each session holds and lost, for failure messages.
func (a storeAudit) summary() string {
	var b strings.Builder
	for id, m := range a.meta {
		fmt.Fprintf(&b, "\n%s %s stored %v lost %+v dropped %+v queued %+v", id, m.Status, a.objectItems[id], m.LostItems, m.DroppedItems, m.QueuedItems)
	}
	return b.String()
}

// anyQueued reports whether some session's metadata says it waits for
// items in a persistent queue (or cannot be read yet).
func anyQueued(st sessionstore.Store) bool {
	list, err := sessionstore.ListSessions(context.Background(), st)
	if err != nil {
		return true
	}
	for _, info := range list {
		m, err := sessionstore.ReadMetadata(context.Background(), st, info.ID)
		if err != nil || m.QueuedItems.Total() > 0 {
			return true
		}
	}
	return false
}

// summarize says what each session's metadata says, without failing.
func summarize(st sessionstore.Store) string {
	var b strings.Builder
	list, _ := sessionstore.ListSessions(context.Background(), st)
	for _, info := range list {
		m, err := sessionstore.ReadMetadata(context.Background(), st, info.ID)
		if err != nil {
			fmt.Fprintf(&b, "\n  %s: %v", info.ID, err)
			continue
		}
		fmt.Fprintf(&b, "\n  %s %s items %d/%d/%d lost %+v dropped %+v queued %+v", info.ID, m.Status,
			m.CapturedTraces, m.CapturedMetrics, m.CapturedLogs, m.LostItems, m.DroppedItems, m.QueuedItems)
	}
	return b.String()
}

// dropped returns a session's dropped items of signal.
func dropped(m *sessionstore.Metadata, signal sessionstore.Signal) int64 {
	return m.DroppedItems.Of(signal)
}

// accountedFor sums, per signal, what the sessions' metadata says was
// stored or lost; a session that waits for queued items, or cannot be
// read yet, spoils the sum (-1).
func accountedFor(st sessionstore.Store) counts {
	var c counts
	spoiled := counts{-1, -1, -1}
	list, err := sessionstore.ListSessions(context.Background(), st)
	if err != nil {
		return spoiled
	}
	for _, info := range list {
		m, err := sessionstore.ReadMetadata(context.Background(), st, info.ID)
		if err != nil || m.QueuedItems.Total() > 0 {
			return spoiled
		}
		for _, sig := range signals {
			c.add(sig, capturedOf(m, sig)+lostOf(m, sig)+dropped(m, sig))
		}
	}
	return c
}

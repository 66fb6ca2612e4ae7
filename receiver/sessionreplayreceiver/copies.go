package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Amplified load (copies: N): every object goes out N times, each copy a
// replay of its own. Copy c's trace and span ids are remapped by a key of
// its own (a bijection per copy, so its references stay whole and no two
// copies share a trace), and its resources say which copy they are in
// service.instance.id.

// attrServiceInstanceID is the semantic conventions' service.instance.id.
const attrServiceInstanceID = "service.instance.id"

// copyIDs returns the id key of copy c in a pass whose key (regenerate_ids)
// is pass: with regenerate_ids, copy 0 takes the pass's key and every other
// copy one derived from it; without, copy 0 keeps the recorded ids and
// copy c > 0 a fixed key of its own (the same in every pass and run). Nil:
// ids as recorded.
func (run *replayRun) copyIDs(pass idKey, c int) *idKey {
	if c == 0 {
		if run.cfg.RegenerateIDs {
			return &pass
		}
		return nil
	}
	var in [1 + 16 + 8 + 8]byte
	in[0] = 'c'
	if run.cfg.RegenerateIDs {
		copy(in[1:17], pass.trace[:])
		copy(in[17:25], pass.span[:])
	}
	binary.BigEndian.PutUint64(in[25:], uint64(c))
	k := keyOf(sha256.Sum256(in[:]))
	return &k
}

// setInstance marks every resource of b as copy c: service.instance.id
// becomes "<recorded id>-copy-<c>", or "copy-<c>" where none is recorded.
func setInstance(b sessionstore.Batch, c int) {
	suffix := "copy-" + strconv.Itoa(c)
	mark := func(res pcommon.Resource) {
		attrs := res.Attributes()
		id := suffix
		if v, ok := attrs.Get(attrServiceInstanceID); ok && v.AsString() != "" {
			id = v.AsString() + "-" + suffix
		}
		attrs.PutStr(attrServiceInstanceID, id)
	}
	switch b.Signal {
	case sessionstore.SignalTraces:
		for _, rs := range b.Traces.ResourceSpans().All() {
			mark(rs.Resource())
		}
	case sessionstore.SignalMetrics:
		for _, rm := range b.Metrics.ResourceMetrics().All() {
			mark(rm.Resource())
		}
	case sessionstore.SignalLogs:
		for _, rl := range b.Logs.ResourceLogs().All() {
			mark(rl.Resource())
		}
	}
}

// cloneBatch returns a deep copy of b.
func cloneBatch(b sessionstore.Batch) sessionstore.Batch {
	out := sessionstore.Batch{Signal: b.Signal}
	switch b.Signal {
	case sessionstore.SignalTraces:
		out.Traces = ptrace.NewTraces()
		b.Traces.CopyTo(out.Traces)
	case sessionstore.SignalMetrics:
		out.Metrics = pmetric.NewMetrics()
		b.Metrics.CopyTo(out.Metrics)
	case sessionstore.SignalLogs:
		out.Logs = plog.NewLogs()
		b.Logs.CopyTo(out.Logs)
	}
	return out
}

// pieceOf returns the piece key of b as sliceByTime cuts it (the same
// object decoded afresh cuts the same way).
func pieceOf(b sessionstore.Batch, key int64) sessionstore.Batch {
	lo, hi := b.EventRange()
	for _, p := range sliceByTime(b, lo, hi) {
		if p.key == key {
			return p.batch
		}
	}
	return sessionstore.Batch{Signal: b.Signal, Traces: ptrace.NewTraces(), Metrics: pmetric.NewMetrics(), Logs: plog.NewLogs()}
}

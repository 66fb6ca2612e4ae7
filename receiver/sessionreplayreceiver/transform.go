package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"crypto/sha256"
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// transform applies the services filter, the time shift and the id
// remapping to a freshly decoded batch, in one walk over it; it returns the
// items left.
func (r *replayReceiver) transform(b sessionstore.Batch, sh *shifter, ids *idKey) int {
	var v pdatawalk.Visitor
	if sh != nil {
		v.Time = sh.shift
	}
	if ids != nil {
		v.TraceID, v.SpanID = ids.TraceID, ids.SpanID
	}
	if v.Time != nil || v.TraceID != nil {
		b.Walk(v)
	}
	return b.ItemCount()
}

// shifter adds a fixed delta to every set timestamp of every signal (see
// pdatawalk for the fields) and records the range of the original
// timestamps it saw (the event range that sizes a pass for `relative`
// loops). A zero timestamp means "unset" in OTLP and stays zero.
type shifter struct {
	delta int64 // nanoseconds
	seen  pdatawalk.TimeRange
}

func (s *shifter) shift(_ pdatawalk.Field, ts pcommon.Timestamp) pcommon.Timestamp {
	s.seen.Add(ts)
	v := int64(ts) + s.delta
	if v <= 0 {
		return 1 // never turn a set timestamp into "unset" or wrap around
	}
	return pcommon.Timestamp(v)
}

// idKey remaps trace and span ids by XOR with a per-pass key: a bijection,
// so every reference (parent span ids, links, log records, exemplars) stays
// consistent with no state, and each pass yields new traces.
type idKey struct {
	trace [16]byte
	span  [8]byte
}

// passKey derives the key of one pass from the replay's random seed.
func passKey(seed [32]byte, pass int) idKey {
	var in [40]byte
	copy(in[:32], seed[:])
	binary.BigEndian.PutUint64(in[32:], uint64(pass))
	return keyOf(sha256.Sum256(in[:]))
}

// keyOf takes an id key from a hash.
func keyOf(sum [32]byte) idKey {
	var k idKey
	copy(k.trace[:], sum[:16])
	copy(k.span[:], sum[16:24])
	return k
}

// TraceID maps a (set) trace id.
func (k *idKey) TraceID(_ pdatawalk.Field, id pcommon.TraceID) pcommon.TraceID {
	for i := range id {
		id[i] ^= k.trace[i]
	}
	return id
}

// SpanID maps a (set) span id.
func (k *idKey) SpanID(_ pdatawalk.Field, id pcommon.SpanID) pcommon.SpanID {
	for i := range id {
		id[i] ^= k.span[i]
	}
	return id
}

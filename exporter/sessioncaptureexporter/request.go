package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// What exporterhelper queues, batches and persists is a captureRequest: a
// list of pieces, each an accepted request (or, above the batch limit, one
// chunk of it) with its stamp. Batching gathers whole pieces and never cuts
// one, so every piece is stored in exactly one object, and the stamp, not
// an attribute in the data, says where the piece belongs: the data is
// never changed (the exporter does not mutate what pipelines share).

// stamp says where one piece of accepted data belongs.
type stamp struct {
	// accepted is when the request was accepted (before the queue),
	// millisecond precision, UTC: the capture time of its object.
	accepted time.Time
	// instance names the run of the exporter that accepted it: a piece of
	// another run was delivered again by a persistent queue.
	instance uint64
	// request is a random id of the accepted request; index and count are
	// the piece's position among the request's pieces.
	request      uint64
	index, count uint32
	// session is the exporter's own session when the request was accepted:
	// the data of resources without the routing attribute goes there.
	session string
}

// name is what names the piece in its object's uuid.
func (s stamp) name() []byte {
	b := binary.BigEndian.AppendUint64(nil, s.request)
	return binary.BigEndian.AppendUint32(b, s.index)
}

// piece is one accepted request or one chunk of it.
//
// The batcher seals each piece as it takes it in (MergeSplit): the piece's
// parts, split by route, are marshalled to protobuf and the pdata is let
// go. A batch then holds bytes, not pdata trees, while it waits for its
// flush: the garbage collector has nothing of it to scan, and it is a
// fraction of the size. The push compresses the parts as they are.
type piece[D any] struct {
	stamp stamp
	data  D
	items int
	bytes int // protobuf size, 0 until asked
	// attr is the routing attribute (session.from_attribute) the piece
	// is split by when sealed.
	attr string
	// raw is the piece's protobuf as a persistent queue held it, or nil.
	raw []byte
	// refd: the sending queue holds a reference on data (see refCounter).
	refd bool
	// sealed: parts holds the piece, data is gone.
	sealed bool
	parts  []part
}

// seal makes the piece independent of its pdata (see piece). A piece that
// cannot be sealed stays as it is: the push marshals it, as without a
// batcher.
func (sig *signalOps[D, R]) seal(p *piece[D]) {
	if p.sealed {
		return
	}
	parts := splitByRoute(p.data, sig, p.attr)
	if len(parts) == 1 {
		parts[0].raw = p.raw // as queued (or nil): one route's protobuf is the piece's
	}
	bytes := 0
	for i := range parts {
		if err := parts[i].detach(); err != nil {
			return
		}
		bytes += len(parts[i].raw)
	}
	if p.refd {
		sig.unref(p.data)
		p.refd = false
	}
	var zero D
	p.parts, p.data, p.raw, p.bytes, p.sealed = parts, zero, nil, bytes, true
}

// protobuf returns the piece as one OTLP protobuf export request.
func (sig *signalOps[D, R]) protobuf(p *piece[D]) ([]byte, error) {
	if !p.sealed {
		return sig.marshal(p.data)
	}
	if len(p.parts) == 1 {
		return p.parts[0].raw, nil
	}
	var raw []byte
	for _, pt := range p.parts {
		raw = append(raw, pt.raw...)
	}
	return raw, nil
}

// captureRequest is the exporter's exporterhelper request.
type captureRequest[D, R any] struct {
	sig    *signalOps[D, R]
	pieces []*piece[D]
	items  int
}

var _ xexporterhelper.Request = (*captureRequest[any, any])(nil)

func newCaptureRequest[D, R any](sig *signalOps[D, R], pieces []*piece[D]) *captureRequest[D, R] {
	r := &captureRequest[D, R]{sig: sig, pieces: pieces}
	for _, p := range pieces {
		r.items += p.items
	}
	return r
}

// ItemsCount implements xexporterhelper.Request.
func (r *captureRequest[D, R]) ItemsCount() int { return r.items }

// BytesSize implements xexporterhelper.Request: the size of the request as
// one OTLP protobuf message (its pieces' messages concatenated).
func (r *captureRequest[D, R]) BytesSize() int {
	n := 0
	for _, p := range r.pieces {
		n += r.sig.pieceBytes(p)
	}
	return n
}

func (sig *signalOps[D, R]) pieceBytes(p *piece[D]) int {
	if p.bytes == 0 && !p.sealed {
		p.bytes = sig.size(p.data)
	}
	return p.bytes
}

// MergeSplit implements xexporterhelper.Request: it gathers whole pieces
// into requests of at most maxSize, in order. A piece is never cut; a
// piece of a request that was cut into several (a chunk) makes a request
// of its own, so that the object it becomes is named by it alone and is
// found again when a persistent queue delivers the request again.
func (r *captureRequest[D, R]) MergeSplit(_ context.Context, maxSize int, szt exporterhelper.RequestSizerType, other xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	pieces := r.pieces
	if other != nil {
		o, ok := other.(*captureRequest[D, R])
		if !ok {
			return nil, fmt.Errorf("session_capture: cannot merge a %T into a %T", other, r)
		}
		pieces = append(pieces[:len(pieces):len(pieces)], o.pieces...)
	}
	for _, p := range pieces {
		r.sig.seal(p)
	}
	if maxSize <= 0 {
		return []xexporterhelper.Request{newCaptureRequest(r.sig, pieces)}, nil
	}
	sizeOf := func(p *piece[D]) int { return p.items }
	if szt == exporterhelper.RequestSizerTypeBytes {
		sizeOf = r.sig.pieceBytes
	}
	var (
		out       []xexporterhelper.Request
		cur       []*piece[D]
		curSize   int
		curAlone  bool
		flushCurr = func() {
			if len(cur) > 0 {
				out = append(out, newCaptureRequest(r.sig, cur))
			}
			cur, curSize, curAlone = nil, 0, false
		}
	)
	for _, p := range pieces {
		size, alone := sizeOf(p), p.stamp.count > 1
		if len(cur) > 0 && (alone || curAlone || curSize+size > maxSize) {
			flushCurr()
		}
		cur = append(cur, p)
		curSize += size
		curAlone = alone
	}
	flushCurr()
	return out, nil
}

// acceptRequest makes the request of data accepted now with stamp st: one
// piece, or chunks of at most limit items (limit 0: no limit) if it has
// more; with the bytes sizer, limit is in bytes and the chunks are sized
// by the data's average item.
func acceptRequest[D, R any](sig *signalOps[D, R], data D, st stamp, limit int, bySize bool, attr string) *captureRequest[D, R] {
	items := sig.count(data)
	chunkItems := limit
	if bySize && limit > 0 {
		if size := sig.size(data); size > limit {
			chunkItems = max(1, int(int64(limit)*int64(items)/int64(size)))
		} else {
			chunkItems = 0
		}
	}
	if chunkItems <= 0 || items <= chunkItems {
		st.count = 1
		return newCaptureRequest(sig, []*piece[D]{{stamp: st, data: data, items: items, attr: attr}})
	}
	chunks := sig.chunk(data, chunkItems)
	pieces := make([]*piece[D], len(chunks))
	for i, c := range chunks {
		s := st
		s.index, s.count = uint32(i), uint32(len(chunks))
		pieces[i] = &piece[D]{stamp: s, data: c, items: sig.count(c), attr: attr}
	}
	return newCaptureRequest(sig, pieces)
}

// queueEncoding persists captureRequests in a persistent sending queue:
//
//	"RRQ1" uvarint(pieces) { uvarint(accepted ms) uvarint(instance)
//	  uvarint(request) uvarint(index) uvarint(count) uvarint(len) session
//	  uvarint(len) OTLP protobuf }
//
// A request queued by an earlier release (pdata, the arrival stamped on
// its resources) is read as one piece.
type queueEncoding[D, R any] struct {
	sig  *signalOps[D, R]
	now  func() time.Time
	attr string // session.from_attribute
}

var queueMagic = []byte("RRQ1")

func (e queueEncoding[D, R]) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r, ok := req.(*captureRequest[D, R])
	if !ok {
		return nil, fmt.Errorf("session_capture: cannot queue a %T", req)
	}
	buf := append([]byte(nil), queueMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(r.pieces)))
	for _, p := range r.pieces {
		raw, err := e.sig.protobuf(p)
		if err != nil {
			return nil, fmt.Errorf("session_capture: queue %s: %w", e.sig.signal, err)
		}
		buf = binary.AppendUvarint(buf, uint64(max(0, p.stamp.accepted.UnixMilli())))
		buf = binary.AppendUvarint(buf, p.stamp.instance)
		buf = binary.AppendUvarint(buf, p.stamp.request)
		buf = binary.AppendUvarint(buf, uint64(p.stamp.index))
		buf = binary.AppendUvarint(buf, uint64(p.stamp.count))
		buf = binary.AppendUvarint(buf, uint64(len(p.stamp.session)))
		buf = append(buf, p.stamp.session...)
		buf = binary.AppendUvarint(buf, uint64(len(raw)))
		buf = append(buf, raw...)
	}
	return buf, nil
}

// errQueueFormat reports a queued request that cannot be read.
var errQueueFormat = errors.New("session_capture: unreadable queued request")

func (e queueEncoding[D, R]) Unmarshal(b []byte) (context.Context, xexporterhelper.Request, error) {
	if len(b) < len(queueMagic) || string(b[:len(queueMagic)]) != string(queueMagic) {
		return e.unmarshalEarlier(b)
	}
	rd := queueReader{b: b[len(queueMagic):]}
	n := rd.uvarint()
	if rd.err != nil || n > uint64(len(b)) {
		return context.Background(), nil, errQueueFormat
	}
	pieces := make([]*piece[D], 0, n)
	for range n {
		var st stamp
		st.accepted = time.UnixMilli(int64(rd.uvarint())).UTC()
		st.instance = rd.uvarint()
		st.request = rd.uvarint()
		st.index = uint32(rd.uvarint())
		st.count = uint32(rd.uvarint())
		st.session = string(rd.bytes())
		raw := rd.bytes()
		if rd.err != nil {
			return context.Background(), nil, errQueueFormat
		}
		data, err := e.sig.unmarshal(raw)
		if err != nil {
			return context.Background(), nil, fmt.Errorf("%w: %w", errQueueFormat, err)
		}
		// raw is kept (a copy: the queue's buffer is not ours) for the seal
		pieces = append(pieces, &piece[D]{stamp: st, data: data, items: e.sig.count(data), attr: e.attr, raw: append([]byte(nil), raw...)})
	}
	return context.Background(), newCaptureRequest(e.sig, pieces), nil
}

// legacyArrivalAttr is the resource attribute on which earlier releases
// stamped each request's arrival ("{unix millis}-{request id in hex}").
const legacyArrivalAttr = "recordreplay.capture.arrival"

// unmarshalEarlier reads a request that an earlier release queued: its
// arrival stamp becomes the piece's; it goes to the own session current
// when it is stored.
func (e queueEncoding[D, R]) unmarshalEarlier(b []byte) (context.Context, xexporterhelper.Request, error) {
	ctx, data, err := e.sig.unmarshalQueued(b)
	if err != nil {
		return context.Background(), nil, fmt.Errorf("%w: %w", errQueueFormat, err)
	}
	st := stamp{accepted: e.now().UTC().Truncate(time.Millisecond), count: 1}
	rs := e.sig.resources(data)
	for i := range rs.Len() {
		attrs := e.sig.resource(rs.At(i)).Attributes()
		if v, ok := attrs.Get(legacyArrivalAttr); ok {
			if ms, id, ok := strings.Cut(v.AsString(), "-"); ok && st.request == 0 {
				m, err1 := strconv.ParseInt(ms, 10, 64)
				r, err2 := strconv.ParseUint(id, 16, 64)
				if err1 == nil && err2 == nil && m >= 0 {
					st.accepted, st.request = time.UnixMilli(m).UTC(), r
				}
			}
			attrs.Remove(legacyArrivalAttr)
		}
	}
	if st.request == 0 {
		st.request = newRequestID()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return ctx, newCaptureRequest(e.sig, []*piece[D]{{stamp: st, data: data, items: e.sig.count(data), attr: e.attr}}), nil
}

// queueReader reads the fields of a queued request, remembering the first
// error.
type queueReader struct {
	b   []byte
	err error
}

func (r *queueReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errQueueFormat
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *queueReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errQueueFormat
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// refCounter keeps pooled pdata alive while it waits in the in-memory
// queue (see pdata's xpdata/pref): until its piece is sealed, which lets
// the data go, or the request is done.
type refCounter[D, R any] struct{ sig *signalOps[D, R] }

func (c refCounter[D, R]) Ref(req xexporterhelper.Request) {
	for _, p := range req.(*captureRequest[D, R]).pieces {
		if !p.sealed && !p.refd {
			c.sig.ref(p.data)
			p.refd = true
		}
	}
}

func (c refCounter[D, R]) Unref(req xexporterhelper.Request) {
	for _, p := range req.(*captureRequest[D, R]).pieces {
		if p.refd {
			c.sig.unref(p.data)
			p.refd = false
		}
	}
}

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
)

// CompressionLevel is the gzip level of stored objects: best_speed (gzip
// level 1, session_capture's default), balanced (level 3) or
// best_compression (level 9); default is the old name of balanced.
// Compression is most of what capture costs: on OTLP traces
// (BenchmarkCompressionLevels) balanced stores objects about 8 % smaller
// than best_speed at about 1.5 times its CPU, and best_compression another
// 9 % smaller at about 7 times the CPU of balanced.
type CompressionLevel = confutil.Enum[compressionLevels]

// The supported compression levels.
const (
	CompressionBestSpeed       CompressionLevel = "best_speed"
	CompressionBalanced        CompressionLevel = "balanced"
	CompressionBestCompression CompressionLevel = "best_compression"
	// CompressionDefault is balanced under its name before balanced
	// (gzip level 5 then, level 3 since).
	CompressionDefault CompressionLevel = "default"
)

type compressionLevels struct{}

// Values lists default last: it is the old name of balanced.
func (compressionLevels) Values() []string {
	return []string{string(CompressionBestSpeed), string(CompressionBalanced), string(CompressionBestCompression), string(CompressionDefault)}
}

// GzipLevel is the level's number for gzip writers ("" is best_speed).
func GzipLevel(l CompressionLevel) (int, error) {
	switch l {
	case CompressionBestSpeed, "":
		return gzip.BestSpeed, nil
	case CompressionBalanced, CompressionDefault:
		return 3, nil
	case CompressionBestCompression:
		return gzip.BestCompression, nil
	}
	return 0, fmt.Errorf("unknown compression level %q", l)
}

// Encoder turns pdata batches into stored objects: the OTLP protobuf
// Export*ServiceRequest, gzipped (RFC 1952). It pools gzip writers and
// output buffers and is safe for concurrent use.
type Encoder struct {
	level   int
	writers sync.Pool
	buffers sync.Pool
}

// NewEncoder returns an encoder writing at level.
func NewEncoder(level CompressionLevel) (*Encoder, error) {
	l, err := GzipLevel(level)
	if err != nil {
		return nil, err
	}
	return &Encoder{level: l}, nil
}

// Encoded is one encoded batch. Release it once Data is no longer needed.
type Encoded struct {
	Data     []byte // the object as stored
	RawBytes int    // size of the uncompressed protobuf
	buf      *bytes.Buffer
	enc      *Encoder
}

// Release returns the buffer behind Data to the encoder's pool.
func (e *Encoded) Release() {
	if e == nil || e.buf == nil {
		return
	}
	e.buf.Reset()
	e.enc.buffers.Put(e.buf)
	e.buf, e.Data = nil, nil
}

// EncodeTraces encodes an ExportTraceServiceRequest.
func (e *Encoder) EncodeTraces(td ptrace.Traces) (*Encoded, error) {
	m := ptrace.ProtoMarshaler{}
	raw, err := m.MarshalTraces(td)
	if err != nil {
		return nil, fmt.Errorf("marshal traces: %w", err)
	}
	return e.compress(raw)
}

// EncodeMetrics encodes an ExportMetricsServiceRequest.
func (e *Encoder) EncodeMetrics(md pmetric.Metrics) (*Encoded, error) {
	m := pmetric.ProtoMarshaler{}
	raw, err := m.MarshalMetrics(md)
	if err != nil {
		return nil, fmt.Errorf("marshal metrics: %w", err)
	}
	return e.compress(raw)
}

// EncodeLogs encodes an ExportLogsServiceRequest.
func (e *Encoder) EncodeLogs(ld plog.Logs) (*Encoded, error) {
	m := plog.ProtoMarshaler{}
	raw, err := m.MarshalLogs(ld)
	if err != nil {
		return nil, fmt.Errorf("marshal logs: %w", err)
	}
	return e.compress(raw)
}

// Compress encodes raw, the protobuf of an Export*ServiceRequest, as a
// stored object.
func (e *Encoder) Compress(raw []byte) (*Encoded, error) { return e.compress(raw) }

// CompressParts encodes n protobuf messages of one signal's export
// requests, part(0) to part(n-1), as one stored object: concatenated, such
// messages are one request holding all their resources. Each part goes to
// the compressor as it comes, so no buffer ever holds them all.
func (e *Encoder) CompressParts(n int, part func(i int) ([]byte, error)) (*Encoded, error) {
	return e.stream(func(zw io.Writer) (int, error) {
		total := 0
		for i := range n {
			raw, err := part(i)
			if err != nil {
				return total, err
			}
			w, err := zw.Write(raw)
			total += w
			if err != nil {
				return total, err
			}
		}
		return total, nil
	})
}

func (e *Encoder) compress(raw []byte) (*Encoded, error) {
	return e.stream(func(zw io.Writer) (int, error) { return zw.Write(raw) })
}

// stream runs write against a pooled gzip writer over a pooled buffer;
// write returns how many uncompressed bytes it wrote.
func (e *Encoder) stream(write func(io.Writer) (int, error)) (*Encoded, error) {
	buf, _ := e.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = &bytes.Buffer{}
	}
	zw, _ := e.writers.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(buf, e.level); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(buf)
	}
	raw, err := write(zw)
	if err == nil {
		if err = zw.Close(); err != nil {
			err = fmt.Errorf("gzip: %w", err)
		}
	}
	e.writers.Put(zw)
	if err != nil {
		buf.Reset()
		e.buffers.Put(buf)
		return nil, err
	}
	return &Encoded{Data: buf.Bytes(), RawBytes: raw, buf: buf, enc: e}, nil
}

// ErrCorrupt reports an object that is not a gzipped OTLP export request of
// its signal: not gzip, truncated, or not valid protobuf.
var ErrCorrupt = errors.New("corrupt object")

// gzipReaders pools readers: each holds a 32 KiB window.
var gzipReaders sync.Pool

// openGzip takes a pooled reader and reads the gzip header from r; the
// caller returns the reader with gzipReaders.Put when err is nil.
func openGzip(r *bytes.Reader) (*gzip.Reader, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		return gzip.NewReader(r)
	}
	if err := zr.Reset(r); err != nil {
		gzipReaders.Put(zr)
		return nil, err
	}
	return zr, nil
}

// plausibleRatio bounds how much the first buffer of an inflation may
// exceed the stored size before inflation proves more: OTLP protobuf
// compresses 5 to 15 times.
const plausibleRatio = 16

// Decompress inflates a stored object and returns the protobuf inside,
// refusing to inflate more than maxBytes (a small object can expand to
// gigabytes). Errors match ErrCorrupt or ErrTooLarge. It is the one
// decompressor of stored objects. A gzip trailer (ISIZE) over maxBytes is
// refused before inflating anything: the last member alone is that large.
// Otherwise the trailer sizes the output buffer (one allocation for an
// honest object), trusted only as far as the stored bytes can plausibly
// hold; beyond that the buffer grows as inflation proves more, never past
// maxBytes+1, so a lying trailer costs no buffer larger than what really
// inflated.
func Decompress(data []byte, maxBytes int64) ([]byte, error) {
	return decompress(data, maxBytes, nil)
}

// decompress is Decompress inflating into into's storage when it is large
// enough for the first buffer Decompress would allocate (Decode passes a
// pooled buffer): an honest object then costs no allocation at all. The
// bounds are Decompress's: into is never filled past maxBytes+1, and a
// buffer that must grow grows as Decompress's does.
func decompress(data []byte, maxBytes int64, into []byte) ([]byte, error) {
	zr, err := openGzip(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %w", ErrCorrupt, err)
	}
	defer gzipReaders.Put(zr)
	isize := int64(-1)
	if len(data) >= 18 { // a gzip header and trailer at least
		isize = int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
		if isize > maxBytes {
			// A bomb, or an object cut off or damaged (then these bytes
			// are not its trailer): either way, not inflated.
			return nil, fmt.Errorf("%w: its gzip trailer says it inflates to %d bytes, over the %d-byte cap (%w: or it is cut off or damaged)",
				ErrTooLarge, isize, maxBytes, ErrCorrupt)
		}
	}
	size := min(int64(len(data))*plausibleRatio+4096, maxBytes+1)
	if isize >= 0 {
		size = min(size, isize+1) // +1: room to see the end without growing
	}
	var buf []byte
	switch {
	case int64(cap(into)) >= size:
		// Already there: no more of it than the cap allows (the checks
		// below refuse what inflates past the trailer or the cap).
		buf = into[:0:min(int64(cap(into)), maxBytes+1)]
	case into != nil:
		// A pooled buffer too small: its successor gets an eighth more,
		// so that objects of about one size share buffers.
		buf = make([]byte, 0, min(size+size/8, maxBytes+1))
	default:
		buf = make([]byte, 0, size)
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > maxBytes {
				return nil, fmt.Errorf("%w: inflates past %d bytes", ErrTooLarge, maxBytes)
			}
			next := min(2*int64(cap(buf)), maxBytes+1)
			if isize >= int64(len(buf)) && isize+1 < next {
				next = isize + 1
			}
			buf = slices.Grow(buf, int(next)-len(buf))
		}
		n, err := zr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if isize >= 0 && int64(len(buf)) > isize {
			// An object is one gzip member, whose trailer holds its size
			// (mod 2^32: larger objects are over the cap anyway). Past it,
			// the trailer lied: a bomb or a damaged object, refused now
			// rather than at the cap.
			return nil, fmt.Errorf("%w: inflates past the %d bytes its gzip trailer says (a gzip bomb, or a damaged object)", ErrCorrupt, isize)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if int64(len(buf)) > maxBytes {
		return nil, fmt.Errorf("%w: inflates past %d bytes", ErrTooLarge, maxBytes)
	}
	return buf, nil
}

// Batch is one decoded object: exactly one of Traces, Metrics or Logs is
// set, as Signal says.
type Batch struct {
	Signal  Signal
	Traces  ptrace.Traces
	Metrics pmetric.Metrics
	Logs    plog.Logs
}

// ItemCount returns the spans, data points or log records in the batch.
func (b Batch) ItemCount() int {
	switch b.Signal {
	case SignalTraces:
		return b.Traces.SpanCount()
	case SignalMetrics:
		return b.Metrics.DataPointCount()
	case SignalLogs:
		return b.Logs.LogRecordCount()
	}
	return 0
}

// Unmarshal decodes the protobuf of an Export*ServiceRequest of signal.
//
// Objects of the original tooling hold OTLP/JSON instead; they are told by
// their whole content, never by a first byte: protobuf can start like JSON
// (a request whose first resource message is 123 bytes long starts 0a 7b,
// "\n{"). An object is JSON when all of it is a JSON object that holds the
// signal's field (resourceSpans, resourceMetrics or resourceLogs, or their
// snake_case forms, which pdata reads too) or nothing at all: protobuf of
// telemetry never is (its tags and lengths are control characters outside
// JSON strings). Everything else is protobuf. Trying protobuf first would
// misread some JSON: protobuf skips unknown fields and groups, and an
// indented {"resourceSpans": [{}]} parses as a request of one empty
// resource.
func Unmarshal(signal Signal, raw []byte) (Batch, error) {
	b, _, err := unmarshal(signal, raw)
	return b, err
}

// unmarshal is Unmarshal, also telling whether raw was read as protobuf
// (which keeps no reference to raw: pdata copies strings and bytes).
func unmarshal(signal Signal, raw []byte) (_ Batch, protobuf bool, _ error) {
	isObject, isOTLP := otlpJSON(signal, raw)
	if isOTLP {
		b, err := unmarshalJSON(signal, raw)
		return b, false, err
	}
	b := Batch{Signal: signal}
	var err error
	switch signal {
	case SignalTraces:
		u := ptrace.ProtoUnmarshaler{}
		b.Traces, err = u.UnmarshalTraces(raw)
	case SignalMetrics:
		u := pmetric.ProtoUnmarshaler{}
		b.Metrics, err = u.UnmarshalMetrics(raw)
	case SignalLogs:
		u := plog.ProtoUnmarshaler{}
		b.Logs, err = u.UnmarshalLogs(raw)
	default:
		return b, false, fmt.Errorf("unknown signal %q", signal)
	}
	if err != nil {
		if isObject {
			camel, snake := jsonField(signal)
			return b, true, fmt.Errorf("%w: a JSON object without %q or %q: not an OTLP/JSON %s export request", ErrCorrupt, camel, snake, signal)
		}
		return b, true, fmt.Errorf("%w: invalid %s export request: %w", ErrCorrupt, signal, err)
	}
	return b, true, nil
}

// jsonField returns the top-level field of signal's OTLP/JSON export
// request, camelCase and snake_case.
func jsonField(signal Signal) (camel, snake string) {
	switch signal {
	case SignalTraces:
		return "resourceSpans", "resource_spans"
	case SignalMetrics:
		return "resourceMetrics", "resource_metrics"
	case SignalLogs:
		return "resourceLogs", "resource_logs"
	}
	return "", ""
}

// otlpJSON reports whether raw is a JSON object (after JSON blanks, all of
// it valid JSON) and whether that object is an OTLP/JSON export request of
// signal: it holds the signal's top-level field, or is empty (a request of
// nothing, which no protobuf is).
func otlpJSON(signal Signal, raw []byte) (isObject, isOTLP bool) {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return false, false
	}
	camel, snake := jsonField(signal)
	dec := json.NewDecoder(bytes.NewReader(t))
	if _, err := dec.Token(); err != nil { // the '{' json.Valid saw
		return true, false
	}
	if !dec.More() {
		return true, true
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return true, false
		}
		if key, _ := tok.(string); key == camel || key == snake {
			return true, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return true, false
		}
	}
	return true, false
}

func unmarshalJSON(signal Signal, raw []byte) (Batch, error) {
	b := Batch{Signal: signal}
	var err error
	switch signal {
	case SignalTraces:
		b.Traces, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	case SignalMetrics:
		b.Metrics, err = (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(raw)
	case SignalLogs:
		b.Logs, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(raw)
	default:
		return b, fmt.Errorf("unknown signal %q", signal)
	}
	if err != nil {
		return b, fmt.Errorf("%w: invalid %s export request (OTLP/JSON): %w", ErrCorrupt, signal, err)
	}
	return b, nil
}

// rawBuffers pools the buffers Decode inflates into (*[]byte): once an
// object is unmarshalled from protobuf its buffer is free (pdata copies
// what it keeps), and the next object inflates into it instead of into a
// fresh, zeroed allocation of megabytes. A buffer is about the size of an
// object decoded before (an eighth more); the pool holds about as many as
// objects are decoded at once, and the garbage collector empties it when
// idle.
var rawBuffers sync.Pool

// Decode inflates (bounded by maxBytes) and unmarshals one stored object of
// signal. It returns the batch and the uncompressed size. The batch keeps
// no reference to data or to the buffer it was inflated into.
func Decode(signal Signal, data []byte, maxBytes int64) (Batch, int, error) {
	bp, _ := rawBuffers.Get().(*[]byte)
	if bp == nil {
		bp = &[]byte{}
	}
	raw, err := decompress(data, maxBytes, *bp)
	if err != nil {
		rawBuffers.Put(bp)
		return Batch{Signal: signal}, 0, err
	}
	b, protobuf, err := unmarshal(signal, raw)
	if protobuf {
		*bp = raw[:0]
		rawBuffers.Put(bp)
	} // else OTLP/JSON: the buffer goes with the batch, whatever pdata kept of it
	return b, len(raw), err
}

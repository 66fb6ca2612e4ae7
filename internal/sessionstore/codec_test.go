package sessionstore

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, level := range []CompressionLevel{CompressionBestSpeed, CompressionBalanced, CompressionDefault, CompressionBestCompression} {
		enc, err := NewEncoder(level)
		require.NoError(t, err)

		td := testdata.GenerateTraces(50)
		e, err := enc.EncodeTraces(td)
		require.NoError(t, err)
		// The stored object is plain gzip of the protobuf an OTLP/HTTP client posts.
		zr, err := gzip.NewReader(bytes.NewReader(e.Data))
		require.NoError(t, err)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err)
		want, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		assert.Equal(t, want, raw)
		assert.Equal(t, len(raw), e.RawBytes)
		b, n, err := Decode(SignalTraces, e.Data, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, len(raw), n)
		require.NoError(t, ptracetest.CompareTraces(td, b.Traces))
		e.Release()

		md := testdata.GenerateMetrics(20)
		em, err := enc.EncodeMetrics(md)
		require.NoError(t, err)
		bm, _, err := Decode(SignalMetrics, em.Data, 1<<20)
		require.NoError(t, err)
		require.NoError(t, pmetrictest.CompareMetrics(md, bm.Metrics))
		assert.Equal(t, md.DataPointCount(), bm.ItemCount())

		ld := testdata.GenerateLogs(20)
		el, err := enc.EncodeLogs(ld)
		require.NoError(t, err)
		bl, _, err := Decode(SignalLogs, el.Data, 1<<20)
		require.NoError(t, err)
		require.NoError(t, plogtest.CompareLogs(ld, bl.Logs))
	}
	_, err := NewEncoder("fastest")
	require.Error(t, err)
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// CompressParts stores several export requests of one signal as one: the
// decoded object holds every part's resources, in order, and RawBytes counts
// them all; a part that fails to come fails the object.
func TestCompressPartsIsOneRequest(t *testing.T) {
	enc, err := NewEncoder(CompressionDefault)
	require.NoError(t, err)
	parts := []ptrace.Traces{testdata.GenerateTraces(3), testdata.GenerateTraces(5), testdata.GenerateTraces(1)}
	want := ptrace.NewTraces()
	raws := make([][]byte, len(parts))
	total := 0
	for i, td := range parts {
		td.ResourceSpans().At(0).Resource().Attributes().PutInt("part", int64(i))
		td.ResourceSpans().At(0).CopyTo(want.ResourceSpans().AppendEmpty())
		raws[i], err = (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		total += len(raws[i])
	}
	part := func(fail error) func(int) ([]byte, error) {
		return func(i int) ([]byte, error) {
			if i == 1 && fail != nil {
				return nil, fail
			}
			return raws[i], nil
		}
	}
	e, err := enc.CompressParts(len(raws), part(nil))
	require.NoError(t, err)
	assert.Equal(t, total, e.RawBytes)
	b, n, err := Decode(SignalTraces, e.Data, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, total, n)
	require.Equal(t, 9, b.ItemCount())
	require.NoError(t, ptracetest.CompareTraces(want, b.Traces))
	e.Release()

	boom := fmt.Errorf("marshal boom")
	_, err = enc.CompressParts(len(raws), part(boom))
	require.ErrorIs(t, err, boom)
}

func TestDecodeBadObjects(t *testing.T) {
	enc, err := NewEncoder(CompressionDefault)
	require.NoError(t, err)
	good, err := enc.EncodeTraces(testdata.GenerateTraces(20))
	require.NoError(t, err)

	tests := []struct {
		name    string
		r       io.Reader
		max     int64
		wantErr error
	}{
		{name: "empty", r: bytes.NewReader(nil), max: 1 << 20, wantErr: ErrCorrupt},
		{name: "not gzip", r: bytes.NewReader([]byte("{\"resourceSpans\": []}")), max: 1 << 20, wantErr: ErrCorrupt},
		{name: "truncated", r: bytes.NewReader(good.Data[:len(good.Data)/2]), max: 1 << 20, wantErr: ErrCorrupt},
		{name: "bad crc", r: bytes.NewReader(append(bytes.Clone(good.Data[:len(good.Data)-8]), 0, 0, 0, 0, 0, 0, 0, 0)), max: 1 << 20, wantErr: ErrCorrupt},
		{name: "gzip bomb", r: bytes.NewReader(gz(t, make([]byte, 64<<20))), max: 1 << 20, wantErr: ErrTooLarge},
		{name: "not protobuf", r: bytes.NewReader(gz(t, []byte{0xff, 0xff, 0xff, 0xff, 0xff})), max: 1 << 20, wantErr: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := io.ReadAll(tt.r)
			require.NoError(t, err)
			_, _, err = Decode(SignalTraces, data, tt.max)
			require.ErrorIs(t, err, tt.wantErr)
			// Decompress then Unmarshal agrees.
			raw, err := Decompress(data, tt.max)
			if err == nil {
				_, err = Unmarshal(SignalTraces, raw)
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}

	t.Run("lying size trailer", func(t *testing.T) {
		// ISIZE claims 4 GiB: the hint is capped, the output is still exact.
		data := bytes.Clone(good.Data)
		copy(data[len(data)-4:], []byte{0xff, 0xff, 0xff, 0xff})
		_, err := Decompress(data, 1<<20)
		require.ErrorIs(t, err, ErrCorrupt, "the trailer is checked too")
		raw, err := Decompress(good.Data, 1<<20)
		require.NoError(t, err)
		assert.Len(t, raw, good.RawBytes)
	})

	t.Run("exactly at the cap", func(t *testing.T) {
		payload := bytes.Repeat([]byte{0}, 0) // an empty request is valid protobuf
		_, n, err := Decode(SignalLogs, gz(t, payload), 0)
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		_, _, err = Decode(SignalTraces, good.Data, int64(good.RawBytes))
		require.NoError(t, err)
		_, _, err = Decode(SignalTraces, good.Data, int64(good.RawBytes-1))
		require.ErrorIs(t, err, ErrTooLarge)
	})
}

// allocatedBy returns the heap bytes f allocates.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// withISize returns a copy of a gzip stream whose trailer claims n bytes.
func withISize(gz []byte, n uint32) []byte {
	out := bytes.Clone(gz)
	binary.LittleEndian.PutUint32(out[len(out)-4:], n)
	return out
}

// TestDecompressBombs: a gzip bomb is refused as early as its bytes allow
// and never costs a buffer larger than what was really inflated: a trailer
// over the cap is refused without inflating; a trailer that lies (small or
// large) is caught by the hard cap while inflating, or by the gzip check.
func TestDecompressBombs(t *testing.T) {
	const maxBytes = 64 << 20
	bomb := gz(t, make([]byte, 256<<20)) // 256 MiB of zeros, ~256 KiB stored

	var err error
	n := allocatedBy(func() { _, err = Decompress(bomb, maxBytes) })
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "268435456", "names the size the trailer claims")
	assert.Less(t, n, uint64(1<<20), "refused by its trailer, before inflating: allocated %d bytes", n)

	// The trailer says 1000 bytes: inflating finds out as soon as the
	// output passes 1000 bytes (an object is one gzip member, whose
	// trailer holds its size), not at the cap.
	n = allocatedBy(func() { _, err = Decompress(withISize(bomb, 1000), maxBytes) })
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "1000")
	assert.Less(t, n, uint64(1<<20), "allocated %d bytes", n)

	// The trailer claims 60 MiB of 64 KiB of incompressible data: no 60 MiB
	// buffer for it.
	random := make([]byte, 64<<10)
	_, _ = crand.Read(random)
	n = allocatedBy(func() { _, err = Decompress(withISize(gz(t, random), 60<<20), maxBytes) })
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Less(t, n, uint64(4<<20), "allocated %d bytes for 64 KiB", n)

	// An honest object is still one allocation of its size.
	out, err := Decompress(gz(t, random), maxBytes)
	require.NoError(t, err)
	assert.Equal(t, random, out)
}

// TestDecodeReusesNothingItReturns: Decode inflates into pooled buffers,
// and a batch it returned stays intact however many objects are decoded
// after it (pdata copies the strings and bytes it keeps), OTLP/JSON ones
// too.
func TestDecodeReusesNothingItReturns(t *testing.T) {
	// Objects of one size, all bytes different: a batch that kept a
	// reference into a reused buffer would read another object's bytes.
	object := func(fill byte) (ptrace.Traces, []byte) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", strings.Repeat(string('a'+fill%26), 64))
		for i := range 200 {
			sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetName(strings.Repeat(string('A'+fill%26), 32))
			sp.SetTraceID(pcommon.TraceID(bytes.Repeat([]byte{fill + 1}, 16)))
			sp.SetSpanID(pcommon.SpanID{fill + 1, byte(i), 1})
			sp.Attributes().PutEmptyBytes("payload").FromRaw(bytes.Repeat([]byte{fill}, 100))
			sp.Attributes().PutStr("text", strings.Repeat(string('0'+fill%10), 100))
		}
		raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		return td, raw
	}
	var wants []ptrace.Traces
	var got []Batch
	for fill := range byte(8) {
		td, raw := object(fill)
		b, n, err := Decode(SignalTraces, gz(t, raw), 1<<20)
		require.NoError(t, err)
		require.Equal(t, len(raw), n)
		wants, got = append(wants, td), append(got, b)
		// And an OTLP/JSON object (the original tooling's) in between.
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		b, _, err = Decode(SignalTraces, gz(t, js), 1<<20)
		require.NoError(t, err)
		wants, got = append(wants, td), append(got, b)
	}
	for i := range got {
		require.NoError(t, ptracetest.CompareTraces(wants[i], got[i].Traces), "batch %d", i)
	}
}

// TestDecompressIntoBuffer: inflating into a buffer already there (Decode's
// pooled one) allocates no output buffer for an honest object, and fills
// no more of it than the cap allows, whatever its size.
func TestDecompressIntoBuffer(t *testing.T) {
	random := make([]byte, 1<<20)
	_, _ = crand.Read(random)
	data := gz(t, random)
	into := make([]byte, 0, 2<<20)
	var out []byte
	var err error
	n := allocatedBy(func() { out, err = decompress(data, 64<<20, into) })
	require.NoError(t, err)
	assert.Equal(t, random, out)
	assert.Equal(t, &into[:1][0], &out[0], "inflated into the buffer given")
	assert.Less(t, n, uint64(256<<10), "allocated %d bytes for a 1 MiB object", n)

	// A buffer too small is left alone: a new one, the object's size.
	out, err = decompress(data, 64<<20, make([]byte, 0, 1000))
	require.NoError(t, err)
	assert.Equal(t, random, out)

	// 4 MiB of zeros whose trailer claims 1 MiB - 1 (under the 1 MiB cap),
	// into a buffer of 8 MiB: refused once past the trailer's size, never
	// written past the cap.
	const maxBytes = 1 << 20
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = 0xee
	}
	_, err = decompress(withISize(gz(t, make([]byte, 4<<20)), maxBytes-1), maxBytes, big[:0])
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, bytes.Repeat([]byte{0xee}, len(big)-(maxBytes+1)), big[maxBytes+1:], "written past the cap")
	// A stream cut short (its last bytes are no trailer): refused, and
	// nothing written past the cap either.
	cut := gz(t, make([]byte, 4<<20))
	_, err = decompress(cut[:len(cut)-8], maxBytes, big[:0])
	require.Error(t, err)
	assert.Equal(t, bytes.Repeat([]byte{0xee}, len(big)-(maxBytes+1)), big[maxBytes+1:], "written past the cap")
}

// oneItem returns an export request of signal holding one resource with a
// service.name of n bytes and one span, data point or log record, and its
// protobuf.
func oneItem(t *testing.T, signal Signal, n int) (Batch, []byte) {
	t.Helper()
	name := strings.Repeat("s", n)
	b := Batch{Signal: signal}
	var raw []byte
	var err error
	switch signal {
	case SignalTraces:
		b.Traces = ptrace.NewTraces()
		rs := b.Traces.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", name)
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("op")
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		raw, err = (&ptrace.ProtoMarshaler{}).MarshalTraces(b.Traces)
	case SignalMetrics:
		b.Metrics = pmetric.NewMetrics()
		rm := b.Metrics.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", name)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("m")
		m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(7)
		raw, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(b.Metrics)
	case SignalLogs:
		b.Logs = plog.NewLogs()
		rl := b.Logs.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", name)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
		raw, err = (&plog.ProtoMarshaler{}).MarshalLogs(b.Logs)
	}
	require.NoError(t, err)
	return b, raw
}

// requireSameBatch fails unless got holds what want holds.
func requireSameBatch(t *testing.T, want, got Batch) {
	t.Helper()
	require.Equal(t, want.Signal, got.Signal)
	switch want.Signal {
	case SignalTraces:
		require.NoError(t, ptracetest.CompareTraces(want.Traces, got.Traces))
	case SignalMetrics:
		require.NoError(t, pmetrictest.CompareMetrics(want.Metrics, got.Metrics))
	case SignalLogs:
		require.NoError(t, plogtest.CompareLogs(want.Logs, got.Logs))
	}
}

// TestUnmarshalProtobufThatLooksLikeJSON: protobuf is never read as JSON
// because of its first bytes. An export request whose first resource
// message is 123 bytes long starts 0a 7b ("\n{"); 09, 0a, 0d and 20 are
// JSON whitespace too. Every such object decodes as the protobuf it is.
func TestUnmarshalProtobufThatLooksLikeJSON(t *testing.T) {
	for _, sig := range Signals {
		t.Run(string(sig), func(t *testing.T) {
			starts := map[byte]bool{}
			// service.name from 0 to 200 bytes: the first resource
			// message grows past 123 bytes, byte by byte.
			for n := range 201 {
				want, raw := oneItem(t, sig, n)
				require.Equal(t, byte(0x0a), raw[0], "field 1, the first resource")
				starts[raw[1]] = true
				got, err := Unmarshal(sig, raw)
				require.NoError(t, err, "service.name of %d bytes: object starts % x", n, raw[:2])
				requireSameBatch(t, want, got)
				require.Equal(t, 1, got.ItemCount())
				// And through gzip, as stored.
				got, size, err := Decode(sig, gz(t, raw), 1<<20)
				require.NoError(t, err, "service.name of %d bytes: object starts % x", n, raw[:2])
				require.Equal(t, len(raw), size)
				requireSameBatch(t, want, got)
			}
			require.True(t, starts['{'], "some object starts 0a 7b")
			require.True(t, starts[0x80], "lengths of two bytes too")
		})
	}
}

// TestUnmarshalWhitespaceLengths: a first resource message of 9, 10, 13,
// 32 or 123 bytes (a length byte that is JSON whitespace or '{'), before a
// resource that holds the items.
func TestUnmarshalWhitespaceLengths(t *testing.T) {
	for _, sig := range Signals {
		for _, length := range []byte{0x09, 0x0a, 0x0d, 0x20, 0x7b} {
			t.Run(fmt.Sprintf("%s/%#02x", sig, length), func(t *testing.T) {
				want, _ := oneItem(t, sig, 10)
				// A first resource message of only a schema URL (1a, its
				// length, its bytes) and an empty resource (0a 00).
				url := strings.Repeat("u", int(length)-4)
				var raw []byte
				var err error
				switch sig {
				case SignalTraces:
					rss := want.Traces.ResourceSpans()
					rss.AppendEmpty()
					rss.At(0).CopyTo(rss.At(1))
					rss.At(0).Resource().Attributes().Clear()
					rss.At(0).ScopeSpans().RemoveIf(func(ptrace.ScopeSpans) bool { return true })
					rss.At(0).SetSchemaUrl(url)
					raw, err = (&ptrace.ProtoMarshaler{}).MarshalTraces(want.Traces)
				case SignalMetrics:
					rms := want.Metrics.ResourceMetrics()
					rms.AppendEmpty()
					rms.At(0).CopyTo(rms.At(1))
					rms.At(0).Resource().Attributes().Clear()
					rms.At(0).ScopeMetrics().RemoveIf(func(pmetric.ScopeMetrics) bool { return true })
					rms.At(0).SetSchemaUrl(url)
					raw, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(want.Metrics)
				case SignalLogs:
					rls := want.Logs.ResourceLogs()
					rls.AppendEmpty()
					rls.At(0).CopyTo(rls.At(1))
					rls.At(0).Resource().Attributes().Clear()
					rls.At(0).ScopeLogs().RemoveIf(func(plog.ScopeLogs) bool { return true })
					rls.At(0).SetSchemaUrl(url)
					raw, err = (&plog.ProtoMarshaler{}).MarshalLogs(want.Logs)
				}
				require.NoError(t, err)
				require.Equal(t, []byte{0x0a, length, 0x1a}, raw[:3])
				got, _, err := Decode(sig, gz(t, raw), 1<<20)
				require.NoError(t, err, "object starts % x", raw[:4])
				requireSameBatch(t, want, got)
				require.Equal(t, 1, got.ItemCount())
			})
		}
	}
}

// TestUnmarshalOriginalToolingJSON: objects of the original tooling hold
// OTLP/JSON (camelCase or snake_case, compact or indented, after blanks)
// and are read as such; so is JSON that happens to parse as protobuf too
// (an indented {"resourceSpans": [{}]} is a valid protobuf of unknown
// fields).
func TestUnmarshalOriginalToolingJSON(t *testing.T) {
	for _, sig := range Signals {
		want, _ := oneItem(t, sig, 84)
		var js []byte
		var err error
		switch sig {
		case SignalTraces:
			js, err = (&ptrace.JSONMarshaler{}).MarshalTraces(want.Traces)
		case SignalMetrics:
			js, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(want.Metrics)
		case SignalLogs:
			js, err = (&plog.JSONMarshaler{}).MarshalLogs(want.Logs)
		}
		require.NoError(t, err)
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, js, "", "  "))
		field := map[Signal]string{SignalTraces: "resourceSpans", SignalMetrics: "resourceMetrics", SignalLogs: "resourceLogs"}[sig]
		snake := map[Signal]string{SignalTraces: "resource_spans", SignalMetrics: "resource_metrics", SignalLogs: "resource_logs"}[sig]
		for name, doc := range map[string][]byte{
			"compact":        js,
			"indented":       indented.Bytes(),
			"leading blanks": append([]byte(" \t\r\n"), js...),
			"snake_case":     bytes.Replace(js, []byte(`"`+field+`"`), []byte(`"`+snake+`"`), 1),
		} {
			t.Run(string(sig)+"/"+name, func(t *testing.T) {
				got, _, err := Decode(sig, gz(t, doc), 1<<20)
				require.NoError(t, err)
				requireSameBatch(t, want, got)
			})
		}
	}
	got, err := Unmarshal(SignalTraces, []byte("{\n  \"resourceSpans\": [\n    {}\n  ]\n}"))
	require.NoError(t, err)
	assert.Equal(t, 1, got.Traces.ResourceSpans().Len(), "read as the JSON it is")

	// An empty object is a request of nothing (no protobuf is one); an
	// object without the signal's field is no request of it.
	for _, sig := range Signals {
		got, err := Unmarshal(sig, []byte(" {}\n"))
		require.NoError(t, err)
		assert.Zero(t, got.ItemCount())
	}
	_, err = Unmarshal(SignalTraces, []byte(`{"resourceLogs": []}`))
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), `a JSON object without "resourceSpans" or "resource_spans"`)
	_, err = Unmarshal(SignalMetrics, []byte(`{"resourceMetrics": [`))
	require.ErrorIs(t, err, ErrCorrupt, "cut off: neither JSON nor protobuf")
}

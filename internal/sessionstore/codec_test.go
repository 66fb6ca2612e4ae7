package sessionstore

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, level := range []CompressionLevel{CompressionBestSpeed, CompressionDefault, CompressionBestCompression} {
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

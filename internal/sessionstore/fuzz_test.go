package sessionstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
)

// `make test` runs these on their seed corpora; `make fuzz` runs each for
// a while.

// FuzzDecode: whatever the bytes, decoding a stored object returns a batch
// or an error that is ErrCorrupt or ErrTooLarge, never panics and never
// inflates past the cap.
func FuzzDecode(f *testing.F) {
	enc, err := NewEncoder(CompressionBestSpeed)
	if err != nil {
		f.Fatal(err)
	}
	good, err := enc.EncodeTraces(testdata.GenerateTraces(3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(good.Data))
	// Protobuf that starts like JSON ("\n{": a first resource message of
	// 123 bytes), and the original tooling's gzipped OTLP/JSON.
	brace := ptrace.NewTraces()
	brace.ResourceSpans().AppendEmpty().SetSchemaUrl(strings.Repeat("u", 119))
	braceRaw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(brace)
	if err != nil || !bytes.HasPrefix(braceRaw, []byte("\n{")) {
		f.Fatalf("% x, %v", braceRaw[:2], err)
	}
	f.Add(gzipBytes(braceRaw))
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(testdata.GenerateTraces(2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gzipBytes(js))
	f.Add(gzipBytes([]byte("{\n  \"resourceSpans\": [\n    {}\n  ]\n}")))
	f.Add(good.Data[:len(good.Data)/2])
	f.Add([]byte{})
	f.Add([]byte("not gzip"))
	f.Add(gzipBytes(make([]byte, 1<<20))) // a bomb
	const maxBytes = 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sig := range Signals {
			b, n, err := Decode(sig, data, maxBytes)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s: error is neither corrupt nor too large: %v", sig, err)
				}
				continue
			}
			if n > maxBytes {
				t.Fatalf("%s: inflated %d bytes past the cap %d", sig, n, maxBytes)
			}
			if b.Signal != sig || b.ItemCount() < 0 {
				t.Fatalf("%s: bad batch", sig)
			}
		}
	})
}

// gzipBytes returns b gzipped.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzParseObjectKey: a key that parses is exactly the key its parts
// render to, a valid key of a valid session; anything else is refused.
func FuzzParseObjectKey(f *testing.F) {
	f.Add(NewObjectKey("s1", SignalTraces, time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)).String())
	f.Add("sessions/s1/raw/2026-11-28/23/traces-1795906800000-0b9e2d41-7c3f-4a6b-8d10-2f4e6a8c0e1f.otlp.gz")
	f.Add("sessions/../raw/2026-11-28/23/traces-1795906800000-x.otlp.gz")
	f.Add("sessions/s1/metadata.json")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		k, err := ParseObjectKey(key)
		if err != nil {
			return
		}
		if got := k.String(); got != key {
			t.Fatalf("parsed %q renders as %q", key, got)
		}
		if err := ValidateKey(key); err != nil {
			t.Fatalf("parsed %q is not a valid key: %v", key, err)
		}
		if err := ValidateSessionID(k.SessionID); err != nil {
			t.Fatalf("parsed %q has an invalid session id: %v", key, err)
		}
		if !k.Signal.Valid() {
			t.Fatalf("parsed %q has signal %q", key, k.Signal)
		}
	})
}

// FuzzValidateSessionID: an accepted id is a safe single path segment on
// every backend; a refused one is named in the error.
func FuzzValidateSessionID(f *testing.F) {
	for _, id := range []string{"a", "capture-20261128T231000Z-1a2b3c4d", "../x", "a/b", "", "..", "CON", "run1.", "a\x00b", strings.Repeat("x", 129)} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateSessionID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalidSessionID) || !IsPermanent(err) {
				t.Fatalf("%q: error is not a permanent ErrInvalidSessionID: %v", id, err)
			}
			return
		}
		if len(id) == 0 || len(id) > MaxSessionIDLen || strings.ContainsAny(id, "/\\\x00") || id == "." || id == ".." || strings.HasSuffix(id, ".") {
			t.Fatalf("%q accepted", id)
		}
		if err := ValidateKey(MetadataKey(id)); err != nil {
			t.Fatalf("%q accepted but its metadata key is invalid: %v", id, err)
		}
	})
}

// FuzzMergeWriters: whatever a writer file holds, reading a session's
// writers and merging them never panics; the file is left out as corrupt
// or merged, and the merge keeps the other writers' counts, counts nothing
// negative and can be written as metadata.json and read back.
func FuzzMergeWriters(f *testing.F) {
	for _, tt := range hostileWriterFiles {
		f.Add([]byte(tt.data))
	}
	good, err := json.Marshal(goodView())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	st, err := OpenFilesystem(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = checkHostileWriter(t, st, data)
	})
}

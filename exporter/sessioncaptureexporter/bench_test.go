package sessioncaptureexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// benchSpans is the batch size of the write-path benchmarks: the exporter's
// default batch target.
const benchSpans = 8192

// cpuMeter measures the process's CPU time over a benchmark's loop, so
// that a write path that waits for the disk (fsync) can be told apart from
// one that costs more CPU: spans/s counts the wait, cpu-ns/span does not.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	start, ok := processCPU()
	return cpuMeter{start: start, ok: ok}
}

// report adds the CPU per span since startCPU to b's results.
func (m cpuMeter) report(b *testing.B, spans int) {
	end, ok := processCPU()
	if !m.ok || !ok || spans <= 0 {
		return
	}
	b.ReportMetric(float64(end-m.start)/float64(spans), "cpu-ns/span")
}

// benchBatches returns a few distinct batches that look like production
// traffic.
func benchBatches(n int) []ptrace.Traces {
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	out := make([]ptrace.Traces, n)
	for b := range out {
		out[b] = sessiontest.RealisticTraces(uint64(b), benchSpans, base.Add(time.Duration(b)*time.Minute))
	}
	return out
}

func cloneBatches(in []ptrace.Traces) []ptrace.Traces {
	out := make([]ptrace.Traces, len(in))
	for i, td := range in {
		out[i] = ptrace.NewTraces()
		td.CopyTo(out[i])
	}
	return out
}

func rawSize(tb testing.TB, td ptrace.Traces) int {
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(tb, err)
	return len(data)
}

// BenchmarkBareMarshalGzip is the bound: marshal to OTLP protobuf and gzip,
// nothing else, at the exporter's default level, with the standard library
// and with klauspost/compress (the exporter's).
func BenchmarkBareMarshalGzip(b *testing.B) {
	batches := benchBatches(4)
	raw := rawSize(b, batches[0])
	level, err := sessionstore.GzipLevel(createDefaultConfig().(*Config).CompressionLevel)
	require.NoError(b, err)
	type gzWriter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	for _, impl := range []struct {
		name string
		new  func(io.Writer) gzWriter
	}{
		{"stdlib", func(w io.Writer) gzWriter { zw, _ := gzip.NewWriterLevel(w, level); return zw }},
		{"klauspost", func(w io.Writer) gzWriter { zw, _ := kgzip.NewWriterLevel(w, level); return zw }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var buf bytes.Buffer
			zw := impl.new(&buf)
			m := ptrace.ProtoMarshaler{}
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			var stored int
			i := 0
			cpu := startCPU()
			for b.Loop() {
				data, err := m.MarshalTraces(batches[i%len(batches)])
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				zw.Reset(&buf)
				if _, err := zw.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
				stored = buf.Len()
				i++
			}
			cpu.report(b, benchSpans*b.N)
			b.ReportMetric(float64(benchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(raw)/float64(stored), "ratio")
		})
	}
}

// BenchmarkCompressionLevels is what each compression_level costs and
// saves on realistic traces (compression only: the protobuf is marshalled
// once, before).
func BenchmarkCompressionLevels(b *testing.B) {
	raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(benchBatches(1)[0])
	require.NoError(b, err)
	for _, l := range []sessionstore.CompressionLevel{sessionstore.CompressionBestSpeed, sessionstore.CompressionBalanced, sessionstore.CompressionBestCompression} {
		b.Run(string(l), func(b *testing.B) {
			enc, err := sessionstore.NewEncoder(l)
			require.NoError(b, err)
			b.SetBytes(int64(len(raw)))
			var stored int
			for b.Loop() {
				e, err := enc.Compress(raw)
				if err != nil {
					b.Fatal(err)
				}
				stored = len(e.Data)
				e.Release()
			}
			b.ReportMetric(float64(len(raw))/float64(stored), "ratio")
		})
	}
}

// discardStore accepts every write and keeps nothing: the write path
// without storage I/O.
type discardStore struct{ sessionstore.Store }

func (discardStore) Put(context.Context, string, []byte) error { return nil }
func (discardStore) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, sessionstore.ErrNotFound
}
func (discardStore) List(context.Context, string) iter.Seq2[sessionstore.ObjectInfo, error] {
	return func(func(sessionstore.ObjectInfo, error) bool) {}
}
func (discardStore) ListAfter(context.Context, string, string) iter.Seq2[sessionstore.ObjectInfo, error] {
	return func(func(sessionstore.ObjectInfo, error) bool) {}
}
func (discardStore) Ping(context.Context) error                 { return nil }
func (discardStore) Close() error                               { return nil }
func (discardStore) String() string                             { return "discard" }
func (discardStore) KeyPrefix() string                          { return "" }
func (discardStore) Copy(context.Context, string, string) error { return nil }

// pushAccepted is the exporter's push of td as if accepted now through
// the front door (counted in the current session), without the queue.
func pushAccepted(e *captureExporter, ctx context.Context, td ptrace.Traces) error {
	st := stamp{accepted: e.now().UTC().Truncate(time.Millisecond), instance: e.instance, request: newRequestID()}
	st.session = e.sessions.accept(sessionstore.SignalTraces, int64(td.SpanCount()), nil)
	return pushRequest(e, &tracesSignal)(ctx, acceptRequest(&tracesSignal, td, st, 0, false, ""))
}

// BenchmarkWritePath is the exporter's push: pdata -> protobuf -> gzip ->
// store, with session bookkeeping, into a store that discards and into the
// filesystem store (temp file, fdatasync, rename, directory fsync per
// object) on the temporary directory's disk and, where /dev/shm is there,
// on memory (tmpfs: the same code, but the syncs cost nothing), which tells
// the store's own cost from the disk's.
func BenchmarkWritePath(b *testing.B) {
	batches := benchBatches(4)
	raw := rawSize(b, batches[0])
	backends := []string{"discard", "filesystem"}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		backends = append(backends, "filesystem-shm")
	}
	for _, backend := range backends {
		for _, parallel := range []bool{false, true} {
			name := backend
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				dir := b.TempDir()
				if backend == "filesystem-shm" {
					var err error
					dir, err = os.MkdirTemp("/dev/shm", "bench-write-path-")
					require.NoError(b, err)
					b.Cleanup(func() { _ = os.RemoveAll(dir) })
				}
				cfg.Store.Directory = filepath.Join(dir, "data")
				e, err := newCaptureExporter(exportertest.NewNopSettings(metadata.Type), cfg)
				require.NoError(b, err)
				if backend == "discard" {
					e.openStore = func(context.Context, *sessionstore.Config) (sessionstore.Store, error) { return discardStore{}, nil }
				}
				require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
				defer func() { require.NoError(b, e.Shutdown(context.Background())) }()
				b.SetBytes(int64(raw))
				b.ReportAllocs()
				ctx := context.Background()
				cpu := startCPU()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						mine := cloneBatches(batches)
						i := 0
						for pb.Next() {
							if err := pushAccepted(e, ctx, mine[i%len(mine)]); err != nil {
								b.Error(err)
								return
							}
							i++
						}
					})
				} else {
					i := 0
					for b.Loop() {
						if err := pushAccepted(e, ctx, batches[i%len(batches)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
				}
				cpu.report(b, benchSpans*b.N)
				b.ReportMetric(float64(benchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			})
		}
	}
}

// BenchmarkWritePathConsumers is the write path into the filesystem store
// with 1, 2 and 4 pushes at once, as sending_queue.num_consumers runs
// them: how capture grows with cores (2 on the project machine).
func BenchmarkWritePathConsumers(b *testing.B) {
	batches := benchBatches(4)
	raw := rawSize(b, batches[0])
	for _, consumers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("consumers=%d", consumers), func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Store.Directory = filepath.Join(b.TempDir(), "data")
			e, err := newCaptureExporter(exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, e.Shutdown(context.Background())) }()
			b.SetBytes(int64(raw))
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu := startCPU()
			for range consumers {
				mine := cloneBatches(batches)
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if err := pushAccepted(e, context.Background(), mine[i%int64(len(mine))]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			cpu.report(b, benchSpans*b.N)
			b.ReportMetric(float64(benchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

package sessioncaptureexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// benchSpans is the batch size of the write-path benchmarks: the exporter's
// default batch target.
const benchSpans = 8192

// benchBatches returns a few distinct batches that look like production
// traffic: several services, random ids, HTTP and DB attributes, some
// events, so that compression works as hard as on real data.
func benchBatches(n int) []ptrace.Traces {
	r := rand.New(rand.NewPCG(42, 7))
	services := []string{"frontend", "checkout", "payment", "cart", "product-catalog", "currency", "shipping", "email"}
	routes := []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/api/currency/convert", "/api/shipping/quote"}
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	out := make([]ptrace.Traces, n)
	for b := range out {
		td := ptrace.NewTraces()
		perService := benchSpans / len(services)
		for si, svc := range services {
			rs := td.ResourceSpans().AppendEmpty()
			ra := rs.Resource().Attributes()
			ra.PutStr("service.name", svc)
			ra.PutStr("service.version", "1.4."+fmt.Sprint(si))
			ra.PutStr("deployment.environment.name", "production")
			ra.PutStr("host.name", fmt.Sprintf("node-%02d", r.IntN(20)))
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("io.opentelemetry.http")
			for i := range perService {
				sp := ss.Spans().AppendEmpty()
				var tid [16]byte
				var sid [8]byte
				for k := range tid {
					tid[k] = byte(r.Uint32())
				}
				for k := range sid {
					sid[k] = byte(r.Uint32())
				}
				sp.SetTraceID(tid)
				sp.SetSpanID(sid)
				route := routes[r.IntN(len(routes))]
				sp.SetName("GET " + route)
				sp.SetKind(ptrace.SpanKindServer)
				start := base.Add(time.Duration(b*benchSpans+i) * time.Millisecond)
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(r.IntN(200_000)) * time.Microsecond)))
				a := sp.Attributes()
				a.PutStr("http.request.method", "GET")
				a.PutStr("http.route", route)
				a.PutInt("http.response.status_code", int64([]int{200, 200, 200, 201, 404, 500}[r.IntN(6)]))
				a.PutStr("url.path", route+"/"+fmt.Sprint(r.IntN(100000)))
				a.PutStr("server.address", svc+".shop.svc.cluster.local")
				a.PutInt("server.port", 8080)
				a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
				if r.IntN(10) == 0 {
					ev := sp.Events().AppendEmpty()
					ev.SetName("exception")
					ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
					ev.Attributes().PutStr("exception.type", "TimeoutError")
					ev.Attributes().PutStr("exception.message", "upstream timed out after 5s")
				}
			}
		}
		out[b] = td
	}
	return out
}

func rawSize(tb testing.TB, td ptrace.Traces) int {
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(tb, err)
	return len(data)
}

// BenchmarkBareMarshalGzip is the bound: marshal to OTLP protobuf and gzip,
// nothing else, with the standard library and with klauspost/compress.
func BenchmarkBareMarshalGzip(b *testing.B) {
	batches := benchBatches(4)
	raw := rawSize(b, batches[0])
	type gzWriter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	for _, impl := range []struct {
		name string
		new  func(io.Writer) gzWriter
	}{
		{"stdlib", func(w io.Writer) gzWriter { return gzip.NewWriter(w) }},
		{"klauspost", func(w io.Writer) gzWriter { return kgzip.NewWriter(w) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var buf bytes.Buffer
			zw := impl.new(&buf)
			m := ptrace.ProtoMarshaler{}
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			var stored int
			i := 0
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
			b.ReportMetric(float64(benchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(raw)/float64(stored), "ratio")
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
func (discardStore) Ping(context.Context) error { return nil }
func (discardStore) Close() error               { return nil }
func (discardStore) String() string             { return "discard" }

// BenchmarkWritePath is the exporter's push: pdata -> protobuf -> gzip ->
// store, with session bookkeeping, into a store that discards and into the
// filesystem store (temp file, fsync, rename per object).
func BenchmarkWritePath(b *testing.B) {
	batches := benchBatches(4)
	raw := rawSize(b, batches[0])
	for _, backend := range []string{"discard", "filesystem"} {
		for _, parallel := range []bool{false, true} {
			name := backend
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				cfg.Store.Directory = filepath.Join(b.TempDir(), "data")
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
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						i := 0
						for pb.Next() {
							if err := e.pushTraces(ctx, batches[i%len(batches)]); err != nil {
								b.Error(err)
								return
							}
							i++
						}
					})
				} else {
					i := 0
					for b.Loop() {
						if err := e.pushTraces(ctx, batches[i%len(batches)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
				}
				b.ReportMetric(float64(benchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			})
		}
	}
}

package sessionreplayreceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver/internal/metadata"
)

const (
	benchObjects = 16
	benchSpans   = 8192 // session_capture's default batch target
)

// benchData is the session the replay benchmarks read.
type benchData struct {
	store   sessionstore.Config
	objects [][]byte // the objects as stored, in capture order
	spans   int
	// shardSpans is how many spans shard 0 of 2 replays: objects go to
	// shards by uuid, so about half of them.
	shardSpans int
}

// benchSession writes a session of benchObjects realistic objects, gzipped
// at session_capture's default level, and reads them back as stored.
func benchSession(b *testing.B) benchData {
	b.Helper()
	cfg := sessionstore.NewDefaultConfig()
	cfg.Directory = filepath.Join(b.TempDir(), "data")
	st, err := sessionstore.OpenFilesystem(cfg.Directory)
	require.NoError(b, err)
	defer st.Close()
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(b, st, "bench", c0)
	w.Compression(sessionstore.CompressionBestSpeed) // session_capture's default level
	// the same objects in shard 0 every run
	w.Derived = true
	d := benchData{store: cfg}
	for i := range benchObjects {
		td := sessiontest.RealisticTraces(uint64(i), benchSpans, c0.Add(time.Duration(i)*time.Second))
		d.spans += td.SpanCount()
		w.Traces(c0.Add(time.Duration(i)*time.Second), td)
	}
	w.Complete()
	for o, err := range sessionstore.ListObjectsByTime(context.Background(), st, "bench") {
		require.NoError(b, err)
		data, err := sessionstore.ReadStored(context.Background(), st, o, 64<<20)
		require.NoError(b, err)
		d.objects = append(d.objects, data)
		if inShard(o.ID, 0, 2) {
			d.shardSpans += benchSpans
		}
	}
	require.Len(b, d.objects, benchObjects)
	return d
}

// countingTraces accepts and counts spans, doing nothing else.
type countingTraces struct{ spans atomic.Int64 }

func (c *countingTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.spans.Add(int64(td.SpanCount()))
	return nil
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReplayThroughput compares, on the same session of 16 objects of
// 8192 realistic spans stored at session_capture's default gzip level (one
// op = the whole session):
//   - bare: gunzip (klauspost) + unmarshal of the stored objects, in
//     memory, on one goroutine: the bound;
//   - session_replay: a full replay at speed 0 from the filesystem store into
//     a consumer that only counts: with the default settings, with
//     timestamps none (and other read_ahead values), relative with id
//     regeneration, and shard 0 of 2 (about half the objects);
//   - otlp_http: POSTing the same objects (Content-Encoding: gzip) to a
//     core OTLP receiver on loopback, how the original tooling replayed.
//
// Besides items/s each reports items/cpu-s, items per second of CPU time
// the process used (every goroutine, the garbage collector's too): run with
// -cpu 1,2 to see how replay grows with cores, and what one core gives.
func BenchmarkReplayThroughput(b *testing.B) {
	d := benchSession(b)
	// measure runs run b.N times and reports the items it delivered per
	// second of real time and per second of CPU time. Not b.Loop: a b.Loop
	// benchmark runs before -cpu's first GOMAXPROCS is set (Go runs it
	// whole in its first call), so -cpu 1,2 would measure its "-1" on every
	// core; a b.N loop is timed after.
	measure := func(b *testing.B, items func() int64, run func()) {
		b.ReportAllocs()
		before := items()
		cpu0 := cpuTime(b)
		b.ResetTimer()
		for range b.N {
			run()
		}
		b.StopTimer()
		n := float64(items() - before)
		b.ReportMetric(n/b.Elapsed().Seconds(), "items/s")
		b.ReportMetric(n/(cpuTime(b)-cpu0).Seconds(), "items/cpu-s")
	}

	b.Run("bare_gunzip_unmarshal", func(b *testing.B) {
		zr := new(gzip.Reader)
		var u ptrace.ProtoUnmarshaler
		var buf bytes.Buffer
		var n int64
		measure(b, func() int64 { return n }, func() {
			for _, o := range d.objects {
				require.NoError(b, zr.Reset(bytes.NewReader(o)))
				buf.Reset()
				_, err := buf.ReadFrom(zr)
				require.NoError(b, err)
				td, err := u.UnmarshalTraces(buf.Bytes())
				require.NoError(b, err)
				if td.SpanCount() == 0 {
					b.Fatal("empty")
				}
				n += int64(td.SpanCount())
			}
		})
	})

	defaults := createDefaultConfig().(*Config)
	n := 0 // receivers created: each replay is a receiver of its own
	for _, mode := range []struct {
		name   string
		config func(*Config)
		spans  int
	}{
		// speed 0, everything else as configured by default (timestamps
		// current: every timestamp shifted)
		{"session_replay/defaults", func(*Config) {}, d.spans},
		{"session_replay/none", func(cfg *Config) { cfg.Timestamps = TimestampsNone }, d.spans},
		{"session_replay/relative_regenerate_ids", func(cfg *Config) {
			cfg.Timestamps, cfg.RegenerateIDs = TimestampsRelative, true
		}, d.spans},
		// read_ahead bounds the objects read ahead, and decoded at once
		// (min(read_ahead, cores)).
		{"session_replay/none/read_ahead=1", func(cfg *Config) { cfg.Timestamps, cfg.ReadAhead = TimestampsNone, 1 }, d.spans},
		{"session_replay/none/read_ahead=16", func(cfg *Config) { cfg.Timestamps, cfg.ReadAhead = TimestampsNone, 16 }, d.spans},
		// One shard of a sharded replay lists every object and reads its
		// own: its items/s is what each replica of a sharded Job gives.
		{"session_replay/none/shard=0of2", func(cfg *Config) {
			cfg.Timestamps, cfg.Shard = TimestampsNone, ShardConfig{Index: 0, Count: 2}
		}, d.shardSpans},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var items int64
			measure(b, func() int64 { return items }, func() {
				cfg := *defaults
				cfg.Store = d.store
				cfg.Session = "bench"
				cfg.Speed = 0
				mode.config(&cfg)
				sink := &countingTraces{}
				set := receivertest.NewNopSettings(metadata.Type)
				n++
				set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprint("bench", n))
				r, err := NewFactory().CreateTraces(context.Background(), set, &cfg, sink)
				require.NoError(b, err)
				require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
				shared, err := receivers.Get(set, &cfg)
				require.NoError(b, err)
				<-shared.Unwrap().current().done
				require.NoError(b, r.Shutdown(context.Background()))
				if sink.spans.Load() != int64(mode.spans) {
					b.Fatalf("replayed %d spans, want %d", sink.spans.Load(), mode.spans)
				}
				items += sink.spans.Load()
			})
		})
	}

	b.Run("otlp_http_post", func(b *testing.B) {
		f := otlpreceiver.NewFactory()
		cfg := f.CreateDefaultConfig()
		endpoint := fmt.Sprintf("127.0.0.1:%d", otelcoltest.FreePort(b))
		require.NoError(b, confmap.NewFromStringMap(map[string]any{
			"protocols": map[string]any{"http": map[string]any{"endpoint": endpoint}},
		}).Unmarshal(cfg))
		sink := &countingTraces{}
		r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		require.NoError(b, err)
		require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(b, r.Shutdown(context.Background())) }()
		client := &http.Client{}
		url := "http://" + endpoint + "/v1/traces"
		measure(b, func() int64 { return sink.spans.Load() }, func() {
			for _, o := range d.objects {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(o))
				require.NoError(b, err)
				req.Header.Set("Content-Type", "application/x-protobuf")
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := client.Do(req)
				require.NoError(b, err)
				_ = resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			}
		})
	})
}

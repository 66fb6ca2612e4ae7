package sessionreplayreceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
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

// benchSession writes a session of benchObjects realistic objects and
// returns its store config, the stored objects and the span count.
func benchSession(b *testing.B) (sessionstore.Config, [][]byte, int) {
	b.Helper()
	cfg := sessionstore.NewDefaultConfig()
	cfg.Directory = filepath.Join(b.TempDir(), "data")
	st, err := sessionstore.OpenFilesystem(cfg.Directory)
	require.NoError(b, err)
	defer st.Close()
	c0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(b, st, "bench", c0)
	enc, err := sessionstore.NewEncoder(sessionstore.CompressionDefault)
	require.NoError(b, err)
	var objects [][]byte
	spans := 0
	for i := range benchObjects {
		td := sessiontest.RealisticTraces(uint64(i), benchSpans, c0.Add(time.Duration(i)*time.Second))
		spans += td.SpanCount()
		e, err := enc.EncodeTraces(td)
		require.NoError(b, err)
		objects = append(objects, bytes.Clone(e.Data))
		e.Release()
		w.Traces(c0.Add(time.Duration(i)*time.Second), td)
	}
	w.Complete()
	return cfg, objects, spans
}

// countingTraces accepts and counts spans, doing nothing else.
type countingTraces struct{ spans atomic.Int64 }

func (c *countingTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.spans.Add(int64(td.SpanCount()))
	return nil
}

// BenchmarkReplayThroughput compares, on the same session of 16 objects of
// 8192 realistic spans (one op = the whole session):
//   - bare: gunzip (klauspost) + unmarshal of the in-memory objects, the bound;
//   - session_replay: a full replay at speed 0 from the filesystem store into
//     a consumer that only counts (timestamps none, and relative with id
//     regeneration);
//   - otlp_http: POSTing the same objects (Content-Encoding: gzip) to a
//     core OTLP receiver on loopback, how the original tooling replayed.
func BenchmarkReplayThroughput(b *testing.B) {
	storeCfg, objects, spans := benchSession(b)
	report := func(b *testing.B) {
		b.ReportMetric(float64(spans)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	}

	b.Run("bare_gunzip_unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		zr := new(gzip.Reader)
		var u ptrace.ProtoUnmarshaler
		var buf bytes.Buffer
		for b.Loop() {
			for _, o := range objects {
				require.NoError(b, zr.Reset(bytes.NewReader(o)))
				buf.Reset()
				_, err := buf.ReadFrom(zr)
				require.NoError(b, err)
				td, err := u.UnmarshalTraces(buf.Bytes())
				require.NoError(b, err)
				if td.SpanCount() == 0 {
					b.Fatal("empty")
				}
			}
		}
		report(b)
	})

	for _, mode := range []struct {
		name      string
		ts        TimestampMode
		ids       bool
		readAhead int
	}{
		{"session_replay/none", TimestampsNone, false, 4},
		{"session_replay/relative_regenerate_ids", TimestampsRelative, true, 4},
		// How replay grows with cores: read_ahead bounds the objects
		// decoded at once (min(read_ahead, cores+1)).
		{"session_replay/none/read_ahead=1", TimestampsNone, false, 1},
		{"session_replay/none/read_ahead=16", TimestampsNone, false, 16},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				cfg := createDefaultConfig().(*Config)
				cfg.Store = storeCfg
				cfg.Session = "bench"
				cfg.Speed = 0
				cfg.Timestamps = mode.ts
				cfg.RegenerateIDs = mode.ids
				cfg.ReadAhead = mode.readAhead
				sink := &countingTraces{}
				set := receivertest.NewNopSettings(metadata.Type)
				n++
				set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprint("bench", n))
				r, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
				require.NoError(b, err)
				require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
				shared, err := receivers.Get(set, cfg)
				require.NoError(b, err)
				<-shared.Unwrap().done
				require.NoError(b, r.Shutdown(context.Background()))
				if sink.spans.Load() != int64(spans) {
					b.Fatalf("replayed %d spans, want %d", sink.spans.Load(), spans)
				}
			}
			report(b)
		})
	}

	b.Run("otlp_http_post", func(b *testing.B) {
		b.ReportAllocs()
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
		for b.Loop() {
			for _, o := range objects {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(o))
				require.NoError(b, err)
				req.Header.Set("Content-Type", "application/x-protobuf")
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := client.Do(req)
				require.NoError(b, err)
				_ = resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			}
		}
		report(b)
	})
}

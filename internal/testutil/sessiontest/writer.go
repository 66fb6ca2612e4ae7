package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Writer builds a session object by object with chosen capture times, the
// way session_capture would store it, for replay tests.
type Writer struct {
	t    testing.TB
	st   sessionstore.Store
	enc  *sessionstore.Encoder
	Meta *sessionstore.Metadata
	Keys []string
	// Derived makes the uuids of the objects written from now on derived
	// from the session and the object's place in it instead of random:
	// the same session gets the same keys, and shards, in every run.
	Derived bool
}

// NewWriter starts session id, opened at start.
func NewWriter(t testing.TB, st sessionstore.Store, id string, start time.Time) *Writer {
	t.Helper()
	enc, err := sessionstore.NewEncoder(sessionstore.CompressionBestSpeed)
	require.NoError(t, err)
	return &Writer{t: t, st: st, enc: enc, Meta: sessionstore.NewMetadata(id, sessionstore.SessionTypeCapture, start, "sessiontest")}
}

// Compression makes the objects written from now on gzipped at level
// (best_speed, session_capture's default, until then).
func (w *Writer) Compression(level sessionstore.CompressionLevel) {
	w.t.Helper()
	enc, err := sessionstore.NewEncoder(level)
	require.NoError(w.t, err)
	w.enc = enc
}

func (w *Writer) put(signal sessionstore.Signal, at time.Time, e *sessionstore.Encoded, items int) string {
	w.t.Helper()
	defer e.Release()
	key := sessionstore.NewObjectKey(w.Meta.SessionID, signal, at)
	if w.Derived {
		key = sessionstore.DerivedObjectKey(w.Meta.SessionID, signal, at, []byte(strconv.Itoa(len(w.Keys))))
	}
	require.NoError(w.t, w.st.Put(context.Background(), key.String(), e.Data))
	w.Meta.Add(signal, key.CaptureTime, int64(items), int64(e.RawBytes), int64(len(e.Data)))
	w.Keys = append(w.Keys, key.String())
	return key.String()
}

// Traces stores td as captured at at and returns its key.
func (w *Writer) Traces(at time.Time, td ptrace.Traces) string {
	w.t.Helper()
	e, err := w.enc.EncodeTraces(td)
	require.NoError(w.t, err)
	w.Meta.ExtendEventTime(sessionstore.TracesEventRange(td))
	return w.put(sessionstore.SignalTraces, at, e, td.SpanCount())
}

// Metrics stores md as captured at at and returns its key.
func (w *Writer) Metrics(at time.Time, md pmetric.Metrics) string {
	w.t.Helper()
	e, err := w.enc.EncodeMetrics(md)
	require.NoError(w.t, err)
	w.Meta.ExtendEventTime(sessionstore.MetricsEventRange(md))
	return w.put(sessionstore.SignalMetrics, at, e, md.DataPointCount())
}

// Logs stores ld as captured at at and returns its key.
func (w *Writer) Logs(at time.Time, ld plog.Logs) string {
	w.t.Helper()
	e, err := w.enc.EncodeLogs(ld)
	require.NoError(w.t, err)
	w.Meta.ExtendEventTime(sessionstore.LogsEventRange(ld))
	return w.put(sessionstore.SignalLogs, at, e, ld.LogRecordCount())
}

// Raw stores arbitrary bytes under a valid key of signal (for bad-object
// tests) and returns the key; the bytes are not counted.
func (w *Writer) Raw(signal sessionstore.Signal, at time.Time, data []byte) string {
	w.t.Helper()
	key := sessionstore.NewObjectKey(w.Meta.SessionID, signal, at).String()
	require.NoError(w.t, w.st.Put(context.Background(), key, data))
	return key
}

// Complete writes metadata.json with status completed.
func (w *Writer) Complete() *sessionstore.Metadata {
	w.t.Helper()
	w.Meta.Status = sessionstore.StatusCompleted
	end := w.Meta.StartTime
	for _, s := range w.Meta.Signals {
		if s.LastCaptureTime != nil && s.LastCaptureTime.After(end) {
			end = *s.LastCaptureTime
		}
	}
	w.Meta.EndTime = &end
	require.NoError(w.t, sessionstore.WriteMetadata(context.Background(), w.st, w.Meta))
	return w.Meta
}

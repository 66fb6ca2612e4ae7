package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The exporters the pipelines see are front doors to exporterhelper: each
// drops the request while the capture is paused (control API), else counts
// it accepted in the session it belongs to and hands it on with its stamp.
// The sending queue's refusal takes the count back (the sender sees the
// error: nothing was accepted), or, with backpressure: drop, counts the
// request dropped (the sender sees success).
type (
	tracesDoor struct {
		exporter.Traces
		e *captureExporter
	}
	metricsDoor struct {
		exporter.Metrics
		e *captureExporter
	}
	logsDoor struct {
		exporter.Logs
		e *captureExporter
	}
)

func (d tracesDoor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return accept(ctx, d.e, &tracesSignal, td, d.Traces.ConsumeTraces)
}

func (d metricsDoor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return accept(ctx, d.e, &metricsSignal, md, d.Metrics.ConsumeMetrics)
}

func (d logsDoor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return accept(ctx, d.e, &logsSignal, ld, d.Logs.ConsumeLogs)
}

// Shutdown tells the exporter that the collector stops before the sending
// queue drains: from then on retries are bounded by shutdown_timeout.
func (d tracesDoor) Shutdown(ctx context.Context) error {
	d.e.beginStopping()
	return d.Traces.Shutdown(ctx)
}

func (d metricsDoor) Shutdown(ctx context.Context) error {
	d.e.beginStopping()
	return d.Metrics.Shutdown(ctx)
}

func (d logsDoor) Shutdown(ctx context.Context) error {
	d.e.beginStopping()
	return d.Logs.Shutdown(ctx)
}

// stampKey carries a request's stamp from accept to the request converter.
type stampKey struct{}

// accept is the front door of one signal.
func accept[D, R any](ctx context.Context, e *captureExporter, sig *signalOps[D, R], data D, next func(context.Context, D) error) error {
	n := sig.count(data)
	if e.gate.drop(sig.signal, n) || n == 0 {
		return nil // paused, or nothing to store
	}
	drop := e.cfg.Backpressure == BackpressureDrop
	if e.sessions == nil {
		if drop {
			e.dropped(sig.signal, "", int64(n), nil, errNotStarted)
			return nil
		}
		return errNotStarted
	}
	own, routed := int64(n), map[string]int64(nil)
	if attr := e.cfg.Session.FromAttribute; attr != "" {
		routed = itemsByRoute(data, sig, attr)
		own = routed[""]
		delete(routed, "")
	}
	st := stamp{
		accepted: e.now().UTC().Truncate(time.Millisecond),
		instance: e.instance,
		request:  newRequestID(),
	}
	st.session = e.sessions.accept(sig.signal, own, routed)
	rolling := e.rec != nil && st.session == e.cfg.Session.ID && own > 0
	if rolling {
		e.rec.accepted(sig.signal, st.accepted, own)
	}
	err := next(context.WithValue(ctx, stampKey{}, st), data)
	var fated *fatedError
	switch {
	case err == nil:
	case errors.As(err, &fated):
		// Recorded lost (only without a queue, which drop does not allow).
	case drop:
		e.dropped(sig.signal, st.session, own, routed, err)
		if rolling {
			e.rec.settled(sig.signal, st.accepted, own, fateDroppedAtDoor)
		}
	default:
		e.sessions.refuse(st.session, sig.signal, own, routed)
		if rolling {
			e.rec.settled(sig.signal, st.accepted, own, fateRefused)
		}
	}
	if drop {
		return nil
	}
	return err
}

var errNotStarted = errors.New("session_capture: not started")

// fatedError is an error of a push that recorded the batch's fate (lost):
// without a sending queue it reaches the sender, and the items stay
// counted, as lost.
type fatedError struct{ err error }

func (e *fatedError) Error() string { return e.err.Error() }
func (e *fatedError) Unwrap() error { return e.err }

// convertRequest makes the exporterhelper request of accepted data.
func convertRequest[D, R any](e *captureExporter, sig *signalOps[D, R]) xexporterhelper.RequestConverterFunc[D] {
	limit, bySize := e.chunkLimit()
	return func(ctx context.Context, data D) (xexporterhelper.Request, error) {
		st, ok := ctx.Value(stampKey{}).(stamp)
		if !ok { // not through the front door: accepted now, into the current session
			st = stamp{accepted: e.now().UTC().Truncate(time.Millisecond), instance: e.instance, request: newRequestID()}
		}
		return acceptRequest(sig, data, st, limit, bySize, e.cfg.Session.FromAttribute), nil
	}
}

// chunkLimit is the size above which an accepted request is cut into
// pieces: the batch's max_size (in its sizer's unit), or 0 without one.
func (e *captureExporter) chunkLimit() (int, bool) {
	if !e.cfg.QueueConfig.HasValue() {
		return 0, false
	}
	q := e.cfg.QueueConfig.Get()
	if !q.Batch.HasValue() {
		return 0, false
	}
	b := q.Batch.Get()
	return int(b.MaxSize), b.Sizer == exporterhelper.RequestSizerTypeBytes
}

// newRequestID returns a random non-zero request id.
func newRequestID() uint64 {
	for {
		if id := rand.Uint64(); id != 0 {
			return id
		}
	}
}

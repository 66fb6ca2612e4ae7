package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// deliver hands one unit (an object, or a piece of one) to its pipeline
// through the receivers' one delivery loop, copies times (each copy with
// its own ids and service.instance.id), each as one request or, above
// max_request_items or max_request_bytes, as several (split.go), one after
// another: every attempt gets the object decoded afresh, cut into its
// piece, transformed and cut into requests the same way (the first attempt
// of the last copy takes the prefetched batch itself), so a retry sends
// what was stored. With the default retry_on_failure the replay waits for
// the pipeline, it never drops; a permanent error drops the request
// (counted). It returns the items accepted.
func (run *replayRun) deliver(ctx context.Context, u unit, sh *shifter, pass idKey) (int, error) {
	f, original := u.f, u.batch()
	copies := run.cfg.Copies
	accepted := 0
	for c := range copies {
		s := sh
		if c > 0 && sh != nil {
			s = &shifter{delta: sh.delta} // the first copy's records the events seen
		}
		ids := run.copyIDs(pass, c)
		requests := func(a delivery.Attempt) ([]sessionstore.Batch, error) {
			var b sessionstore.Batch
			switch {
			case a.N == 0 && c == copies-1:
				b = original
			case a.N == 0:
				b = cloneBatch(original)
			default:
				var err error
				if b, err = run.decode(f.obj, f.compressed); err != nil {
					return nil, err // decoded fine the first time: cannot happen
				}
				if u.piece.key >= 0 {
					b = pieceOf(b, u.piece.key)
				}
				if s != nil {
					s = &shifter{delta: s.delta}
				}
			}
			run.r.transform(b, s, ids)
			if copies > 1 {
				setInstance(b, c)
			}
			return split(b, run.cfg.MaxRequestItems, int64(run.cfg.MaxRequestBytes)), nil
		}
		n, err := run.send(ctx, f.obj, requests)
		accepted += n
		if err != nil {
			return accepted, err
		}
	}
	return accepted, nil
}

// send delivers the requests requests(attempt) makes, one after another;
// a retry of one asks for all afresh and sends its own again.
func (run *replayRun) send(ctx context.Context, obj sessionstore.Object, requests func(delivery.Attempt) ([]sessionstore.Batch, error)) (int, error) {
	first, err := requests(delivery.Attempt{})
	if err != nil {
		return 0, err
	}
	key := zap.String("key", obj.Key)
	accepted := 0
	for i := range first {
		request := func(a delivery.Attempt) (sessionstore.Batch, error) {
			if a.N == 0 {
				return first[i], nil
			}
			again, err := requests(a)
			if err != nil {
				return sessionstore.Batch{}, err
			}
			return again[i], nil
		}
		var out delivery.Outcome
		switch obj.Signal {
		case sessionstore.SignalTraces:
			out, err = run.r.delivery.Traces(ctx, func(a delivery.Attempt) (ptrace.Traces, error) { b, err := request(a); return b.Traces, err }, key)
		case sessionstore.SignalMetrics:
			out, err = run.r.delivery.Metrics(ctx, func(a delivery.Attempt) (pmetric.Metrics, error) { b, err := request(a); return b.Metrics, err }, key)
		case sessionstore.SignalLogs:
			out, err = run.r.delivery.Logs(ctx, func(a delivery.Attempt) (plog.Logs, error) { b, err := request(a); return b.Logs, err }, key)
		}
		run.tally.droppedItems(out.Dropped)
		accepted += out.Accepted
		if err != nil {
			return accepted, err
		}
	}
	return accepted, nil
}

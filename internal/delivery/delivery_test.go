package delivery

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a Deliverer with its telemetry and the status it reported.
type rig struct {
	d      *Deliverer
	tel    *componenttest.Telemetry
	status *statustest.Host
}

func newRig(t *testing.T, retry configretry.BackOffConfig) *rig {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(component.MustNewType("test"))
	set.TelemetrySettings = tel.NewTelemetrySettings()
	dropped, err := set.MeterProvider.Meter("test").Int64Counter("dropped")
	require.NoError(t, err)
	d, err := New(set, Settings{Transport: "test", Format: "test", Retry: retry, Dropped: dropped})
	require.NoError(t, err)
	host := statustest.NewHost()
	d.ReportTo(host)
	return &rig{d: d, tel: tel, status: host}
}

// sum is the total of an int64 counter, or of its points whose signal
// attribute is signal.
func (r *rig) sum(t *testing.T, name, signal string) int64 {
	t.Helper()
	m, err := r.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, ok := dp.Attributes.Value(attribute.Key("signal")); signal == "" || ok && v.AsString() == signal {
			total += dp.Value
		}
	}
	return total
}

// script answers each ConsumeTraces with the next error (nil past the end),
// recording when each call came and what it got.
type script struct {
	errs    []error
	mutates bool
	calls   []time.Time
	got     []ptrace.Traces
}

func (s *script) consumer(t *testing.T) consumer.Traces {
	c, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		s.calls = append(s.calls, time.Now())
		s.got = append(s.got, td)
		var err error
		if len(s.errs) > 0 {
			err, s.errs = s.errs[0], s.errs[1:]
		}
		if err != nil && s.mutates {
			// Scribble first, as a mutating processor may.
			td.ResourceSpans().At(0).Resource().Attributes().PutStr("scribbled", "yes")
		}
		return err
	}, consumer.WithCapabilities(consumer.Capabilities{MutatesData: s.mutates}))
	require.NoError(t, err)
	return c
}

func gaps(calls []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		out = append(out, calls[i].Sub(calls[i-1]))
	}
	return out
}

func TestRetryThenSuccessWithDoublingBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, NewDefaultBackOffConfig())
		retry := errors.New("try again")
		s := &script{errs: []error{retry, retry, retry, retry, retry, retry, retry, retry, retry}}
		r.d.SetTraces(s.consumer(t))
		td := testdata.GenerateTraces(3)

		out, err := r.d.Traces(context.Background(), Fixed(td, ptrace.NewTraces))
		require.NoError(t, err)
		assert.Equal(t, Outcome{Accepted: 3}, out)
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second},
			gaps(s.calls), "5 ms doubling, capped at 1 s")
		assert.Equal(t, int64(3), r.sum(t, "otelcol_receiver_accepted_spans", ""))
		assert.Equal(t, int64(27), r.sum(t, "otelcol_receiver_refused_spans", ""), "every refused attempt is in obsreport")
		assert.Zero(t, r.sum(t, "dropped", ""))
		assert.Empty(t, r.status.Statuses(), "a retry that succeeds is no trouble")
	})
}

func TestPermanentErrorDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, NewDefaultBackOffConfig())
		s := &script{errs: []error{consumererror.NewPermanent(errors.New("refused"))}}
		r.d.SetTraces(s.consumer(t))

		out, err := r.d.Traces(context.Background(), Fixed(testdata.GenerateTraces(4), ptrace.NewTraces))
		require.NoError(t, err)
		assert.Equal(t, Outcome{Dropped: 4}, out)
		assert.Len(t, s.calls, 1, "never retried")
		assert.Equal(t, int64(4), r.sum(t, "dropped", "traces"))
		assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, r.status.Statuses())

		out, err = r.d.Traces(context.Background(), Fixed(testdata.GenerateTraces(2), ptrace.NewTraces))
		require.NoError(t, err)
		assert.Equal(t, Outcome{Accepted: 2}, out)
		assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, r.status.Statuses(),
			"the next accepted batch clears the error")
	})
}

func TestStatusChangesOnlyWhenTroubleStartsOrEnds(t *testing.T) {
	r := newRig(t, NewDefaultBackOffConfig())
	refuse := true
	c, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error {
		if refuse {
			return consumererror.NewPermanent(errors.New("refused"))
		}
		return nil
	})
	require.NoError(t, err)
	r.d.SetTraces(c)
	r.d.SetLogs(new(consumertest.LogsSink))
	ctx := context.Background()
	for range 3 {
		_, err = r.d.Traces(ctx, Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
		require.NoError(t, err)
		_, err = r.d.Logs(ctx, Fixed(testdata.GenerateLogs(1), plog.NewLogs))
		require.NoError(t, err)
	}
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, r.status.Statuses(),
		"one event for a pipeline that keeps refusing; logs getting through do not clear it")
	refuse = false
	_, err = r.d.Traces(ctx, Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
	require.NoError(t, err)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, r.status.Statuses())
	assert.Equal(t, int64(3), r.sum(t, "dropped", "traces"))
}

func TestEveryAttemptGetsFreshData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, NewDefaultBackOffConfig())
		retry := errors.New("try again")
		s := &script{errs: []error{retry, retry}, mutates: true}
		r.d.SetTraces(s.consumer(t))
		td := testdata.GenerateTraces(2)
		want := ptrace.NewTraces()
		td.CopyTo(want)

		_, err := r.d.Traces(context.Background(), Fixed(td, ptrace.NewTraces))
		require.NoError(t, err)
		require.Len(t, s.got, 3)
		require.NoError(t, ptracetest.CompareTraces(want, s.got[2]), "the accepted attempt is what was produced")
		require.NoError(t, ptracetest.CompareTraces(want, td), "the original is never handed to a mutating consumer")
		_, scribbled := s.got[0].ResourceSpans().At(0).Resource().Attributes().Get("scribbled")
		require.True(t, scribbled, "the consumer did change what it got")

		// A producer that makes its data per attempt, as replay does.
		var attempts []Attempt
		s = &script{errs: []error{retry}, mutates: true}
		r.d.SetTraces(s.consumer(t))
		_, err = r.d.Traces(context.Background(), func(a Attempt) (ptrace.Traces, error) {
			attempts = append(attempts, a)
			return testdata.GenerateTraces(1), nil
		})
		require.NoError(t, err)
		assert.Equal(t, []Attempt{{N: 0, MutatesData: true}, {N: 1, MutatesData: true}}, attempts)
	})
}

func TestFixedSharesDataWithNonMutatingConsumers(t *testing.T) {
	td := testdata.GenerateTraces(1)
	got, err := Fixed(td, ptrace.NewTraces)(Attempt{N: 3})
	require.NoError(t, err)
	got.ResourceSpans().At(0).Resource().Attributes().PutStr("same", "data")
	_, ok := td.ResourceSpans().At(0).Resource().Attributes().Get("same")
	assert.True(t, ok, "no copy when nothing mutates")
}

func TestCancelEndsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, NewDefaultBackOffConfig())
		c, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error { return errors.New("never") })
		require.NoError(t, err)
		r.d.SetTraces(c)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		time.AfterFunc(10*time.Second, cancel)

		out, err := r.d.Traces(ctx, Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, Outcome{}, out)
		assert.Equal(t, 10*time.Second, time.Since(start), "retried until ctx ended, not longer")
		assert.Zero(t, r.sum(t, "dropped", ""), "a replay that stops drops nothing")
		assert.Empty(t, r.status.Statuses())
	})
}

// TestStopLetsTheAttemptInFlightSettle: under WithStop, the stop's end
// does not reach the Consume call in progress (its data may be on its
// way): that call keeps its context and runs to its outcome; then no
// retry follows, a wait for one ends at once, and no attempt begins
// after the stop. The error is the stop's; nothing counts as dropped.
func TestStopLetsTheAttemptInFlightSettle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outcome error // of the attempt in flight
		want    Outcome
		wantErr error
		calls   int
	}{
		{"accepted", nil, Outcome{Accepted: 2}, nil, 1},
		{"refused: no retry after the stop", errors.New("busy"), Outcome{}, context.Canceled, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, NewDefaultBackOffConfig())
				entered, release := make(chan struct{}, 10), make(chan struct{})
				var calls int
				var consumeErr error
				c, err := consumer.NewTraces(func(ctx context.Context, _ ptrace.Traces) error {
					calls++
					entered <- struct{}{}
					select {
					case <-release:
						return tc.outcome
					case <-ctx.Done():
						consumeErr = ctx.Err()
						return ctx.Err()
					}
				})
				require.NoError(t, err)
				r.d.SetTraces(c)
				stop, stopNow := context.WithCancel(context.Background())
				type result struct {
					out Outcome
					err error
				}
				done := make(chan result, 1)
				go func() {
					out, err := r.d.Traces(WithStop(context.Background(), stop), Fixed(testdata.GenerateTraces(2), ptrace.NewTraces))
					done <- result{out, err}
				}()
				<-entered
				stopNow()
				synctest.Wait()
				select {
				case <-done:
					t.Fatal("the delivery ended while its attempt was in flight")
				default:
				}
				close(release)
				got := <-done
				assert.Equal(t, tc.want, got.out)
				if tc.wantErr == nil {
					assert.NoError(t, got.err)
				} else {
					assert.ErrorIs(t, got.err, tc.wantErr)
				}
				assert.Equal(t, tc.calls, calls)
				assert.NoError(t, consumeErr, "the Consume call in flight kept its context")
				assert.Zero(t, r.sum(t, "dropped", ""))
			})
		})
	}

	t.Run("a wait for a retry ends at the stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, NewDefaultBackOffConfig())
			s := &script{errs: []error{errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy"), errors.New("busy")}}
			r.d.SetTraces(s.consumer(t))
			stop, stopNow := context.WithCancel(context.Background())
			start := time.Now()
			time.AfterFunc(700*time.Millisecond, stopNow) // in the wait after the 8th attempt (5 ms doubling: 635 ms to 1.275 s)
			out, err := r.d.Traces(WithStop(context.Background(), stop), Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, Outcome{}, out)
			assert.Equal(t, 700*time.Millisecond, time.Since(start), "the wait ended at the stop")
			assert.Len(t, s.calls, 8)
		})
	})

	t.Run("no attempt after the stop", func(t *testing.T) {
		r := newRig(t, NewDefaultBackOffConfig())
		s := &script{}
		r.d.SetTraces(s.consumer(t))
		stop, stopNow := context.WithCancel(context.Background())
		stopNow()
		_, err := r.d.Traces(WithStop(context.Background(), stop), Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, s.calls)
	})
}

func TestRetriesDisabledDropAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		retry := NewDefaultBackOffConfig()
		retry.Enabled = false
		r := newRig(t, retry)
		s := &script{errs: []error{errors.New("try again")}}
		r.d.SetTraces(s.consumer(t))

		out, err := r.d.Traces(context.Background(), Fixed(testdata.GenerateTraces(5), ptrace.NewTraces))
		require.NoError(t, err)
		assert.Equal(t, Outcome{Dropped: 5}, out)
		assert.Len(t, s.calls, 1)
		assert.Equal(t, int64(5), r.sum(t, "dropped", "traces"))
		assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, r.status.Statuses())
	})
}

func TestMaxElapsedTimeGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		retry := NewDefaultBackOffConfig()
		retry.MaxElapsedTime = 2 * time.Second
		r := newRig(t, retry)
		c, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error { return errors.New("never") })
		require.NoError(t, err)
		r.d.SetTraces(c)
		start := time.Now()

		out, err := r.d.Traces(context.Background(), Fixed(testdata.GenerateTraces(1), ptrace.NewTraces))
		require.NoError(t, err)
		assert.Equal(t, Outcome{Dropped: 1}, out)
		// 5+10+...+640 ms = 1.275 s; the next wait (1 s) would pass 2 s.
		assert.Equal(t, 1275*time.Millisecond, time.Since(start))
		assert.Equal(t, int64(1), r.sum(t, "dropped", "traces"))
	})
}

func TestEachSignalGoesToItsPipeline(t *testing.T) {
	r := newRig(t, NewDefaultBackOffConfig())
	ctx := context.Background()
	for _, s := range []pipeline.Signal{pipeline.SignalTraces, pipeline.SignalMetrics, pipeline.SignalLogs} {
		assert.False(t, r.d.Wants(s))
	}
	out, err := r.d.Traces(ctx, func(Attempt) (ptrace.Traces, error) {
		t.Fatal("nothing is produced for a signal without a pipeline")
		return ptrace.Traces{}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, Outcome{}, out)

	ts, ms, ls := new(consumertest.TracesSink), new(consumertest.MetricsSink), new(consumertest.LogsSink)
	r.d.SetTraces(ts)
	r.d.SetMetrics(ms)
	r.d.SetLogs(ls)
	for _, s := range []pipeline.Signal{pipeline.SignalTraces, pipeline.SignalMetrics, pipeline.SignalLogs} {
		assert.True(t, r.d.Wants(s))
	}
	out, err = r.d.Metrics(ctx, Fixed(testdata.GenerateMetrics(2), pmetric.NewMetrics))
	require.NoError(t, err)
	assert.Equal(t, Outcome{Accepted: 4}, out, "data points")
	out, err = r.d.Logs(ctx, Fixed(testdata.GenerateLogs(3), plog.NewLogs))
	require.NoError(t, err)
	assert.Equal(t, Outcome{Accepted: 3}, out)
	out, err = r.d.Traces(ctx, Fixed(ptrace.NewTraces(), ptrace.NewTraces))
	require.NoError(t, err)
	assert.Equal(t, Outcome{}, out, "an empty batch is not sent")
	assert.Zero(t, ts.SpanCount()+len(ts.AllTraces()))
	assert.Equal(t, 4, ms.DataPointCount())
	assert.Equal(t, 3, ls.LogRecordCount())
	assert.Equal(t, int64(4), r.sum(t, "otelcol_receiver_accepted_metric_points", ""))
	assert.Equal(t, int64(3), r.sum(t, "otelcol_receiver_accepted_log_records", ""))
}

func TestProducerErrorEndsDelivery(t *testing.T) {
	r := newRig(t, NewDefaultBackOffConfig())
	r.d.SetTraces(new(consumertest.TracesSink))
	boom := errors.New("cannot decode")
	_, err := r.d.Traces(context.Background(), func(Attempt) (ptrace.Traces, error) { return ptrace.Traces{}, boom })
	require.ErrorIs(t, err, boom)
}

func TestValidateBackOff(t *testing.T) {
	for name, tc := range map[string]struct {
		mod  func(*configretry.BackOffConfig)
		want []string
	}{
		"default":          {mod: func(*configretry.BackOffConfig) {}},
		"disabled ignores": {mod: func(c *configretry.BackOffConfig) { c.Enabled = false; c.InitialInterval = 0; c.Multiplier = 0 }},
		"zero initial":     {mod: func(c *configretry.BackOffConfig) { c.InitialInterval = 0 }, want: []string{"initial_interval: 0s with max_interval 1s: want 0 < initial_interval <= max_interval"}},
		"max below initial": {mod: func(c *configretry.BackOffConfig) { c.MaxInterval = time.Millisecond },
			want: []string{"initial_interval: 5ms with max_interval 1ms"}},
		"shrinking": {mod: func(c *configretry.BackOffConfig) { c.Multiplier = 0.5 }, want: []string{"multiplier: 0.5 must be at least 1"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := NewDefaultBackOffConfig()
			tc.mod(&cfg)
			err := ValidateBackOff(cfg)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	def := NewDefaultBackOffConfig()
	require.NoError(t, def.Validate(), "the default passes core's checks too")
}

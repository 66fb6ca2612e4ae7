package sessionreplayreceiver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/delivery"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

// refusing refuses every batch for good while refuse is set.
type refusing struct{ refuse atomic.Bool }

func (*refusing) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (r *refusing) ConsumeTraces(context.Context, ptrace.Traces) error {
	if r.refuse.Load() {
		return consumererror.NewPermanent(errors.New("refused"))
	}
	return nil
}

// TestStatusOneReporter: the component's status is one account of what is
// wrong. A store outage that ends while the pipeline still refuses does
// not report OK; OK comes once both have recovered; each problem is
// reported once, not per retry or per batch.
func TestStatusOneReporter(t *testing.T) {
	storeCfg, _ := fsStore(t)
	cfg := baseConfig(storeCfg, "none")
	next := &refusing{}
	next.refuse.Store(true)
	host := statustest.NewHost()
	rep := createReplay(t, cfg, nil, next, nil, nil)
	rep.r.host = host
	rep.r.delivery.ReportTo(host)
	deliver := func() {
		t.Helper()
		_, err := rep.r.delivery.Traces(context.Background(), func(delivery.Attempt) (ptrace.Traces, error) {
			return sessiontest.Traces("svc", 0, 1, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)), nil
		})
		require.NoError(t, err)
	}
	last := func() componentstatus.Status {
		s := host.Statuses()
		require.NotEmpty(t, s)
		return s[len(s)-1]
	}

	deliver() // dropped
	assert.Equal(t, componentstatus.StatusRecoverableError, last(), "the pipeline refuses")
	rep.r.storeFailing(errors.New("connection refused"))
	rep.r.storeFailing(errors.New("connection refused"))
	rep.r.storeAnswered()
	assert.Equal(t, componentstatus.StatusRecoverableError, last(), "the store is back, the pipeline still refuses")
	deliver() // dropped again: still the one problem
	next.refuse.Store(false)
	deliver() // accepted
	assert.Equal(t, componentstatus.StatusOK, last(), "both recovered")
	rep.r.storeFailing(errors.New("timeout"))
	rep.r.storeAnswered()
	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusRecoverableError, componentstatus.StatusOK, // the pipeline's refusals
		componentstatus.StatusRecoverableError, componentstatus.StatusOK, // a store outage on its own
	}, host.Statuses())
}

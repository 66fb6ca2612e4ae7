package health

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

func TestReporter(t *testing.T) {
	host := statustest.NewHost()
	var r Reporter
	r.Fail("store", errors.New("down")) // before the host: held
	assert.Empty(t, host.Statuses())
	r.SetHost(host)
	r.Fail("store", errors.New("down again"))
	r.Fail("pipeline traces", errors.New("refused"))
	r.Recover("store")
	r.Recover("nothing wrong")
	r.Recover("pipeline traces")
	r.Fail("metadata", errors.New("timeout"))
	r.Permanent(errors.New("broken"))
	r.Recover("metadata")
	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusRecoverableError, // the held store problem, at SetHost
		componentstatus.StatusOK,               // store and pipeline both over
		componentstatus.StatusRecoverableError, // metadata
		componentstatus.StatusPermanentError,   // and nothing after it
	}, host.Statuses())
	assert.EqualError(t, host.Events()[0].Err(), "store: down")
	assert.EqualError(t, host.Events()[2].Err(), "metadata: timeout")
}

package sessioncaptureexporter

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

// TestStatusRecoversAfterMetadataOutage: metadata writes that fail make
// the component's status a recoverable error, once; when they succeed
// again it is OK.
func TestStatusRecoversAfterMetadataOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, _ := fsConfig(t)
		cfg.MetadataInterval = 100 * time.Millisecond
		host := statustest.NewHost()
		var fs *faultstore.Store
		set := exportertest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName(metadata.Type.String(), t.Name())
		tr := startTrioOn(t, host, set, cfg, func(s sessionstore.Store) sessionstore.Store {
			fs = faultstore.New(s, func(c faultstore.Call) faultstore.Fault {
				if c.Op == faultstore.Put && c.IsMetadata() {
					return faultstore.Fault{Err: errors.New("connection refused")}
				}
				return faultstore.Fault{}
			})
			return fs
		})
		defer tr.shutdown(t)
		require.NoError(t, tr.traces.ConsumeTraces(context.Background(), sessiontest.Traces("svc", 0, 3, time.Now())))
		time.Sleep(5 * time.Second) // several housekeeping rounds, every metadata write failing
		synctest.Wait()
		// The three pipelines share this host here: an event reaches it three times.
		assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, transitions(host.Statuses()))
		assert.Len(t, host.Statuses(), 3, "one event for the outage, not one per failed write")
		fs.Heal()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, transitions(host.Statuses()),
			"OK once metadata is written again")
	})
}

// transitions is statuses without repeats of the one before.
func transitions(statuses []componentstatus.Status) []componentstatus.Status {
	var out []componentstatus.Status
	for _, st := range statuses {
		if len(out) == 0 || out[len(out)-1] != st {
			out = append(out, st)
		}
	}
	return out
}

package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type counting struct {
	starts, shutdowns int
	startErr          error
}

func (c *counting) Start(context.Context, component.Host) error { c.starts++; return c.startErr }
func (c *counting) Shutdown(context.Context) error              { c.shutdowns++; return nil }

func TestStartOnceShutdownAfterLast(t *testing.T) {
	m := NewMap[string, *counting]()
	inner := &counting{}
	create := func() (*counting, error) { return inner, nil }
	a, err := m.LoadOrStore("id", create)
	require.NoError(t, err)
	b, err := m.LoadOrStore("id", func() (*counting, error) { t.Fatal("created twice"); return nil, nil })
	require.NoError(t, err)
	require.Same(t, a, b)

	ctx, host := context.Background(), componenttest.NewNopHost()
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, b.Start(ctx, host))
	assert.Equal(t, 1, inner.starts)

	require.NoError(t, a.Shutdown(ctx))
	assert.Equal(t, 0, inner.shutdowns, "still used by the second pipeline")
	assert.Equal(t, 1, m.Len())
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, 1, inner.shutdowns)
	assert.Equal(t, 0, m.Len(), "removed, so a new config gets a new instance")
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, 1, inner.shutdowns, "shutting down twice is harmless")
}

func TestShutdownWithoutStart(t *testing.T) {
	m := NewMap[string, *counting]()
	inner := &counting{}
	c, err := m.LoadOrStore("id", func() (*counting, error) { return inner, nil })
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, 1, inner.shutdowns)
	assert.Equal(t, 0, m.Len())
}

func TestCreateAndStartErrors(t *testing.T) {
	m := NewMap[string, *counting]()
	_, err := m.LoadOrStore("id", func() (*counting, error) { return nil, errors.New("boom") })
	require.EqualError(t, err, "boom")
	assert.Equal(t, 0, m.Len())

	inner := &counting{startErr: errors.New("no store")}
	c, err := m.LoadOrStore("id", func() (*counting, error) { return inner, nil })
	require.NoError(t, err)
	require.EqualError(t, c.Start(context.Background(), componenttest.NewNopHost()), "no store")
	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, 1, inner.shutdowns)
}

// reporting keeps the host it was started with, to report status later.
type reporting struct {
	host component.Host
}

func (r *reporting) Start(_ context.Context, host component.Host) error { r.host = host; return nil }
func (r *reporting) Shutdown(context.Context) error                     { return nil }

// extHost has one extension.
type extHost struct{ ext component.Component }

func (h extHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.MustNewID("storage"): h.ext}
}

func TestStatusGoesToEveryPipelinesHost(t *testing.T) {
	m := NewMap[string, *reporting]()
	inner := &reporting{}
	c, err := m.LoadOrStore("id", func() (*reporting, error) { return inner, nil })
	require.NoError(t, err)

	ctx := context.Background()
	ext := &counting{}
	traces, metrics := statustest.NewHost(), statustest.NewHost()
	traces.Host, metrics.Host = extHost{ext}, extHost{ext}
	require.NoError(t, c.Start(ctx, traces))
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()), "a host that takes no status is fine")
	require.NoError(t, c.Start(ctx, metrics))
	assert.Same(t, ext, inner.host.GetExtensions()[component.MustNewID("storage")], "extensions come from the pipelines' host")

	failed := componentstatus.NewRecoverableErrorEvent(errors.New("store away"))
	componentstatus.ReportStatus(inner.host, failed)
	assert.Equal(t, []*componentstatus.Event{failed}, traces.Events())
	assert.Equal(t, []*componentstatus.Event{failed}, metrics.Events())

	// A pipeline that starts later first hears what it missed.
	logs := statustest.NewHost()
	require.NoError(t, c.Start(ctx, logs))
	assert.Equal(t, []*componentstatus.Event{failed}, logs.Events())

	ok := componentstatus.NewEvent(componentstatus.StatusOK)
	componentstatus.ReportStatus(inner.host, ok)
	for _, h := range []*statustest.Host{traces, metrics, logs} {
		assert.Equal(t, []*componentstatus.Event{failed, ok}, h.Events())
	}
	for range 4 {
		require.NoError(t, c.Shutdown(ctx))
	}
	assert.Equal(t, 0, m.Len())
}

func TestLateHostHearsOnlyRecentEvents(t *testing.T) {
	m := NewMap[string, *reporting]()
	inner := &reporting{}
	c, err := m.LoadOrStore("id", func() (*reporting, error) { return inner, nil })
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	var sent []*componentstatus.Event
	for range replayedEvents + 3 {
		e := componentstatus.NewRecoverableErrorEvent(errors.New("again"))
		sent = append(sent, e)
		componentstatus.ReportStatus(inner.host, e)
	}
	late := statustest.NewHost()
	require.NoError(t, c.Start(ctx, late))
	assert.Equal(t, sent[3:], late.Events(), "the last events, oldest first")
	require.NoError(t, c.Shutdown(ctx))
	require.NoError(t, c.Shutdown(ctx))
}

package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
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

// Package sharedcomponent lets one component instance serve several
// pipelines (traces, metrics, logs) of the same component ID, started once
// and shut down once, after the last pipeline that started it lets go; the
// status it reports goes to the host of every pipeline that started it. The
// collector core has the same idea in an internal package that cannot be
// imported.
package sharedcomponent // import "github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"

import (
	"container/ring"
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Map holds the live shared instances, keyed by component ID (or anything
// comparable).
type Map[K comparable, V component.Component] struct {
	mu         sync.Mutex
	components map[K]*Component[V]
}

// NewMap returns an empty map.
func NewMap[K comparable, V component.Component]() *Map[K, V] {
	return &Map[K, V]{components: map[K]*Component[V]{}}
}

// LoadOrStore returns the instance for key, creating it with create if
// there is none.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.components[key]; ok {
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{component: v, host: newHostWrapper()}
	c.remove = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.components[key] == c {
			delete(m.components, key)
		}
	}
	m.components[key] = c
	return c, nil
}

// Len reports how many instances are live (for tests).
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.components)
}

// Component wraps a shared instance with reference-counted Start/Shutdown.
type Component[V component.Component] struct {
	component V
	remove    func()
	host      *hostWrapper

	mu       sync.Mutex
	starts   int
	started  bool
	shutdown bool
}

// Unwrap returns the shared instance.
func (c *Component[V]) Unwrap() V { return c.component }

// Start starts the instance on the first call; later calls only count.
// Every call adds its host to those the instance's status reports go to:
// the instance is started with a host that forwards each
// componentstatus event to the host of every pipeline that uses it, so
// each pipeline sees the instance's trouble, and a host that joins later
// first hears the most recent events.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown {
		return nil
	}
	c.host.add(host)
	c.starts++
	if c.started {
		return nil
	}
	if err := c.component.Start(ctx, c.host); err != nil {
		return err
	}
	c.started = true
	return nil
}

// Shutdown shuts the instance down once every Start has been matched by a
// Shutdown (or at once if it never started). Extra calls return nil.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown {
		return nil
	}
	if c.starts > 1 {
		c.starts--
		return nil
	}
	c.shutdown = true
	c.remove()
	return c.component.Shutdown(ctx)
}

// replayedEvents is how many recent status events a host that joins late
// is told about.
const replayedEvents = 5

var (
	_ component.Host           = (*hostWrapper)(nil)
	_ componentstatus.Reporter = (*hostWrapper)(nil)
)

// hostWrapper is the host the shared instance sees: extensions come from
// the first pipeline's host (every host of one collector has the same), and
// status events go to every pipeline's host.
type hostWrapper struct {
	mu      sync.Mutex
	hosts   []component.Host
	sources []componentstatus.Reporter
	recent  *ring.Ring // the last replayedEvents events, for hosts that join later
}

func newHostWrapper() *hostWrapper {
	return &hostWrapper{recent: ring.New(replayedEvents)}
}

// GetExtensions implements component.Host.
func (h *hostWrapper) GetExtensions() map[component.ID]component.Component {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.hosts) == 0 {
		return nil
	}
	return h.hosts[0].GetExtensions()
}

// Report implements componentstatus.Reporter: it forwards e to every host
// that can take status reports.
func (h *hostWrapper) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recent.Value = e
	h.recent = h.recent.Next()
	for _, s := range h.sources {
		s.Report(e)
	}
}

// add makes host one of the hosts status goes to, telling it first the
// events it missed.
func (h *hostWrapper) add(host component.Host) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hosts = append(h.hosts, host)
	s, ok := host.(componentstatus.Reporter)
	if !ok {
		return
	}
	h.recent.Do(func(v any) {
		if e, ok := v.(*componentstatus.Event); ok {
			s.Report(e)
		}
	})
	h.sources = append(h.sources, s)
}

// Package sharedcomponent lets one component instance serve several
// pipelines (traces, metrics, logs) of the same component ID, started once
// and shut down once, after the last pipeline that started it lets go. The
// collector core has the same idea in an internal package that cannot be
// imported.
package sharedcomponent // import "github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
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
	c := &Component[V]{component: v}
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

	mu       sync.Mutex
	starts   int
	started  bool
	shutdown bool
}

// Unwrap returns the shared instance.
func (c *Component[V]) Unwrap() V { return c.component }

// Start starts the instance on the first call; later calls only count.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown {
		return nil
	}
	c.starts++
	if c.started {
		return nil
	}
	if err := c.component.Start(ctx, host); err != nil {
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

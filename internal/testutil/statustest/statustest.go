// Package statustest records the component status a component reports to
// its host.
package statustest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/statustest"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
)

// Host is a component.Host that records the status events reported to it,
// as one pipeline's host in a collector would receive them.
type Host struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

var _ componentstatus.Reporter = (*Host)(nil)

// NewHost returns a Host with no extensions and no events.
func NewHost() *Host { return &Host{Host: componenttest.NewNopHost()} }

// Report implements componentstatus.Reporter.
func (h *Host) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// Events returns the events reported so far, oldest first.
func (h *Host) Events() []*componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*componentstatus.Event(nil), h.events...)
}

// Statuses returns the statuses of the events reported so far.
func (h *Host) Statuses() []componentstatus.Status {
	var out []componentstatus.Status
	for _, e := range h.Events() {
		out = append(out, e.Status())
	}
	return out
}

// Package controlreg is how components find the session_control extension:
// its Registry, looked up through the host like a storage extension. (Apart
// from package control, which sessionctl imports, so that the client does
// not link the collector's component packages.)
package controlreg // import "github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"

import (
	"fmt"

	"go.opentelemetry.io/collector/component"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
)

// Registry is what the session_control extension offers components.
type Registry interface {
	// RegisterCapture makes a session_capture exporter controllable under
	// its component id; the returned function unregisters it.
	RegisterCapture(id component.ID, c control.Capture) (unregister func(), err error)
	// RegisterReplay does the same for a session_replay receiver.
	RegisterReplay(id component.ID, r control.Replay) (unregister func(), err error)
}

// Find returns the registry of extension id on host: a component with
// `control: <id>` calls it at Start. A missing extension, or one that is
// not a session_control extension, is an error naming it.
func Find(host component.Host, id component.ID) (Registry, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("control: extension %q not found (add it under extensions: and service.extensions)", id)
	}
	reg, ok := ext.(Registry)
	if !ok {
		return nil, fmt.Errorf("control: extension %q is not a session_control extension", id)
	}
	return reg, nil
}

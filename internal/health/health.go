// Package health is a component's one account of its status: the
// problems it has now, each under its own name (the store, a pipeline,
// metadata writes), reported to the host as one status. The first problem
// makes the status a recoverable error, the last one's end makes it OK
// again, and a problem that goes on is reported once, not per failure, so
// that parts of a component cannot clear each other's error.
package health // import "github.com/recordreplay/otelcol-recordreplay/internal/health"

import (
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Reporter reports a component's status to its host. The zero value holds
// problems without reporting them until SetHost.
type Reporter struct {
	mu        sync.Mutex
	host      component.Host
	problems  map[string]error
	permanent bool // reported: no event follows
	// held mirrors len(problems), so that Recover, called after every
	// successful read or delivery, costs an atomic load while all is well.
	held atomic.Int32
}

// SetHost sets where the status goes (the host the component was started
// with) and reports the problems already held, if any.
func (r *Reporter) SetHost(host component.Host) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.host = host
	for name, err := range r.problems {
		r.report(componentstatus.NewRecoverableErrorEvent(fmt.Errorf("%s: %w", name, err)))
		break
	}
}

// Fail records that name has a problem, err. The status becomes a
// recoverable error when it is the first problem; while it lasts, further
// failures of any name report nothing.
func (r *Reporter) Fail(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.problems[name]; ok {
		return
	}
	if r.problems == nil {
		r.problems = map[string]error{}
	}
	r.problems[name] = err
	r.held.Store(int32(len(r.problems)))
	if len(r.problems) == 1 {
		r.report(componentstatus.NewRecoverableErrorEvent(fmt.Errorf("%s: %w", name, err)))
	}
}

// Recover records that name's problem is over; with no problem left the
// status is OK again. A name without a problem reports nothing.
func (r *Reporter) Recover(name string) {
	if r.held.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.problems[name]; !ok {
		return
	}
	delete(r.problems, name)
	r.held.Store(int32(len(r.problems)))
	if len(r.problems) == 0 {
		r.report(componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// Permanent reports that the component cannot go on (err); nothing is
// reported after it.
func (r *Reporter) Permanent(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report(componentstatus.NewPermanentErrorEvent(err))
	r.permanent = true
}

// report sends e to the host; mu is held.
func (r *Reporter) report(e *componentstatus.Event) {
	if r.host == nil || r.permanent {
		return
	}
	componentstatus.ReportStatus(r.host, e)
}

package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"os"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
)

// completions counts the replays with shutdown_when_done that are not over
// yet: the collector is stopped when the last of them is over.
type completions struct {
	mu      sync.Mutex
	running int
}

// processCompletions is the count of this process (one collector).
var processCompletions = &completions{}

func (c *completions) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running++
}

// release reports whether no other replay holds the collector.
func (c *completions) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running--
	return c.running == 0
}

// signalCollector stops the collector the way `kill` or a container runtime
// does: SIGTERM to this process, which the collector answers with a clean
// shutdown (pipelines drained, exporters' queues flushed) and exit status 0.
// A component has no other way to end the collector without an error.
func signalCollector() error {
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

// finish runs when the replay goroutine ends. over says the replay ended by
// itself (its loops done, max_duration, nothing to replay), not because the
// collector is shutting down or the control API stopped it.
func (r *replayReceiver) finish(over bool) {
	if r.held {
		r.held = false
		last := r.completions.release()
		switch {
		case !over: // stopped: the collector is stopping already, or the API asked
		case !last:
			r.set.Logger.Info("Replay over; the collector stops when the other replays with shutdown_when_done are over",
				zap.String("session", r.session.SessionID))
		default:
			r.set.Logger.Info("Stopping the collector: the replay is over (shutdown_when_done)", zap.String("session", r.session.SessionID))
			if err := r.stopCollector(); err != nil {
				r.set.Logger.Error("Cannot stop the collector; stop it by hand", zap.Error(err))
			}
		}
	}
	state := control.Stopped
	if over {
		state = control.Finished
	}
	r.mu.Lock()
	r.state, r.endedAt = state, time.Now()
	r.mu.Unlock()
}

func (r *replayReceiver) setState(state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = state
}

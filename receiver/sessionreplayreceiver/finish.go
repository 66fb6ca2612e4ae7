package sessionreplayreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"

import (
	"os"
	"os/signal"
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

// resendSIGTERM is how often the collector is asked again to stop until it
// does: a replay can be over before the collector has started listening
// for SIGTERM (it does once every component has started).
const (
	resendSIGTERM = time.Second
	resendTries   = 60
)

// watchSIGTERM takes SIGTERM off its default action (the process dies at
// once, nothing drained) while a replay with shutdown_when_done may send
// it: until the collector listens for it, it lands here, unheeded, and
// is sent again. It returns the function that undoes it.
func watchSIGTERM() (unwatch func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	return func() { signal.Stop(ch) }
}

// finish runs when run's goroutine ends. over says the run ended by
// itself (its loops done, max_duration, nothing to replay), not because the
// collector is shutting down or the control API stopped it.
func (r *replayReceiver) finish(run *replayRun, over bool) {
	if r.held {
		r.held = false
		last := r.completions.release()
		switch {
		case !over: // stopped: the collector is stopping already, or the API asked
		case !last:
			r.set.Logger.Info("Replay over; the collector stops when the other replays with shutdown_when_done are over",
				zap.String("session", run.session.SessionID))
		default:
			r.set.Logger.Info("Stopping the collector: the replay is over (shutdown_when_done)", zap.String("session", run.session.SessionID))
			r.askToStop()
		}
	}
	state := control.Stopped
	if over {
		state = control.Finished
	}
	r.mu.Lock()
	run.state, run.endedAt = state, time.Now()
	r.mu.Unlock()
}

// askToStop asks the collector to stop, and again every resendSIGTERM
// until it does (Shutdown).
func (r *replayReceiver) askToStop() {
	if err := r.stopCollector(); err != nil {
		r.set.Logger.Error("Cannot stop the collector; stop it by hand", zap.Error(err))
		return
	}
	go func() {
		t := time.NewTicker(resendSIGTERM)
		defer t.Stop()
		for range resendTries {
			select {
			case <-r.stopped:
				return
			case <-t.C:
				_ = r.stopCollector()
			}
		}
		r.set.Logger.Error("The collector did not stop on SIGTERM; stop it by hand")
	}()
}

// setState sets run's state (the control API reads it under mu).
func (r *replayReceiver) setState(run *replayRun, state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run.state = state
}

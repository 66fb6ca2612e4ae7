package sessioncaptureexporter // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// The exporter's own sessions: the current one, whose id accepted data is
// stamped with, rotation on size or age, and the control API's new
// sessions.

// ownState is the own session and what names the next one, behind its
// own lock; pick orders the choice of the next session (rotation, the
// control API), which reads the store to skip ids that exist.
type ownState struct {
	pick sync.Mutex

	mu   sync.Mutex
	desc ownDesc // what names and describes the own sessions
	cur  *session
	seq  int // own sessions of desc opened: id, id-2, id-3, ...
}

// ownID returns the id of the seq-th own session of desc (1-based).
func (m *sessionManager) ownID(desc ownDesc, seq int) string {
	if desc.id == AutoSessionID {
		return sessionstore.NewSessionID("capture", m.now())
	}
	if seq <= 1 {
		return desc.id
	}
	return desc.id + "-" + strconv.Itoa(seq)
}

// ownSession is an own session and what opening it needs to know.
type ownSession struct {
	desc   ownDesc
	reason string
}

// newOwn makes (without store I/O) the own session id and adds it to the
// set.
func (m *sessionManager) newOwn(id string, desc ownDesc, reason string) *session {
	s := newSession(id, kindOwn, m.now())
	s.own = &ownSession{desc: desc, reason: reason}
	m.set.put(s)
	return s
}

// current returns the current own session.
func (m *sessionManager) current() *session {
	m.own.mu.Lock()
	defer m.own.mu.Unlock()
	return m.own.cur
}

// acceptOwn counts n items accepted now in the current own session and
// returns its id.
func (m *sessionManager) acceptOwn(signal sessionstore.Signal, n int64) string {
	m.own.mu.Lock()
	defer m.own.mu.Unlock()
	if n > 0 && m.own.desc.id == AutoSessionID && !m.own.cur.hasData() {
		// A generated id names the time of the session's first data.
		m.set.remove(m.own.cur)
		m.own.cur = m.newOwn(m.ownID(m.own.desc, m.own.seq), m.own.desc, m.own.cur.own.reason)
	}
	if n > 0 {
		m.own.cur.accept(signal, n, m.now())
	}
	return m.own.cur.id
}

// rotationDue reports why the own session should rotate, or "": it never
// rotates before it had data.
func (m *sessionManager) rotationDue() string {
	s := m.current()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started.IsZero() {
		return ""
	}
	if m.cfg.MaxDuration > 0 && m.now().Sub(started) >= m.cfg.MaxDuration {
		return "max_duration"
	}
	if m.cfg.MaxBytes > 0 && s.storedBytes() >= m.cfg.MaxBytes {
		return "max_bytes"
	}
	return ""
}

// untilRotation returns how long until the own session reaches
// max_duration, or -1 without a duration limit or before it had data.
func (m *sessionManager) untilRotation() time.Duration {
	s := m.current()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started.IsZero() || m.cfg.MaxDuration <= 0 {
		return -1
	}
	return max(0, started.Add(m.cfg.MaxDuration).Sub(m.now()))
}

// rotate closes the own session and makes the next one current (opened in
// the store with its first data). A fixed id's successor skips ids that
// exist, so a restarted collector never mixes two runs in one rotated id;
// if the store cannot say, the rotation waits for the next round.
func (m *sessionManager) rotate(ctx context.Context, reason string) error {
	m.own.pick.Lock()
	defer m.own.pick.Unlock()
	m.own.mu.Lock()
	desc, seq := m.own.desc, m.own.seq+1
	m.own.mu.Unlock()
	id := m.ownID(desc, seq)
	if desc.id != AutoSessionID {
		for {
			_, err := sessionstore.ReadMetadata(ctx, m.store, id)
			if errors.Is(err, sessionstore.ErrNotFound) {
				break
			}
			if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
				return fmt.Errorf("session %s: read metadata: %w", id, err)
			}
			seq++
			id = m.ownID(desc, seq)
		}
	}
	m.own.mu.Lock()
	prev := m.own.cur
	m.own.cur, m.own.seq = m.newOwn(id, desc, reason), seq
	m.own.mu.Unlock()
	prev.close(m.now(), false, m.persistent)
	return nil
}

// openNew makes a new own session described by desc current at once, for
// the control API, and returns it and the one it replaces (completed). A
// fixed id that exists already is refused: the API opens new sessions, it
// never continues one. The new session is opened in the store before
// anything changes, so a failure changes nothing.
func (m *sessionManager) openNew(ctx context.Context, desc ownDesc) (s, prev *session, err error) {
	m.own.pick.Lock()
	defer m.own.pick.Unlock()
	if desc.id != AutoSessionID {
		if cur := m.current(); cur.id == desc.id {
			return nil, nil, control.Conflict("session %s is the current session", desc.id)
		}
		if err := checkNewID(ctx, m.store, desc.id); err != nil {
			return nil, nil, err
		}
	}
	id := m.ownID(desc, 1)
	s = newSession(id, kindOwn, m.now())
	s.own = &ownSession{desc: desc, reason: "control"}
	if err := m.open(ctx, s, pcommon.NewResource()); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.started = m.now() // a session asked for is a session, with or without data
	s.mu.Unlock()
	m.set.put(s)
	m.own.mu.Lock()
	prev = m.own.cur
	m.own.cur, m.own.seq, m.own.desc = s, 1, desc
	m.own.mu.Unlock()
	prev.close(m.now(), false, m.persistent)
	return s, prev, nil
}

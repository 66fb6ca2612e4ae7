package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// registry holds the components registered under one kind (captures or
// replays), by component id.
type registry[T any] struct {
	kind string // "capture" or "replay", for messages
	mu   sync.RWMutex
	byID map[component.ID]*entry[T]
}

// entry is one registration; its address tells it from a later
// registration under the same id, so a stale unregister func removes
// nothing.
type entry[T any] struct {
	id component.ID
	c  T
}

func newRegistry[T any](kind string) *registry[T] {
	return &registry[T]{kind: kind, byID: map[component.ID]*entry[T]{}}
}

func (r *registry[T]) register(id component.ID, c T, isNil bool) (func(), error) {
	if isNil {
		return nil, fmt.Errorf("register %s %q: nil %s", r.kind, id, r.kind)
	}
	e := &entry[T]{id: id, c: c}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; ok {
		return nil, fmt.Errorf("register %s %q: a %s of that id is already registered", r.kind, id, r.kind)
	}
	r.byID[id] = e
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.byID[id] == e {
				delete(r.byID, id)
			}
		})
	}, nil
}

// get returns the component registered under the id spelled name (as
// component.ID.String() spells it).
func (r *registry[T]) get(name string) (*entry[T], bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for id, e := range r.byID {
		if id.String() == name {
			return e, true
		}
	}
	return nil, false
}

// all returns the registrations sorted by id, so that the caller can call
// them without holding the lock (a component may unregister meanwhile).
func (r *registry[T]) all() []*entry[T] {
	r.mu.RLock()
	out := slices.Collect(maps.Values(r.byID))
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *entry[T]) int { return cmp.Compare(a.id.String(), b.id.String()) })
	return out
}

// notFound says that no component of the kind is registered as name, and
// which are.
func (r *registry[T]) notFound(name string) string {
	var ids []string
	for _, e := range r.all() {
		ids = append(ids, e.id.String())
	}
	if len(ids) == 0 {
		return fmt.Sprintf("no %s %q is registered, nor any other (a component registers with `control: <this extension's id>` in its config)",
			r.kind, name)
	}
	return fmt.Sprintf("no %s %q is registered; registered: %s", r.kind, name, strings.Join(ids, ", "))
}

var _ controlreg.Registry = (*controlExtension)(nil)

// RegisterCapture makes a session_capture exporter controllable under id.
func (e *controlExtension) RegisterCapture(id component.ID, c control.Capture) (func(), error) {
	return e.captures.register(id, c, c == nil)
}

// RegisterReplay makes a session_replay receiver controllable under id.
func (e *controlExtension) RegisterReplay(id component.ID, r control.Replay) (func(), error) {
	return e.replays.register(id, r, r == nil)
}

// stores returns the distinct stores of every registered component, by
// Store.String(), sorted.
func (e *controlExtension) stores() []sessionstore.Store {
	byName := map[string]sessionstore.Store{}
	for _, c := range e.captures.all() {
		if st := c.c.Store(); st != nil {
			byName[st.String()] = st
		}
	}
	for _, r := range e.replays.all() {
		if st := r.c.Store(); st != nil {
			byName[st.String()] = st
		}
	}
	out := make([]sessionstore.Store, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[name])
	}
	return out
}

package actors

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Registry maps event types to names and back, and upcasts stored events of
// old shapes. Events are plain structs stored as JSON.
type Registry struct {
	mu       sync.RWMutex
	names    map[reflect.Type]string
	decoders map[string]func([]byte) (any, error)
	upcast   map[string]EventUpcaster
}

// Upcaster turns a stored event of an old shape into a newer one: it gets
// the stored type name and data and returns the new name and data. When it
// returns a new name, the upcaster registered for that name (if any) runs
// next, so renames chain; an upcaster that keeps the name runs once. An
// EventUpcaster also sees the metadata and may give zero or several
// events.
type Upcaster func(typ string, data json.RawMessage) (string, json.RawMessage, error)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		names:    make(map[reflect.Type]string),
		decoders: make(map[string]func([]byte) (any, error)),
		upcast:   make(map[string]EventUpcaster),
	}
}

// RegisterEvent names the event type E; values of E are stored under name
// and decoded back into E (not *E).
func RegisterEvent[E any](r *Registry, name string) error {
	t := reflect.TypeFor[E]()
	if name == "" {
		return fmt.Errorf("actors: event %v: empty name", t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.names[t]; ok && old != name {
		return fmt.Errorf("actors: event %v already registered as %q", t, old)
	}
	if _, ok := r.decoders[name]; ok && r.names[t] != name {
		return fmt.Errorf("actors: event name %q already taken", name)
	}
	r.names[t] = name
	r.decoders[name] = func(data []byte) (any, error) {
		var e E
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil
}

// MustRegisterEvent is RegisterEvent that panics on error, for package
// initialization.
func MustRegisterEvent[E any](r *Registry, name string) {
	if err := RegisterEvent[E](r, name); err != nil {
		panic(err)
	}
}

// Name returns the name ev's type is stored under.
func (r *Registry) Name(ev any) (string, error) {
	r.mu.RLock()
	name, ok := r.names[reflect.TypeOf(ev)]
	r.mu.RUnlock()
	if !ok {
		return "", &UnregisteredEventError{Type: fmt.Sprintf("%T", ev)}
	}
	return name, nil
}

// Encode returns ev's name and JSON.
func (r *Registry) Encode(ev any) (string, []byte, error) {
	name, err := r.Name(ev)
	if err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return "", nil, fmt.Errorf("actors: encode %s: %w", name, err)
	}
	return name, data, nil
}

// Decode upcasts a stored event and decodes it. An unregistered name is an
// *UnregisteredEventError. Upcasters see no metadata here, and an upcast
// that gives other than one event is an error: DecodeEvents decodes a
// stored event with its metadata into all the events it gives.
func (r *Registry) Decode(typ string, data []byte) (any, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	evs, err := r.upcastLocked(StoredEvent{Type: typ, Data: data}, 0)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("actors: upcast %s gives %d events, not one", typ, len(evs))
	}
	return r.decodeLocked(evs[0].Type, evs[0].Data)
}

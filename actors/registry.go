package actors

import (
	"context"
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
	// plans holds the personal fields of the event types that have some,
	// by name; keys seals and opens them, once an App started with the
	// registry (see personal.go).
	plans map[string]*personalPlan
	keys  *keyring
	// gen counts the changes made to the registry, so that a decoding
	// shared by an App's subscriptions (decodeCache) is made again after
	// one.
	gen uint64
	// errorNames and errorCodecs are the errors that cross the cluster
	// (RegisterError, RegisterErrorType): by name (the runtime's own
	// too, once one is registered), and the registered ones in order.
	errorNames  map[string]errorCodec
	errorCodecs []errorCodec
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
		plans:    make(map[string]*personalPlan),
	}
}

// RegisterEvent names the event type E; values of E are stored under name
// and decoded back into E (not *E).
func RegisterEvent[E any](r *Registry, name string) error {
	t := reflect.TypeFor[E]()
	if name == "" {
		return fmt.Errorf("actors: event %v: empty name", t)
	}
	plan, err := planOf(t, false)
	if err != nil {
		return err
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
	r.gen++
	r.setPlan(name, plan)
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

// Encode returns ev's name and JSON, its personal fields encrypted (see
// personal.go): a registry with personal event types encodes them once an
// App started with it, and fails with a *MasterKeyError before.
func (r *Registry) Encode(ev any) (string, []byte, error) {
	return r.encode(context.Background(), ev)
}

// encode is Encode within ctx.
func (r *Registry) encode(ctx context.Context, ev any) (string, []byte, error) {
	name, err := r.Name(ev)
	if err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(ev)
	if err == nil {
		plan, keys := r.personal(name)
		data, err = keys.seal(ctx, plan, data, "")
	}
	if err != nil {
		return "", nil, fmt.Errorf("actors: encode %s: %w", name, err)
	}
	return name, data, nil
}

// setPlan records the personal fields of the event type registered as
// name. r.mu is held for writing.
func (r *Registry) setPlan(name string, plan *personalPlan) {
	if plan != nil {
		r.plans[name] = plan
	}
}

// personal returns the personal fields of the event type registered as
// name (nil if none) and the key ring that seals and opens them.
func (r *Registry) personal(name string) (*personalPlan, *keyring) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.plans[name], r.keys
}

// hasPersonal reports whether an event type with personal fields is
// registered.
func (r *Registry) hasPersonal() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.plans) > 0
}

// useKeys makes the registry seal and open personal fields with k.
func (r *Registry) useKeys(k *keyring) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = k
	r.gen++
}

// generation returns the registry's generation (see Registry.gen) and
// whether decoding an event stored as typ may open personal fields: typ
// has some, or it is not registered and has an upcaster, whose events are
// opened with the plans of the types it gives.
func (r *Registry) generation(typ string) (uint64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, known := r.decoders[typ]
	_, upcast := r.upcast[typ]
	return r.gen, r.plans[typ] != nil || (!known && upcast)
}

// Decode upcasts a stored event and decodes it. An unregistered name is an
// *UnregisteredEventError. Upcasters see no metadata here, and an upcast
// that gives other than one event is an error: DecodeEvents decodes a
// stored event with its metadata into all the events it gives.
func (r *Registry) Decode(typ string, data []byte) (any, error) {
	evs, err := r.upcastStored(context.Background(), StoredEvent{Type: typ, Data: data})
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("actors: upcast %s gives %d events, not one", typ, len(evs))
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.decodeLocked(evs[0].Type, evs[0].Data)
}

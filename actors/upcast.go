package actors

import (
	"context"
	"encoding/json"
	"fmt"
)

// StoredEvent is a stored event as an EventUpcaster sees it and returns
// it: its type name, its JSON data and its metadata, with where it is
// stored.
type StoredEvent struct {
	Type     string
	Data     json.RawMessage
	Metadata Metadata
	// StreamID, StreamVersion and Position say where the event is stored.
	// They are for reading: the runtime keeps the stored values whatever
	// an upcaster returns.
	StreamID      string
	StreamVersion int64
	Position      int64
}

// EventUpcaster turns a stored event of an old shape into zero, one or
// several events of newer shapes: it can rename a type, rewrite the data
// or the metadata, drop an event (return none) or split one into several,
// and it sees the metadata to decide. Each event it returns under a new
// name goes through the upcaster registered for that name (if any) next,
// so renames chain; one returned under the stored name is not upcast
// again. The events decoded from one stored event share its ID, stream
// version, position and stored name (Event.Type); an event handler's
// checkpoint passes that position once it handled all of them.
//
// The runtime applies upcasters wherever it decodes stored events: an
// aggregate's load, event handlers, command results and process managers.
// A process manager sees an event an upcaster dropped as one without a
// Payload, and an event split into several goes to its error policy as a
// failure to decode.
type EventUpcaster func(StoredEvent) ([]StoredEvent, error)

// RegisterEventUpcaster registers u for events stored under name. A name
// has at most one upcaster, of either form.
func (r *Registry) RegisterEventUpcaster(name string, u EventUpcaster) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.upcast[name]; ok {
		return fmt.Errorf("actors: an upcaster for %q is already registered", name)
	}
	r.upcast[name] = u
	r.gen++
	return nil
}

// RegisterUpcaster registers u, an upcaster of the one-to-one form, for
// events stored under name.
func (r *Registry) RegisterUpcaster(name string, u Upcaster) error {
	return r.RegisterEventUpcaster(name, func(ev StoredEvent) ([]StoredEvent, error) {
		typ, data, err := u(ev.Type, ev.Data)
		if err != nil {
			return nil, err
		}
		ev.Type, ev.Data = typ, data
		return []StoredEvent{ev}, nil
	})
}

// upcastStored decrypts a stored event's personal fields and runs its
// upcasters. Upcasters see decrypted data when the stored name is
// registered; an event stored under a name no longer registered is
// decrypted after its upcasters ran, with the plan of each type they
// gave (they must carry its personal fields and subject as stored).
func (r *Registry) upcastStored(ctx context.Context, ev StoredEvent) ([]StoredEvent, error) {
	data, known, err := r.open(ctx, ev.Type, ev.Data)
	if err != nil {
		return nil, fmt.Errorf("actors: decode %s: %w", ev.Type, err)
	}
	ev.Data = data
	r.mu.RLock()
	outs, err := r.upcastLocked(ev, 0)
	r.mu.RUnlock()
	if err != nil || known {
		return outs, err
	}
	for i, out := range outs {
		if outs[i].Data, _, err = r.open(ctx, out.Type, out.Data); err != nil {
			return nil, fmt.Errorf("actors: decode %s: %w", out.Type, err)
		}
	}
	return outs, nil
}

// open decrypts the personal fields of data, stored under typ, and
// reports whether typ is registered.
func (r *Registry) open(ctx context.Context, typ string, data []byte) ([]byte, bool, error) {
	r.mu.RLock()
	_, known := r.decoders[typ]
	plan, keys := r.plans[typ], r.keys
	r.mu.RUnlock()
	data, err := keys.open(ctx, plan, data, "")
	return data, known, err
}

// upcastLocked runs the upcasters for ev, following renames; depth counts
// the upcasters run before on this chain, so that a chain longer than the
// number of upcasters is a cycle. r.mu is held for reading.
func (r *Registry) upcastLocked(ev StoredEvent, depth int) ([]StoredEvent, error) {
	u, ok := r.upcast[ev.Type]
	if !ok {
		return []StoredEvent{ev}, nil
	}
	if depth == len(r.upcast) {
		return nil, fmt.Errorf("actors: upcasters for %s form a cycle", ev.Type)
	}
	outs, err := u(ev)
	if err != nil {
		return nil, fmt.Errorf("actors: upcast %s: %w", ev.Type, err)
	}
	all := make([]StoredEvent, 0, len(outs))
	for _, out := range outs {
		out.StreamID, out.StreamVersion, out.Position = ev.StreamID, ev.StreamVersion, ev.Position
		if out.Type == ev.Type {
			all = append(all, out)
			continue
		}
		more, err := r.upcastLocked(out, depth+1)
		if err != nil {
			return nil, err
		}
		all = append(all, more...)
	}
	return all, nil
}

// decodeLocked decodes the current shape of an event stored as typ. An
// unregistered name is an *UnregisteredEventError. r.mu is held for
// reading.
func (r *Registry) decodeLocked(typ string, data []byte) (any, error) {
	dec, ok := r.decoders[typ]
	if !ok {
		return nil, &UnregisteredEventError{Type: typ}
	}
	ev, err := dec(data)
	if err != nil {
		return nil, fmt.Errorf("actors: decode %s: %w", typ, err)
	}
	return ev, nil
}

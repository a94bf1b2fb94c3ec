package actors

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// decodeCacheSize is how many stored events, the latest decoded, an App's
// subscriptions share the decoding of: enough for every subscription of a
// process to meet an event while it is still there when they follow the
// store's tail together, as the store's shared reader hands it to them.
const decodeCacheSize = 4096

// decodeCache decodes each stored event once per process instead of once
// per subscription: the App's event handlers and process managers receive
// the same records (the store reads them once for all of them) and would
// each upcast and unmarshal them again. It keeps the latest
// decodeCacheSize decodings by position; a subscription that asks for a
// position being decoded by another waits for that decoding.
//
// Sharing the result means sharing the events: an Event handed to a
// handler is also handed to the other handlers of the process, so its
// Payload and Metadata are read-only (see Event). Events of a type with
// personal fields are never shared: they are decoded, with their subject's
// key, for each subscription, so that forgetting a subject takes effect
// at once and no decrypted value outlives the handling of one delivery.
type decodeCache struct {
	mu      sync.Mutex
	entries map[int64]*decoding
	order   ring[int64] // positions in entries, in the order they came
}

// decoding is one stored event's decoding: done is closed once evs and
// err are set.
type decoding struct {
	id   uuid.UUID
	gen  uint64 // the registry's generation it was decoded with
	done chan struct{}
	evs  []Event
	err  error
}

func newDecodeCache() *decodeCache {
	return &decodeCache{entries: make(map[int64]*decoding, decodeCacheSize), order: newRing[int64](decodeCacheSize)}
}

// decode returns what DecodeEvents(r, rec) returns, decoding rec only if
// no subscription of the process did already. The events returned are
// shared: callers copy them (Event values), never modify the slice.
func (c *decodeCache) decode(r *Registry, rec eventstore.RecordedEvent) (evs []Event, err error) {
	gen, personal := r.generation(rec.Type)
	if personal {
		return DecodeEvents(r, rec)
	}
	c.mu.Lock()
	if d, ok := c.entries[rec.Position]; ok && d.id == rec.ID && d.gen == gen {
		c.mu.Unlock()
		<-d.done
		return d.evs, d.err
	}
	d := &decoding{id: rec.ID, gen: gen, done: make(chan struct{})}
	c.put(rec.Position, d)
	c.mu.Unlock()
	defer func() {
		// An upcaster that panics fails the event for every subscription
		// waiting for it, as an error their policies decide about.
		if v := recover(); v != nil {
			d.evs = []Event{baseEvent(rec)}
			d.err = fmt.Errorf("actors: decode %s: %w", rec.Type, &PanicError{Value: v, Stack: debug.Stack()})
		}
		close(d.done)
		evs, err = d.evs, d.err
	}()
	d.evs, d.err = DecodeEvents(r, rec)
	return d.evs, d.err
}

// put records d at pos, replacing the oldest decoding once the cache is
// full. The caller holds c.mu.
func (c *decodeCache) put(pos int64, d *decoding) {
	if _, ok := c.entries[pos]; ok {
		c.entries[pos] = d // a new generation of the registry, or another event
		return
	}
	if oldest, full := c.order.add(pos); full {
		delete(c.entries, oldest)
	}
	c.entries[pos] = d
}

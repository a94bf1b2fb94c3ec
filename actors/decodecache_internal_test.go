package actors

import (
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// TestDecodeCacheShares: a stored event's decoding is shared by the
// subscriptions that ask for it, unless its type has personal fields (each
// subscription opens them with the key it finds then), or the registry
// changed since, or another event is at the position.
func TestDecodeCacheShares(t *testing.T) {
	type plain struct{ N int }
	type personal struct {
		Subject string `cohort:"subject"`
		Secret  string `cohort:"personal"`
	}
	r := NewRegistry()
	if err := RegisterEvent[plain](r, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := RegisterEvent[personal](r, "personal"); err != nil {
		t.Fatal(err)
	}
	c := newDecodeCache()
	// decode returns the event decoded from rec and where it is kept: the
	// same place for a shared decoding.
	decode := func(rec eventstore.RecordedEvent) (Event, *Event) {
		t.Helper()
		evs, err := c.decode(r, rec)
		if err != nil || len(evs) != 1 {
			t.Fatalf("decode %s: %v, %d events", rec.Type, err, len(evs))
		}
		return evs[0], &evs[0]
	}
	rec := eventstore.RecordedEvent{ID: uuid.New(), Type: "plain", Data: []byte(`{"N":7}`), Position: 1}
	secret := eventstore.RecordedEvent{ID: uuid.New(), Type: "personal", Data: []byte(`{"Subject":"s","Secret":"x"}`), Position: 2}

	ev, first := decode(rec)
	if ev.Payload != (plain{N: 7}) || ev.Position != 1 {
		t.Fatalf("event = %+v", ev)
	}
	if _, again := decode(rec); again != first {
		t.Error("an event asked for twice was decoded twice")
	}
	if _, a := decode(secret); func() bool { _, b := decode(secret); return a == b }() {
		t.Error("an event with personal fields was decoded once for two subscriptions")
	}
	if err := RegisterEvent[struct{ X int }](r, "other"); err != nil {
		t.Fatal(err)
	}
	_, afterRegistration := decode(rec)
	if afterRegistration == first {
		t.Error("a decoding made before a registration was shared after it")
	}
	other := rec
	other.ID = uuid.New()
	if _, p := decode(other); p == afterRegistration {
		t.Error("another event at the position was given the first one's decoding")
	}
}

// TestDecodeCacheBounded: the cache keeps the latest decodeCacheSize
// positions.
func TestDecodeCacheBounded(t *testing.T) {
	r := NewRegistry()
	c := newDecodeCache()
	for pos := range int64(3 * decodeCacheSize) {
		if _, err := c.decode(r, eventstore.RecordedEvent{ID: uuid.New(), Type: "unknown", Position: pos + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.entries) != decodeCacheSize || len(c.order.items) != decodeCacheSize {
		t.Errorf("%d entries, %d in the ring, want %d", len(c.entries), len(c.order.items), decodeCacheSize)
	}
	if _, ok := c.entries[3*decodeCacheSize]; !ok {
		t.Error("the latest position is not kept")
	}
}

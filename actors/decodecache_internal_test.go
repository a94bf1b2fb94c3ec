package actors

import (
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// tallied counts its decodings in the counter its test points to.
type tallied struct{ N int }

var talliedDecodes atomic.Int64

func (v *tallied) UnmarshalJSON(b []byte) error {
	talliedDecodes.Add(1)
	type plain tallied
	return json.Unmarshal(b, (*plain)(v))
}

// talliedPersonal is tallied with a personal field.
type talliedPersonal struct {
	Subject string `cohort:"subject"`
	Secret  string `cohort:"personal"`
}

var talliedPersonalDecodes atomic.Int64

func (v *talliedPersonal) UnmarshalJSON(b []byte) error {
	talliedPersonalDecodes.Add(1)
	type plain talliedPersonal
	return json.Unmarshal(b, (*plain)(v))
}

// TestDecodeCacheShares: a stored event is decoded once for the
// subscriptions that ask for it, unless its type has personal fields (each
// subscription opens them with the key it finds then), or the registry
// changed since, or another event is at the position.
func TestDecodeCacheShares(t *testing.T) {
	r := NewRegistry()
	if err := RegisterEvent[tallied](r, "tallied"); err != nil {
		t.Fatal(err)
	}
	if err := RegisterEvent[talliedPersonal](r, "tallied.personal"); err != nil {
		t.Fatal(err)
	}
	plain := eventstore.RecordedEvent{ID: uuid.New(), Type: "tallied", Data: []byte(`{"N":7}`), Position: 1}
	personal := eventstore.RecordedEvent{ID: uuid.New(), Type: "tallied.personal", Data: []byte(`{"Subject":"s","Secret":"x"}`), Position: 2}
	c := newDecodeCache()
	decode := func(rec eventstore.RecordedEvent) Event {
		t.Helper()
		evs, err := c.decode(r, rec)
		if err != nil || len(evs) != 1 {
			t.Fatalf("decode %s: %v, %d events", rec.Type, err, len(evs))
		}
		return evs[0]
	}
	for range 3 {
		if ev := decode(plain); ev.Payload != (tallied{N: 7}) {
			t.Fatalf("payload = %#v", ev.Payload)
		}
		decode(personal)
	}
	if n := talliedDecodes.Load(); n != 1 {
		t.Errorf("an event asked for three times was decoded %d times, want once", n)
	}
	if n := talliedPersonalDecodes.Load(); n != 3 {
		t.Errorf("a personal event asked for three times was decoded %d times, want each time", n)
	}

	if err := RegisterEvent[struct{ X int }](r, "other"); err != nil {
		t.Fatal(err)
	}
	decode(plain)
	if n := talliedDecodes.Load(); n != 2 {
		t.Errorf("after a registration: %d decodings, want 2", n)
	}
	other := plain
	other.ID = uuid.New()
	decode(other)
	if n := talliedDecodes.Load(); n != 3 {
		t.Errorf("another event at the position: %d decodings, want 3", n)
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
	if len(c.entries) != decodeCacheSize || len(c.ring) != decodeCacheSize {
		t.Errorf("%d entries, %d in the ring, want %d", len(c.entries), len(c.ring), decodeCacheSize)
	}
	if _, ok := c.entries[3*decodeCacheSize]; !ok {
		t.Error("the latest position is not kept")
	}
}

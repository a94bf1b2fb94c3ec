package actors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// counted is an event that counts how often it is decoded.
type counted struct{ N int }

// countedDecodes counts the decodings of counted events.
var countedDecodes atomic.Int64

func (c *counted) UnmarshalJSON(b []byte) error {
	countedDecodes.Add(1)
	type plain counted
	return json.Unmarshal(b, (*plain)(c))
}

// TestSubscriptionsShareDecoding: the subscriptions of one process
// receive the same stored events and decode each of them once between
// them, not once each, and each handler sees every event's payload.
func TestSubscriptionsShareDecoding(t *testing.T) {
	const events = 20
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var data []eventstore.EventData
		for i := range events {
			data = append(data, eventstore.EventData{Type: "test.counted", Data: fmt.Appendf(nil, `{"N":%d}`, i)})
		}
		res, err := store.Append(context.Background(), "counted-1", eventstore.NoStream, data)
		must(t, err)
		last := res.LastPosition
		countedDecodes.Store(0)

		app := newBank(t, store)
		must(t, actors.RegisterEvent[counted](app.Registry(), "test.counted"))
		recs := make([]recorder, 3)
		for i := range recs {
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: fmt.Sprintf("h%d", i), Handler: recs[i].handler(), Concurrency: 1 + i%2}))
		}
		actorstest.Start(t, app)
		for i := range recs {
			waitFor(t, app, fmt.Sprintf("h%d", i), last)
		}
		for i := range recs {
			got := recs[i].all()
			if len(got) != events {
				t.Fatalf("handler h%d saw %d events, want %d", i, len(got), events)
			}
			for _, ev := range got {
				if c, ok := ev.Payload.(counted); !ok || int64(c.N) != ev.StreamVersion-1 {
					t.Errorf("handler h%d: event %d has payload %#v", i, ev.StreamVersion, ev.Payload)
				}
			}
		}
		if n := countedDecodes.Load(); n != events {
			t.Errorf("%d events decoded %d times for %d handlers, want once each", events, n, len(recs))
		}
	})
}

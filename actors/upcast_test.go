package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// legacyMovement is an old event, stored as "bank.Movement": a signed
// amount, in cents when the metadata says so.
type legacyMovement struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

// upcastMovement returns the stored event ev as the events of the current
// shape it stands for.
func upcastMovement(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
	var m legacyMovement
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		return nil, err
	}
	if ev.Metadata["unit"] == "cents" {
		m.Amount /= 100
	}
	ev.Metadata = actors.Metadata{"upcast-from": ev.Type, "unit": "euros"}
	if m.Amount < 0 {
		return []actors.StoredEvent{mustEvent(Withdrawn{ID: m.Account, Amount: -m.Amount}, ev.Metadata)}, nil
	}
	return []actors.StoredEvent{mustEvent(Deposited{ID: m.Account, Amount: m.Amount}, ev.Metadata)}, nil
}

// bankEvents names the bank's events as registerBankEvents does.
var bankEvents = func() *actors.Registry {
	r := actors.NewRegistry()
	actors.MustRegisterEvent[Deposited](r, "bank.Deposited")
	actors.MustRegisterEvent[Withdrawn](r, "bank.Withdrawn")
	return r
}()

// mustEvent is ev as a StoredEvent of its test-registered name.
func mustEvent(ev any, md actors.Metadata) actors.StoredEvent {
	name, data, err := bankEvents.Encode(ev)
	if err != nil {
		panic(err)
	}
	return actors.StoredEvent{Type: name, Data: data, Metadata: md}
}

// TestEventUpcasters: an upcaster that sees the metadata renames a stored
// event, splits it in two or drops it, and aggregates (on load) and event
// handlers see the result, on the memory store.
func TestEventUpcasters(t *testing.T) {
	for _, tt := range []struct {
		name     string
		stored   legacyMovement
		metadata string
		upcaster actors.EventUpcaster
		want     []any // payloads the handler sees for the stored event
		unit     string
		balance  int
		// partitions runs the handler in two partitions, each event of a
		// split in its own: the stored event's position is acknowledged
		// once both are handled.
		partitions bool
	}{
		{name: "rename", stored: legacyMovement{"a1", 7}, upcaster: upcastMovement,
			want: []any{Deposited{ID: "a1", Amount: 7}}, unit: "euros", balance: 7},
		{name: "metadata decides", stored: legacyMovement{"a1", 700}, metadata: `{"unit":"cents"}`, upcaster: upcastMovement,
			want: []any{Deposited{ID: "a1", Amount: 7}}, unit: "euros", balance: 7},
		{name: "split", stored: legacyMovement{"a1", 7},
			upcaster: func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
				// A deposit with a fee of 1, stored as one event.
				return []actors.StoredEvent{
					mustEvent(Deposited{ID: "a1", Amount: 7}, ev.Metadata),
					mustEvent(Withdrawn{ID: "a1", Amount: 1}, ev.Metadata),
				}, nil
			},
			want: []any{Deposited{ID: "a1", Amount: 7}, Withdrawn{ID: "a1", Amount: 1}}, balance: 6},
		{name: "split across partitions", stored: legacyMovement{"a1", 7}, partitions: true,
			upcaster: func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
				return []actors.StoredEvent{
					mustEvent(Deposited{ID: "a1", Amount: 7}, ev.Metadata),
					mustEvent(Withdrawn{ID: "a1", Amount: 1}, ev.Metadata),
				}, nil
			},
			want: []any{Deposited{ID: "a1", Amount: 7}, Withdrawn{ID: "a1", Amount: 1}}, balance: 6},
		{name: "split through a rename", stored: legacyMovement{"a1", -3},
			upcaster: func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
				return []actors.StoredEvent{
					{Type: "bank.Movement.v2", Data: ev.Data, Metadata: ev.Metadata},
					mustEvent(Deposited{ID: "a1", Amount: 10}, actors.Metadata{"unit": "euros"}),
				}, nil
			},
			want: []any{Withdrawn{ID: "a1", Amount: 3}, Deposited{ID: "a1", Amount: 10}}, unit: "euros", balance: 7},
		{name: "drop", stored: legacyMovement{"a1", 7},
			upcaster: func(actors.StoredEvent) ([]actors.StoredEvent, error) { return nil, nil },
			want:     nil, balance: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := memory.New()
			t.Cleanup(func() { _ = store.Close() })
			app := startBank(t, store)
			open(t, app, "a1")
			must(t, app.Close(ctx))
			data, _ := json.Marshal(tt.stored)
			var md json.RawMessage
			if tt.metadata != "" {
				md = json.RawMessage(tt.metadata)
			}
			res, err := store.Append(ctx, "account-a1", eventstore.Exact(1),
				[]eventstore.EventData{{Type: "bank.Movement", Data: data, Metadata: md}})
			must(t, err)

			app = newBank(t, store)
			must(t, app.Registry().RegisterEventUpcaster("bank.Movement", tt.upcaster))
			must(t, app.Registry().RegisterEventUpcaster("bank.Movement.v2", upcastMovement))
			var rec recorder
			cfg := actors.HandlerConfig{Name: "h", Handler: rec.handler()}
			if tt.partitions {
				cfg.Concurrency, cfg.PartitionBy = 2, func(ev actors.Event) string { return reflect.TypeOf(ev.Payload).String() }
			}
			must(t, app.RegisterHandler(cfg))
			actorstest.Start(t, app)
			if got := state(t, app, "a1"); got.Balance != tt.balance {
				t.Errorf("balance after load = %d, want %d", got.Balance, tt.balance)
			}
			waitFor(t, app, "h", res.LastPosition)
			var got []any
			var handled []actors.Event
			for _, ev := range rec.all() {
				if ev.Position == res.LastPosition {
					handled = append(handled, ev)
				}
			}
			if tt.partitions {
				slices.SortFunc(handled, func(a, b actors.Event) int {
					return strings.Compare(reflect.TypeOf(a.Payload).Name(), reflect.TypeOf(b.Payload).Name())
				})
			}
			for _, ev := range handled {
				got = append(got, ev.Payload)
				if ev.Type != "bank.Movement" {
					t.Errorf("envelope of %+v: want the stored event's name", ev)
				}
				if ev.Metadata["unit"] != tt.unit {
					t.Errorf("metadata = %v, want unit %q", ev.Metadata, tt.unit)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handled %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestEventUpcasterOnLoad: on both stores, an aggregate loads a stored
// event that an upcaster splits in two, and a command's result shows both.
func TestEventUpcasterOnLoad(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		app := startBank(t, store)
		open(t, app, "a1")
		must(t, app.Close(ctx))
		data, _ := json.Marshal(legacyMovement{"a1", 9})
		_, err := store.Append(ctx, "account-a1", eventstore.Exact(1), []eventstore.EventData{{Type: "bank.Movement", Data: data}})
		must(t, err)

		app = newBank(t, store)
		must(t, app.Registry().RegisterEventUpcaster("bank.Movement", func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
			return []actors.StoredEvent{
				mustEvent(Deposited{ID: "a1", Amount: 4}, nil),
				mustEvent(Deposited{ID: "a1", Amount: 5}, nil),
			}, nil
		}))
		actorstest.Start(t, app)
		if got := state(t, app, "a1"); got.Balance != 9 || got.Deposits != 2 {
			t.Errorf("state = %+v, want a balance of 9 from 2 deposits", got)
		}
		res := dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithReturning(actors.ReturnEvents))
		if len(res.Events) != 1 || res.Events[0].Payload != (Deposited{ID: "a1", Amount: 1}) {
			t.Errorf("result events = %+v", res.Events)
		}
	})
}

// TestDecodeEvents: DecodeEvents gives every event of a split, DecodeEvent
// refuses a split and gives a dropped event without a payload, and
// Registry.Decode takes only one-to-one upcasts.
func TestDecodeEvents(t *testing.T) {
	r := actors.NewRegistry()
	registerBankEvents(t, r)
	split := func(n int) actors.EventUpcaster {
		return func(actors.StoredEvent) ([]actors.StoredEvent, error) {
			var out []actors.StoredEvent
			for i := range n {
				out = append(out, mustEvent(Deposited{ID: strconv.Itoa(i)}, nil))
			}
			return out, nil
		}
	}
	must(t, r.RegisterEventUpcaster("two", split(2)))
	must(t, r.RegisterEventUpcaster("none", split(0)))
	must(t, r.RegisterEventUpcaster("bad", func(actors.StoredEvent) ([]actors.StoredEvent, error) {
		return nil, errors.New("bad")
	}))
	if err := r.RegisterUpcaster("two", upcastV1); err == nil {
		t.Error("a second upcaster, of the old form, for a name was accepted")
	}

	evs, err := actors.DecodeEvents(r, eventstore.RecordedEvent{Type: "two", Position: 4, StreamVersion: 2})
	if err != nil || len(evs) != 2 || evs[0].Payload != (Deposited{ID: "0"}) || evs[1].Payload != (Deposited{ID: "1"}) ||
		evs[1].Position != 4 || evs[1].StreamVersion != 2 {
		t.Errorf("DecodeEvents of a split = %+v, %v", evs, err)
	}
	if _, err := actors.DecodeEvent(r, eventstore.RecordedEvent{Type: "two"}); err == nil {
		t.Error("DecodeEvent of a split succeeded")
	}
	if _, err := r.Decode("two", nil); err == nil {
		t.Error("Registry.Decode of a split succeeded")
	}
	if ev, err := actors.DecodeEvent(r, eventstore.RecordedEvent{Type: "none", Position: 5}); err != nil || ev.Payload != nil || ev.Position != 5 {
		t.Errorf("DecodeEvent of a dropped event = %+v, %v", ev, err)
	}
	if evs, err := actors.DecodeEvents(r, eventstore.RecordedEvent{Type: "none"}); err != nil || len(evs) != 0 {
		t.Errorf("DecodeEvents of a dropped event = %+v, %v", evs, err)
	}
	if evs, err := actors.DecodeEvents(r, eventstore.RecordedEvent{Type: "bad", Position: 6}); err == nil || len(evs) != 1 || evs[0].Position != 6 {
		t.Errorf("DecodeEvents with a failing upcaster = %+v, %v", evs, err)
	}
}

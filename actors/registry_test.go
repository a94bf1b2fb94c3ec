package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// TestRegistry: names map to types and back; names and types are unique.
func TestRegistry(t *testing.T) {
	r := actors.NewRegistry()
	must(t, actors.RegisterEvent[Deposited](r, "bank.Deposited"))
	must(t, actors.RegisterEvent[Deposited](r, "bank.Deposited")) // again, same name: fine
	for _, err := range []error{
		actors.RegisterEvent[Deposited](r, "other"),
		actors.RegisterEvent[Withdrawn](r, "bank.Deposited"),
		actors.RegisterEvent[Withdrawn](r, ""),
	} {
		if err == nil {
			t.Error("a conflicting registration succeeded")
		}
	}
	name, data, err := r.Encode(Deposited{ID: "a1", Amount: 3})
	must(t, err)
	ev, err := r.Decode(name, data)
	if err != nil || ev != (Deposited{ID: "a1", Amount: 3}) {
		t.Errorf("round trip = %#v, %v", ev, err)
	}
	if _, _, err := r.Encode(&Deposited{}); !errors.Is(err, actors.ErrUnregisteredEvent) {
		t.Errorf("encoding a pointer: %v", err)
	}
	var u *actors.UnregisteredEventError
	if _, err := r.Decode("nope", nil); !errors.As(err, &u) || u.Type != "nope" {
		t.Errorf("decoding an unknown name: %v", err)
	}
	if _, err := r.Decode("bank.Deposited", []byte(`{"Amount":"x"}`)); err == nil || errors.Is(err, actors.ErrUnregisteredEvent) {
		t.Errorf("decoding bad data: %v", err)
	}
}

// DepositedV1 is the old shape of a deposit, stored as "bank.Deposit"
// with the amount in cents under "cents".
type depositedV1 struct {
	Account string `json:"account"`
	Cents   int    `json:"cents"`
}

// upcastV1 renames "bank.Deposit" to "bank.Deposited.v2".
func upcastV1(_ string, data json.RawMessage) (string, json.RawMessage, error) {
	var v1 depositedV1
	if err := json.Unmarshal(data, &v1); err != nil {
		return "", nil, err
	}
	v2, err := json.Marshal(map[string]any{"ID": v1.Account, "Euros": float64(v1.Cents) / 100})
	return "bank.Deposited.v2", v2, err
}

// upcastV2 renames "bank.Deposited.v2" to the current "bank.Deposited".
func upcastV2(_ string, data json.RawMessage) (string, json.RawMessage, error) {
	var v2 struct {
		ID    string
		Euros float64
	}
	if err := json.Unmarshal(data, &v2); err != nil {
		return "", nil, err
	}
	cur, err := json.Marshal(Deposited{ID: v2.ID, Amount: int(v2.Euros)})
	return "bank.Deposited", cur, err
}

// TestUpcasters: upcasters chain through renames, one that keeps the name
// runs once, cycles and failures are errors.
func TestUpcasters(t *testing.T) {
	v1, _ := json.Marshal(depositedV1{Account: "a1", Cents: 500})
	tests := []struct {
		name    string
		setup   func(r *actors.Registry)
		typ     string
		data    string
		want    any
		wantErr bool
	}{
		{"chain of renames", func(r *actors.Registry) {
			must(t, r.RegisterUpcaster("bank.Deposit", upcastV1))
			must(t, r.RegisterUpcaster("bank.Deposited.v2", upcastV2))
		}, "bank.Deposit", string(v1), Deposited{ID: "a1", Amount: 5}, false},
		{"in place, once", func(r *actors.Registry) {
			must(t, r.RegisterUpcaster("bank.Deposited", func(typ string, data json.RawMessage) (string, json.RawMessage, error) {
				var d Deposited
				json.Unmarshal(data, &d)
				d.Amount *= 10
				out, _ := json.Marshal(d)
				return typ, out, nil
			}))
		}, "bank.Deposited", `{"ID":"a1","Amount":2}`, Deposited{ID: "a1", Amount: 20}, false},
		{"current events untouched", func(r *actors.Registry) {
			must(t, r.RegisterUpcaster("bank.Deposit", upcastV1))
		}, "bank.Deposited", `{"ID":"a1","Amount":2}`, Deposited{ID: "a1", Amount: 2}, false},
		{"cycle", func(r *actors.Registry) {
			must(t, r.RegisterUpcaster("x", func(_ string, d json.RawMessage) (string, json.RawMessage, error) { return "y", d, nil }))
			must(t, r.RegisterUpcaster("y", func(_ string, d json.RawMessage) (string, json.RawMessage, error) { return "x", d, nil }))
		}, "x", `{}`, nil, true},
		{"failure", func(r *actors.Registry) {
			must(t, r.RegisterUpcaster("bank.Deposit", upcastV1))
		}, "bank.Deposit", `[]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := actors.NewRegistry()
			registerBankEvents(t, r)
			tt.setup(r)
			got, err := r.Decode(tt.typ, []byte(tt.data))
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode = %#v, %v", got, err)
			}
		})
	}
	r := actors.NewRegistry()
	must(t, r.RegisterUpcaster("bank.Deposit", upcastV1))
	if err := r.RegisterUpcaster("bank.Deposit", upcastV1); err == nil {
		t.Error("a second upcaster for a name was accepted")
	}
}

// TestUpcastersInTheApp: events stored in an old shape reach aggregates and
// handlers upcast.
func TestUpcastersInTheApp(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		app := startBank(t, store)
		open(t, app, "a1")
		must(t, app.Close(ctx))
		v1, _ := json.Marshal(depositedV1{Account: "a1", Cents: 700})
		res, err := store.Append(ctx, "account-a1", eventstore.Exact(1), []eventstore.EventData{{Type: "bank.Deposit", Data: v1}})
		must(t, err)

		app = newBank(t, store)
		must(t, app.Registry().RegisterUpcaster("bank.Deposit", upcastV1))
		must(t, app.Registry().RegisterUpcaster("bank.Deposited.v2", upcastV2))
		var rec recorder
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler()}))
		actorstest.Start(t, app)
		if got := state(t, app, "a1"); got.Balance != 7 || got.Deposits != 1 {
			t.Errorf("state = %+v", got)
		}
		waitFor(t, app, "h", res.LastPosition)
		evs := rec.all()
		if len(evs) != 2 || evs[1].Payload != (Deposited{ID: "a1", Amount: 7}) || evs[1].Type != "bank.Deposit" {
			t.Errorf("handled %+v", evs)
		}
		ev := actorstest.WaitForEvent(t, store, app.Registry(), 0, actorstest.Is[Deposited](), patience)
		if ev.Payload != (Deposited{ID: "a1", Amount: 7}) {
			t.Errorf("WaitForEvent = %+v", ev)
		}
	})
}

// TestUndecodableEvents: an event whose data does not decode goes to the
// handler's error policy, and fails its aggregate's commands.
func TestUndecodableEvents(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		_, err := store.Append(ctx, "account-bad", eventstore.Any, []eventstore.EventData{{Type: "bank.AccountOpened", Data: []byte(`{"ID":7}`)}})
		must(t, err)
		var rec recorder
		var failures []actors.Failure
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler(),
			OnError: func(f actors.Failure) actors.Decision {
				failures = append(failures, f)
				return actors.SkipEvent
			}}))
		actorstest.Start(t, app)
		last := dispatch(t, app, OpenAccount{ID: "a1"}).Position
		waitFor(t, app, "h", last)
		if len(failures) != 1 || failures[0].Event.Position != 1 || failures[0].Event.Type != "bank.AccountOpened" {
			t.Errorf("failures = %+v", failures)
		}
		if evs := rec.all(); len(evs) != 1 || evs[0].Position != last {
			t.Errorf("handled %+v", evs)
		}
		if _, err := app.Dispatch(ctx, Deposit{ID: "bad", Amount: 1}); err == nil || errors.Is(err, actors.ErrValidation) {
			t.Errorf("command on an aggregate with an undecodable event: %v", err)
		}
	})
}

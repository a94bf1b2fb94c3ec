package actors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// bonus is a slow two-step workflow: an account opened gets a welcome
// deposit of 10, and a welcome deposit a bonus of 5.
type bonus struct{ Step int }

func bonusInterest(ev actors.Event) []actors.Interest {
	switch e := ev.Payload.(type) {
	case AccountOpened:
		return []actors.Interest{actors.StartProcess(e.ID)}
	case Deposited:
		if e.Amount == 10 {
			return []actors.Interest{actors.ContinueProcess(e.ID)}
		}
	}
	return nil
}

func (b *bonus) Handle(ev actors.Event) ([]any, error) {
	time.Sleep(30 * time.Millisecond) // the follow-up comes well after the command
	switch e := ev.Payload.(type) {
	case AccountOpened:
		return []any{Deposit{ID: e.ID, Amount: 10}}, nil
	case Deposited:
		return []any{Deposit{ID: e.ID, Amount: 5}}, nil
	}
	return nil, nil
}

func (b *bonus) Apply(any) { b.Step++ }

// TestWaitForCausal: a causal wait returns once the named projector has
// handled every event that descends from the command, the events of the
// commands a process manager dispatched in turn included, and not merely
// the command's own events.
func TestWaitForCausal(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var proj recorder
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: proj.handler()}))
		must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name: "bonus", New: func() actors.ProcessManager { return &bonus{} }, Interested: bonusInterest,
		}))
		actorstest.Start(t, app)
		ctx := t.Context()
		correlation := uuid.New()
		res := dispatch(t, app, OpenAccount{ID: "a"}, actors.WithCorrelationID(correlation))
		if err := app.WaitForCausal(ctx, correlation, res.Position, "projection"); err != nil {
			t.Fatal(err)
		}
		var deposits []int
		for _, ev := range proj.all() {
			if d, ok := ev.Payload.(Deposited); ok && d.ID == "a" {
				if ev.CorrelationID != correlation {
					t.Errorf("deposit with correlation %v, want %v", ev.CorrelationID, correlation)
				}
				deposits = append(deposits, d.Amount)
			}
		}
		if len(deposits) != 2 {
			t.Fatalf("after the causal wait the projection has the deposits %v, want both the welcome and the bonus", deposits)
		}
		handled := proj.positions()
		for _, ev := range allEvents(t, store) {
			if ev.CorrelationID == correlation && handled[ev.Position] == 0 {
				t.Errorf("%s at %d descends from the command and was not handled", ev.Type, ev.Position)
			}
		}
	})
}

// TestWaitForCausalEnds: a causal wait fails for an unknown handler, ends
// with its context, and returns at once for a correlation with nothing
// after the given position.
func TestWaitForCausalEnds(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		block := make(chan struct{})
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "stuck", Handler: actors.HandlerFunc(func(ctx context.Context, _ actors.Event) error {
			select {
			case <-block:
			case <-ctx.Done():
			}
			return nil
		})}))
		actorstest.Start(t, app)
		t.Cleanup(func() { close(block) }) // before Close, which waits for the handler
		ctx := t.Context()
		correlation := uuid.New()
		if err := app.WaitForCausal(ctx, correlation, 0, "stuck"); err != nil {
			t.Fatalf("nothing with the correlation: %v", err)
		}
		if err := app.WaitForCausal(ctx, correlation, 0, "nobody"); !errors.Is(err, actors.ErrHandlerNotFound) {
			t.Fatalf("unknown handler: %v, want ErrHandlerNotFound", err)
		}
		res := dispatch(t, app, OpenAccount{ID: "a"}, actors.WithCorrelationID(correlation))
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := app.WaitForCausal(short, correlation, res.Position, "stuck"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stuck handler: %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestWaitForCausalAcrossProcesses: two applications on one store, each
// registering the projector and the process manager; whichever process
// holds them, a causal wait in the first returns once every event of the
// workflow has been handled by the projector.
func TestWaitForCausalAcrossProcesses(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		recs := make([]*recorder, 2)
		apps := make([]*actors.App, 2)
		for i, s := range stores {
			recs[i] = &recorder{}
			apps[i] = newBank(t, s)
			must(t, apps[i].RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: recs[i].handler()}))
			must(t, apps[i].RegisterProcessManager(actors.ProcessManagerConfig{
				Name: "bonus", New: func() actors.ProcessManager { return &bonus{} }, Interested: bonusInterest,
			}))
			actorstest.Start(t, apps[i])
		}
		for i, id := range []string{"a", "b", "c"} {
			correlation := uuid.New()
			res := dispatch(t, apps[i%2], OpenAccount{ID: id}, actors.WithCorrelationID(correlation))
			if err := apps[i%2].WaitForCausal(t.Context(), correlation, res.Position, "projection"); err != nil {
				t.Fatal(err)
			}
			handled := recs[0].positions()
			for p, n := range recs[1].positions() {
				handled[p] += n
			}
			var n int
			for _, ev := range allEvents(t, stores[0]) {
				if ev.CorrelationID != correlation {
					continue
				}
				n++
				if handled[ev.Position] == 0 {
					t.Errorf("%s at %d descends from the command and was not handled", ev.Type, ev.Position)
				}
			}
			if n != 3 {
				t.Fatalf("%d events with the correlation, want 3 (opened, welcome, bonus)", n)
			}
		}
	})
}

package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// The bank: accounts are aggregates; a transfer process moves money.

type (
	OpenAccount struct {
		ID    string
		Owner string
	}
	Deposit struct {
		ID     string
		Amount int
	}
	Withdraw struct {
		ID     string
		Amount int
	}
	// Crash panics in Execute.
	Crash struct{ ID string }
	// Stall blocks Execute until Until is closed.
	Stall struct {
		ID      string
		Started chan<- struct{}
		Until   <-chan struct{}
	}
	// Touch succeeds and appends nothing.
	Touch struct{ ID string }
	// NoRoute has no route.
	NoRoute struct{ ID string }

	AccountOpened struct {
		ID    string
		Owner string
	}
	Deposited struct {
		ID     string
		Amount int
	}
	Withdrawn struct {
		ID     string
		Amount int
	}
)

var (
	errNotOpen           = errors.New("account not open")
	errInsufficientFunds = errors.New("insufficient funds")
)

// Account is the aggregate.
type Account struct {
	ID       string
	Owner    string
	Open     bool
	Balance  int
	Deposits int
}

func newAccount() actors.Aggregate { return &Account{} }

func (a *Account) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case OpenAccount:
		if a.Open {
			return nil, nil
		}
		return []any{AccountOpened{ID: c.ID, Owner: c.Owner}}, nil
	case Deposit:
		if !a.Open {
			return nil, errNotOpen
		}
		return []any{Deposited{ID: c.ID, Amount: c.Amount}}, nil
	case Withdraw:
		if !a.Open {
			return nil, errNotOpen
		}
		if c.Amount > a.Balance {
			return nil, errInsufficientFunds
		}
		return []any{Withdrawn{ID: c.ID, Amount: c.Amount}}, nil
	case Crash:
		panic("crash in " + c.ID)
	case Stall:
		if c.Started != nil {
			close(c.Started)
		}
		<-c.Until
		return nil, nil
	case Touch:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown command %T", cmd)
}

func (a *Account) Apply(ev any) {
	switch e := ev.(type) {
	case AccountOpened:
		a.ID, a.Owner, a.Open = e.ID, e.Owner, true
	case Deposited:
		a.Balance += e.Amount
		a.Deposits++
	case Withdrawn:
		a.Balance -= e.Amount
	}
}

// bank configures a test application.
type bank struct {
	cfg      actors.Config
	agg      actors.AggregateType
	creating bool // OpenAccount and Deposit routed with actors.Creating
}

type bankOption func(*bank)

func withConfig(f func(*actors.Config)) bankOption { return func(b *bank) { f(&b.cfg) } }
func withAggregate(f func(*actors.AggregateType)) bankOption {
	return func(b *bank) { f(&b.agg) }
}

// creatingRoutes routes OpenAccount and Deposit with actors.Creating.
func creatingRoutes(b *bank) { b.creating = true }

// newBank returns an application on store with the account aggregate and
// its routes registered, not started.
func newBank(t testing.TB, store actors.EventStore, opts ...bankOption) *actors.App {
	t.Helper()
	b := bank{
		cfg: actors.Config{Store: store, DispatchTimeout: patience},
		agg: actors.AggregateType{Name: "account", New: newAccount},
	}
	for _, o := range opts {
		o(&b)
	}
	app, err := actors.New(b.cfg)
	must(t, err)
	registerBankEvents(t, app.Registry())
	must(t, app.RegisterAggregate(b.agg))
	var create []actors.RouteOption
	if b.creating {
		create = append(create, actors.Creating())
	}
	must(t, actors.Route(app, "account", func(c OpenAccount) string { return c.ID }, create...))
	must(t, actors.Route(app, "account", func(c Deposit) string { return c.ID }, create...))
	must(t, actors.Route(app, "account", func(c Withdraw) string { return c.ID }))
	must(t, actors.Route(app, "account", func(c Crash) string { return c.ID }))
	must(t, actors.Route(app, "account", func(c Stall) string { return c.ID }))
	must(t, actors.Route(app, "account", func(c Touch) string { return c.ID }))
	return app
}

func registerBankEvents(t testing.TB, r *actors.Registry) {
	t.Helper()
	must(t, actors.RegisterEvent[AccountOpened](r, "bank.AccountOpened"))
	must(t, actors.RegisterEvent[Deposited](r, "bank.Deposited"))
	must(t, actors.RegisterEvent[Withdrawn](r, "bank.Withdrawn"))
}

// startBank is newBank, started (and closed at cleanup).
func startBank(t testing.TB, store actors.EventStore, opts ...bankOption) *actors.App {
	t.Helper()
	return actorstest.Start(t, newBank(t, store, opts...))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dispatch is actorstest.Dispatch.
func dispatch(t testing.TB, app *actors.App, cmd any, opts ...actors.DispatchOption) actors.Result {
	t.Helper()
	return actorstest.Dispatch(t, app, cmd, opts...)
}

// open opens accounts.
func open(t testing.TB, app *actors.App, ids ...string) {
	t.Helper()
	for _, id := range ids {
		dispatch(t, app, OpenAccount{ID: id, Owner: "owner of " + id})
	}
}

// state returns an account's state as its aggregate actor holds it.
func state(t testing.TB, app *actors.App, id string) *Account {
	t.Helper()
	res := dispatch(t, app, Touch{ID: id}, actors.WithReturning(actors.ReturnState))
	acc, ok := actors.StateAs[*Account](res)
	if !ok {
		t.Fatalf("state of %s: %T", id, res.State)
	}
	return acc
}

// freshState returns an account's state after a deposit of 0, which
// appends and so catches up with what other processes wrote.
func freshState(t testing.TB, app *actors.App, id string) *Account {
	t.Helper()
	res := dispatch(t, app, Deposit{ID: id}, actors.WithReturning(actors.ReturnState))
	acc, _ := actors.StateAs[*Account](res)
	return acc
}

// patience bounds waits for things that should happen soon: generous, so
// that a loaded machine does not fail the tests; it only delays failures.
const patience = 20 * time.Second

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor waits until handler has processed position.
func waitFor(t testing.TB, app *actors.App, handler string, position int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := app.WaitFor(ctx, handler, position); err != nil {
		t.Fatalf("wait for %s to reach %d: %v", handler, position, err)
	}
}

// streamLen returns how many events a stream holds (0 if it does not exist).
func streamLen(t testing.TB, store actors.EventStore, stream string) int {
	t.Helper()
	n := 0
	for _, err := range eventstore.StreamEvents(context.Background(), store, stream, 0, 0) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return 0
		}
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		n++
	}
	return n
}

// recorder collects handled events, safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	events []actors.Event
}

func (r *recorder) add(ev actors.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) all() []actors.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]actors.Event(nil), r.events...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// handler returns an EventHandler recording every event.
func (r *recorder) handler() actors.EventHandler {
	return actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
		r.add(ev)
		return nil
	})
}

// positions counts how often each position was recorded.
func (r *recorder) positions() map[int64]int {
	m := map[int64]int{}
	for _, ev := range r.all() {
		m[ev.Position]++
	}
	return m
}

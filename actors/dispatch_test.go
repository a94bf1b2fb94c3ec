package actors_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// TestDispatchErrors checks each typed error a dispatch returns, and that a
// failed command changes nothing.
func TestDispatchErrors(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store)
		open(t, app, "a1")
		dispatch(t, app, Deposit{ID: "a1", Amount: 10})
		release := make(chan struct{})
		defer close(release)

		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		tests := []struct {
			name  string
			ctx   context.Context
			cmd   any
			opts  []actors.DispatchOption
			is    []error
			check func(t *testing.T, err error)
		}{
			{name: "unregistered command", cmd: NoRoute{ID: "a1"}, is: []error{actors.ErrUnregisteredCommand},
				check: func(t *testing.T, err error) {
					var u *actors.UnregisteredCommandError
					if !errors.As(err, &u) || u.Type != "actors_test.NoRoute" {
						t.Errorf("UnregisteredCommandError = %+v", u)
					}
				}},
			{name: "missing identity", cmd: Deposit{Amount: 1}, is: []error{actors.ErrMissingIdentity}},
			{name: "validation", cmd: Withdraw{ID: "a1", Amount: 11}, is: []error{actors.ErrValidation, errInsufficientFunds},
				check: func(t *testing.T, err error) {
					var v *actors.ValidationError
					if !errors.As(err, &v) || v.Aggregate != "account" || v.ID != "a1" {
						t.Errorf("ValidationError = %+v", v)
					}
				}},
			{name: "validation of a new aggregate", cmd: Deposit{ID: "new", Amount: 1}, is: []error{actors.ErrValidation, errNotOpen}},
			{name: "expected version", cmd: Deposit{ID: "a1", Amount: 1}, opts: []actors.DispatchOption{actors.WithExpectedVersion(1)},
				is: []error{actors.ErrVersionConflict, eventstore.ErrVersionConflict},
				check: func(t *testing.T, err error) {
					var vc *eventstore.VersionConflictError
					if !errors.As(err, &vc) || vc.Actual != 2 || vc.Expected != 1 {
						t.Errorf("VersionConflictError = %+v", vc)
					}
				}},
			{name: "timeout", cmd: Stall{ID: "a2", Until: release}, opts: []actors.DispatchOption{actors.WithTimeout(50 * time.Millisecond)},
				is: []error{actors.ErrTimeout, context.DeadlineExceeded}},
			{name: "canceled", ctx: canceled, cmd: Deposit{ID: "a1", Amount: 1}, is: []error{context.Canceled}},
			{name: "panic", cmd: Crash{ID: "a3"}, is: []error{actors.ErrAggregateStopped},
				check: func(t *testing.T, err error) {
					var p *actors.PanicError
					if !errors.As(err, &p) || p.Value != "crash in a3" || len(p.Stack) == 0 {
						t.Errorf("PanicError = %+v", p)
					}
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := tt.ctx
				if ctx == nil {
					ctx = context.Background()
				}
				_, err := app.Dispatch(ctx, tt.cmd, tt.opts...)
				if err == nil {
					t.Fatal("dispatch succeeded")
				}
				for _, target := range tt.is {
					if !errors.Is(err, target) {
						t.Errorf("error %v does not match %v", err, target)
					}
				}
				if tt.name == "canceled" && errors.Is(err, actors.ErrTimeout) {
					t.Errorf("a cancellation reported as a timeout: %v", err)
				}
				if tt.check != nil {
					tt.check(t, err)
				}
			})
		}
		// Nothing failed changed the account.
		if got := state(t, app, "a1"); got.Balance != 10 || got.Deposits != 1 {
			t.Errorf("state after failures = %+v", got)
		}
		if n := streamLen(t, store, "account-a1"); n != 2 {
			t.Errorf("stream has %d events, want 2", n)
		}
		if n := streamLen(t, store, "account-new"); n != 0 {
			t.Errorf("a refused command created a stream of %d events", n)
		}
	})
}

// TestDispatchAfterClose: a closed application refuses commands.
func TestDispatchAfterClose(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		if _, err := app.Dispatch(context.Background(), OpenAccount{ID: "a1"}); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("before Start: %v", err)
		}
		must(t, app.Start(t.Context()))
		open(t, app, "a1")
		must(t, app.Close(context.Background()))
		must(t, app.Close(context.Background())) // twice is fine
		if _, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1}); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("after Close: %v", err)
		}
		if err := app.Start(t.Context()); err == nil {
			t.Error("Start after Close succeeded")
		}
		if err := app.RegisterAggregate(actors.AggregateType{Name: "late", New: newAccount}); err == nil {
			t.Error("RegisterAggregate after Start succeeded")
		}
	})
}

// TestDispatchTimeoutDefault: Config.DispatchTimeout bounds a dispatch
// without its own timeout, and a command that waited out its deadline in
// the mailbox is not executed.
func TestDispatchTimeoutDefault(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store, withConfig(func(c *actors.Config) { c.DispatchTimeout = 100 * time.Millisecond }))
		// The account's first load may take longer than the default on a
		// loaded machine: that is not what this test is about.
		dispatch(t, app, OpenAccount{ID: "a1", Owner: "ann"}, actors.WithTimeout(patience))
		release := make(chan struct{})
		started := make(chan struct{})
		stalled := make(chan error, 1)
		go func() {
			_, err := app.Dispatch(context.Background(), Stall{ID: "a1", Started: started, Until: release}, actors.WithTimeout(patience))
			stalled <- err
		}()
		<-started
		begin := time.Now()
		// Queued behind the stall, this deposit runs out of time.
		_, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 5})
		took := time.Since(begin)
		if !errors.Is(err, actors.ErrTimeout) {
			t.Fatalf("dispatch = %v, want a timeout", err)
		}
		if took < 90*time.Millisecond || took > 5*time.Second {
			t.Errorf("timed out after %v, want about 100ms", took)
		}
		close(release)
		must(t, <-stalled)
		if got := state(t, app, "a1"); got.Balance != 0 {
			t.Errorf("a command that timed out in the mailbox was executed: %+v", got)
		}
	})
}

// TestDispatchReturning checks what a result carries with each Returning,
// and that Position is the global position of the command's last event.
func TestDispatchReturning(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store, withAggregate(func(a *actors.AggregateType) { a.StreamPrefix = "bank/account/" }))
		r := dispatch(t, app, OpenAccount{ID: "a1", Owner: "ann"})
		if r.AggregateID != "a1" || r.StreamID != "bank/account/a1" || r.Version != 1 || r.Position <= 0 || r.Events != nil || r.State != nil || r.Duplicate {
			t.Errorf("ReturnVersion result = %+v", r)
		}
		r2 := dispatch(t, app, Deposit{ID: "a1", Amount: 7}, actors.WithReturning(actors.ReturnEvents))
		if r2.Version != 2 || r2.Position <= r.Position || len(r2.Events) != 1 {
			t.Fatalf("ReturnEvents result = %+v", r2)
		}
		ev := r2.Events[0]
		if !reflect.DeepEqual(ev.Payload, Deposited{ID: "a1", Amount: 7}) || ev.Type != "bank.Deposited" ||
			ev.StreamID != "bank/account/a1" || ev.StreamVersion != 2 || ev.Position != r2.Position {
			t.Errorf("returned event = %+v", ev)
		}
		r3 := dispatch(t, app, Deposit{ID: "a1", Amount: 3}, actors.WithReturning(actors.ReturnState))
		acc, ok := actors.StateAs[*Account](r3)
		if !ok || *acc != (Account{ID: "a1", Owner: "ann", Open: true, Balance: 10, Deposits: 2}) {
			t.Errorf("ReturnState state = %#v", r3.State)
		}
		// The state is a copy.
		acc.Balance = 1000
		if got := state(t, app, "a1"); got.Balance != 10 {
			t.Errorf("changing a returned state changed the aggregate: %+v", got)
		}
		// A command that appends nothing returns the version and no position.
		r4 := dispatch(t, app, Touch{ID: "a1"})
		if r4.Version != 3 || r4.Position != 0 {
			t.Errorf("no-op result = %+v", r4)
		}
	})
}

// TestDispatchMetadataAndIDs: events carry the command's metadata,
// correlation id, and the command id as causation id; a dispatch without a
// correlation id gets a new one.
func TestDispatchMetadataAndIDs(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store)
		cmdID, corr, cause := uuid.New(), uuid.New(), uuid.New()
		var seen *actors.Command
		_ = seen
		r := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithReturning(actors.ReturnEvents),
			actors.WithCommandID(cmdID), actors.WithCorrelationID(corr), actors.WithCausationID(cause),
			actors.WithMetadata(actors.Metadata{"user": "u1"}), actors.WithMetadata(actors.Metadata{"trace": "t1"}))
		ev := r.Events[0]
		if ev.CausationID != cmdID || ev.CorrelationID != corr || ev.Metadata["user"] != "u1" || ev.Metadata["trace"] != "t1" {
			t.Errorf("event = %+v", ev)
		}
		var corrs []uuid.UUID
		for range 2 {
			r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithReturning(actors.ReturnEvents))
			ev := r.Events[0]
			if ev.CorrelationID == uuid.Nil || ev.CausationID == uuid.Nil || ev.CausationID == ev.CorrelationID {
				t.Errorf("event without given ids = %+v", ev)
			}
			corrs = append(corrs, ev.CorrelationID)
		}
		if corrs[0] == corrs[1] {
			t.Error("two dispatches got the same new correlation id")
		}
	})
}

// TestMiddleware: middleware runs in order around dispatch, can change the
// command, and sees the outcome, failures included.
func TestMiddleware(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		var mu sync.Mutex
		var log []string
		record := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
		mw := func(name string) actors.Middleware {
			return func(next actors.DispatchFunc) actors.DispatchFunc {
				return func(ctx context.Context, cmd *actors.Command) (actors.Result, error) {
					record(name + " before " + cmd.AggregateType + "/" + cmd.AggregateID)
					if cmd.Metadata == nil {
						cmd.Metadata = actors.Metadata{}
					}
					cmd.Metadata[name] = "seen"
					res, err := next(ctx, cmd)
					switch {
					case errors.Is(err, actors.ErrValidation):
						record(name + " failure validation")
					case err != nil:
						record(name + " failure " + err.Error())
					default:
						record(name + " after " + string(rune('0'+res.Version)))
					}
					return res, err
				}
			}
		}
		refuse := func(next actors.DispatchFunc) actors.DispatchFunc {
			return func(ctx context.Context, cmd *actors.Command) (actors.Result, error) {
				if w, ok := cmd.Payload.(Withdraw); ok && w.Amount > 100 {
					return actors.Result{}, errors.New("refused by middleware")
				}
				return next(ctx, cmd)
			}
		}
		must(t, app.Use(mw("outer"), mw("inner")))
		must(t, app.Use(refuse))
		actorstest.Start(t, app)
		if err := app.Use(refuse); err == nil {
			t.Error("Use after Start succeeded")
		}

		r := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithReturning(actors.ReturnEvents))
		if md := r.Events[0].Metadata; md["outer"] != "seen" || md["inner"] != "seen" {
			t.Errorf("metadata set by middleware = %v", md)
		}
		_, err := app.Dispatch(context.Background(), Withdraw{ID: "a1", Amount: 5})
		if !errors.Is(err, errInsufficientFunds) {
			t.Fatalf("withdraw: %v", err)
		}
		_, err = app.Dispatch(context.Background(), Withdraw{ID: "a1", Amount: 500})
		if err == nil || err.Error() != "refused by middleware" {
			t.Fatalf("refused withdraw: %v", err)
		}
		want := []string{
			"outer before account/a1", "inner before account/a1", "inner after 1", "outer after 1",
			"outer before account/a1", "inner before account/a1", "inner failure validation", "outer failure validation",
			"outer before account/a1", "inner before account/a1", "inner failure refused by middleware", "outer failure refused by middleware",
		}
		if !slices.Equal(log, want) {
			t.Errorf("middleware log:\n got %q\nwant %q", log, want)
		}
	})
}

// TestOneCommandAtATime: an aggregate runs one command at a time, while a
// stalled aggregate does not hold up the others (even in its shard), and
// concurrent commands to one aggregate lose no update.
func TestOneCommandAtATime(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store, withConfig(func(c *actors.Config) { c.Shards = 1 }))
		open(t, app, "a1", "a2")
		release, started := make(chan struct{}), make(chan struct{})
		stalled := make(chan error, 1)
		go func() {
			_, err := app.Dispatch(context.Background(), Stall{ID: "a1", Started: started, Until: release})
			stalled <- err
		}()
		<-started
		if _, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1}, actors.WithTimeout(50*time.Millisecond)); !errors.Is(err, actors.ErrTimeout) {
			t.Errorf("a command ran beside a stalled one: %v", err)
		}
		dispatch(t, app, Deposit{ID: "a2", Amount: 1}, actors.WithTimeout(10*time.Second))
		close(release)
		must(t, <-stalled)

		const workers, each = 8, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if _, err := app.Dispatch(context.Background(), Deposit{ID: "a2", Amount: w*each + i}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		sum := 1
		for i := range workers * each {
			sum += i
		}
		if got := state(t, app, "a2"); got.Balance != sum || got.Deposits != workers*each+1 {
			t.Errorf("after %d concurrent deposits: %+v, want balance %d", workers*each, got, sum)
		}
	})
}

// TestMiddlewareCommandID: an id that middleware gives the command makes
// the dispatch idempotent, as the caller's would.
func TestMiddlewareCommandID(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		key := uuid.New()
		// The middleware derives the id from a request key in the metadata.
		must(t, app.Use(func(next actors.DispatchFunc) actors.DispatchFunc {
			return func(ctx context.Context, cmd *actors.Command) (actors.Result, error) {
				if k := cmd.Metadata["request"]; k != "" {
					cmd.ID = uuid.NewSHA1(key, []byte(k))
				}
				return next(ctx, cmd)
			}
		}))
		actorstest.Start(t, app)
		open(t, app, "a1")
		req := actors.WithMetadata(actors.Metadata{"request": "r1"})
		first := dispatch(t, app, Deposit{ID: "a1", Amount: 5}, req)
		again := dispatch(t, app, Deposit{ID: "a1", Amount: 5}, req)
		if first.Duplicate || !again.Duplicate || again.Version != first.Version || again.Position != first.Position {
			t.Errorf("first %+v, repeat %+v: want the repeat to be a duplicate", first, again)
		}
		if got := state(t, app, "a1"); got.Balance != 5 {
			t.Errorf("balance %d, want 5", got.Balance)
		}
		// Without an id from the caller or middleware, nothing is remembered.
		dispatch(t, app, Deposit{ID: "a1", Amount: 1})
		if r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}); r.Duplicate {
			t.Errorf("a command without an id was taken for a duplicate: %+v", r)
		}
	})
}

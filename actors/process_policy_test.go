package actors_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// TestProcessManagerDefaultPolicyRefusal: with the default error policy, a
// command the aggregate refuses (insufficient funds) skips that command at
// once; the process manager goes on for every other instance (it was
// retried 10 times, about 21 s, and then the whole process manager
// stopped).
func TestProcessManagerDefaultPolicyRefusal(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := actorstest.Start(t, newTransfers(t, store, actors.ProcessManagerConfig{Consistency: actors.Strong}))
		open(t, app, "a1", "a2", "a3")
		dispatch(t, app, Deposit{ID: "a3", Amount: 100})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// a1 has nothing: the withdrawal is refused.
		if _, err := app.Dispatch(ctx, RequestTransfer{TransferID: "t1", From: "a1", To: "a2", Amount: 100},
			actors.WithMetadata(actors.Metadata{"transfer": "t1"}), actors.WithConsistency(actors.Strong)); err != nil {
			t.Fatalf("the refused transfer: %v", err)
		}
		// Another instance goes on.
		if _, err := app.Dispatch(ctx, RequestTransfer{TransferID: "t2", From: "a3", To: "a2", Amount: 40},
			actors.WithMetadata(actors.Metadata{"transfer": "t2"}), actors.WithConsistency(actors.Strong)); err != nil {
			t.Fatalf("the next transfer: %v", err)
		}
		eventually(t, patience, "a2 credited by t2", func() bool { return state(t, app, "a2").Balance == 40 })
		if got := state(t, app, "a1"); got.Balance != 0 {
			t.Errorf("a1 = %+v", got)
		}
	})
}

// TestProcessManagerFailureContext: a refused command reaches the policy
// at once, marked Refused; one that fails otherwise is not marked, and is
// retried. Either way the failure names the instance and carries its
// state before the event, from which a policy builds a compensating
// command.
func TestProcessManagerFailureContext(t *testing.T) {
	errFlaky := errors.New("flaky")
	tests := []struct {
		name      string
		open      bool // a2 is open: its deposit is not refused
		failFirst int  // deposits failed by a middleware, before they reach a2
		refused   bool
	}{
		{name: "refused", refused: true},
		{name: "transient", open: true, failFirst: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				var mu sync.Mutex
				var failures []actors.Failure
				app := newTransfers(t, store, actors.ProcessManagerConfig{Consistency: actors.Strong,
					OnError: func(f actors.Failure) actors.Decision {
						mu.Lock()
						failures = append(failures, f)
						mu.Unlock()
						if f.Refused {
							return actors.Compensate(FailTransfer{TransferID: f.State.(*Transfer).ID, Reason: f.Err.Error()})
						}
						return actors.Retry(time.Millisecond)
					}})
				var deposits atomic.Int32
				must(t, app.Use(func(next actors.DispatchFunc) actors.DispatchFunc {
					return func(ctx context.Context, cmd *actors.Command) (actors.Result, error) {
						if d, ok := cmd.Payload.(Deposit); ok && d.ID == "a2" && int(deposits.Add(1)) <= tt.failFirst {
							return actors.Result{}, errFlaky
						}
						return next(ctx, cmd)
					}
				}))
				actorstest.Start(t, app)
				open(t, app, "a1")
				if tt.open {
					open(t, app, "a2")
				}
				dispatch(t, app, Deposit{ID: "a1", Amount: 100})
				requestTransfer(t, app, "t1", "a1", "a2", 30)
				if tt.refused {
					eventually(t, patience, "the transfer compensated", func() bool {
						res := dispatch(t, app, InspectTransfer{TransferID: "t1"}, actors.WithReturning(actors.ReturnState))
						return res.State.(*TransferRecord).Failed
					})
				} else {
					eventually(t, patience, "a2 credited", func() bool { return state(t, app, "a2").Balance == 30 })
				}
				mu.Lock()
				defer mu.Unlock()
				want := max(tt.failFirst, 1)
				if len(failures) != want {
					t.Fatalf("%d failures, want %d: %+v", len(failures), want, failures)
				}
				for i, f := range failures {
					st, _ := f.State.(*Transfer)
					if f.Refused != tt.refused || f.Attempts != i+1 || f.Instance != "t1" || f.Command != (Deposit{ID: "a2", Amount: 30}) ||
						f.Event.Type != "bank.Withdrawn" || f.FirstFailed.IsZero() || st == nil || st.ID != "t1" ||
						!slices.Equal(st.Steps, []string{"requested"}) {
						t.Errorf("failure %d = %+v", i, f)
					}
					if tt.refused != errors.Is(f.Err, errNotOpen) || tt.refused == errors.Is(f.Err, errFlaky) {
						t.Errorf("failure %d: %v", i, f.Err)
					}
					if i > 0 && (f.LastDelay != time.Millisecond || !f.FirstFailed.Equal(failures[0].FirstFailed)) {
						t.Errorf("failure %d after a retry = %+v", i, f)
					}
				}
			})
		})
	}
}

// TestDefaultErrorPolicies: what the defaults decide, as their docs say.
func TestDefaultErrorPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy actors.ErrorPolicy
		f      actors.Failure
		want   actors.Decision
	}{
		{"process: a refusal is skipped at once", actors.DefaultProcessErrorPolicy,
			actors.Failure{Refused: true, Attempts: 1}, actors.SkipEvent},
		{"process: a failure is retried", actors.DefaultProcessErrorPolicy,
			actors.Failure{Attempts: 1}, actors.Retry(100 * time.Millisecond)},
		{"process: backing off", actors.DefaultProcessErrorPolicy,
			actors.Failure{Attempts: 3}, actors.Retry(400 * time.Millisecond)},
		{"process: up to 5 s", actors.DefaultProcessErrorPolicy,
			actors.Failure{Attempts: 9}, actors.Retry(5 * time.Second)},
		{"process: then skipped", actors.DefaultProcessErrorPolicy,
			actors.Failure{Attempts: 10}, actors.SkipEvent},
		{"handler: a failure is retried", actors.DefaultErrorPolicy,
			actors.Failure{Attempts: 1}, actors.Retry(100 * time.Millisecond)},
		{"handler: then stopped", actors.DefaultErrorPolicy,
			actors.Failure{Attempts: 10}, actors.StopHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy(tt.f); got != tt.want {
				t.Errorf("decided %v, want %v", got, tt.want)
			}
		})
	}
}

// RoutedTally is a Tally that routes its events itself.
type RoutedTally struct{ Tally }

func (*RoutedTally) Interested(ev actors.Event) []actors.Interest { return tallyInterest(ev) }

// TestProcessRouter: a process manager type that implements ProcessRouter
// needs no Interested in its configuration.
func TestProcessRouter(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "tally", Consistency: actors.Strong,
			New: func() actors.ProcessManager { return &RoutedTally{} }}))
		actorstest.Start(t, app)
		open(t, app, "a1")
		dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithConsistency(actors.Strong))
		var tally Tally
		if !processState(t, store, "tally", "a1", &tally) || tally.Count != 1 {
			t.Errorf("tally of a1 = %+v", tally)
		}
	})
}

// TestRetryThenSkip: an instance whose event keeps failing is retried, then
// the event is skipped for that instance alone (its state stays as it
// was); the other instances and the process manager go on.
func TestRetryThenSkip(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var fail atomic.Bool
		fail.Store(true)
		var mu sync.Mutex
		var failures []actors.Failure
		policy := actors.RetryThenSkip(3, time.Millisecond, time.Millisecond)
		cfg := actors.ProcessManagerConfig{Name: "tally", Consistency: actors.Strong, Interested: tallyInterest,
			New: func() actors.ProcessManager { return &failingTally{fail: &fail} },
			OnError: func(f actors.Failure) actors.Decision {
				mu.Lock()
				failures = append(failures, f)
				mu.Unlock()
				return policy(f)
			}}
		app := actorstest.Start(t, newTransfers(t, store, cfg))
		strong := actors.WithConsistency(actors.Strong)
		open(t, app, "bad", "a1")
		dispatch(t, app, Deposit{ID: "a1", Amount: 1}, strong)
		if _, err := app.Dispatch(context.Background(), Deposit{ID: "bad", Amount: 1}, strong); err != nil {
			t.Fatalf("the failing event: %v", err)
		}
		dispatch(t, app, Deposit{ID: "a1", Amount: 1}, strong)
		var tally Tally
		if !processState(t, store, "tally", "a1", &tally) || tally.Count != 2 {
			t.Errorf("tally of a1 = %+v", tally)
		}
		if processState(t, store, "tally", "bad", &tally) {
			t.Errorf("the skipped event left a state: %+v", tally)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(failures) != 3 {
			t.Fatalf("%d failures, want 3", len(failures))
		}
		for i, f := range failures {
			if f.Instance != "bad" || f.Attempts != i+1 || f.Refused || f.State == nil {
				t.Errorf("failure %d = %+v", i, f)
			}
		}
	})
}

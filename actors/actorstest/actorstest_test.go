package actorstest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// recordingT records failures; Fatal ends the goroutine, as in a test.
type recordingT struct {
	testing.TB
	failures []string
}

func (*recordingT) Helper() {}
func (r *recordingT) Fatal(args ...any) {
	r.failures = append(r.failures, fmt.Sprint(args...))
	runtime.Goexit()
}
func (r *recordingT) Fatalf(f string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(f, args...))
	runtime.Goexit()
}

// failures runs a case and returns its failures.
func failures(run func(t testing.TB)) []string {
	r := &recordingT{}
	var wg sync.WaitGroup
	wg.Go(func() { run(r) })
	wg.Wait()
	return r.failures
}

// TestCasesFail: the given/when/then cases fail when they should, and only
// then.
func TestCasesFail(t *testing.T) {
	counter := func() actors.Aggregate { return &Counter{} }
	resetter := func() actors.ProcessManager { return &Resetter{} }
	tests := []struct {
		name string
		run  func(t testing.TB)
		fail string // part of the failure; "" for none
	}{
		{"events match", func(t testing.TB) {
			actorstest.Aggregate(t, counter).When(Increment{ID: "a"}).Then(Incremented{ID: "a"})
		}, ""},
		{"events differ", func(t testing.TB) {
			actorstest.Aggregate(t, counter).When(Increment{ID: "a"}).Then(Incremented{ID: "b"})
		}, "events differ"},
		{"no events expected", func(t testing.TB) { actorstest.Aggregate(t, counter).When(Increment{ID: "a"}).Then() }, "events differ"},
		{"error instead of events", func(t testing.TB) {
			actorstest.Aggregate(t, counter).Given(Incremented{}, Incremented{}).When(Increment{}).Then(Incremented{})
		}, "got error: counter full"},
		{"error matches", func(t testing.TB) {
			actorstest.Aggregate(t, counter).Given(Incremented{}, Incremented{}).When(Increment{}).ThenError(errFull)
		}, ""},
		{"other error", func(t testing.TB) {
			actorstest.Aggregate(t, counter).Given(Incremented{}, Incremented{}).When(Increment{}).ThenError(errors.New("x"))
		}, "expected error x, got counter full"},
		{"events instead of error", func(t testing.TB) { actorstest.Aggregate(t, counter).When(Increment{}).ThenError(errFull) }, "got events"},
		{"then before when", func(t testing.TB) { actorstest.Aggregate(t, counter).Then() }, "Then before When"},
		{"process commands match", func(t testing.TB) {
			actorstest.Process(t, resetter).Given(Incremented{ID: "a"}).When(Incremented{ID: "a"}).Then(Reset{ID: "a"})
		}, ""},
		{"process commands differ", func(t testing.TB) {
			actorstest.Process(t, resetter).When(Incremented{ID: "a"}).Then(Reset{ID: "a"})
		}, "commands differ"},
		{"process error", func(t testing.TB) {
			actorstest.Process(t, func() actors.ProcessManager { return failing{} }).When(Incremented{}).ThenError(errFull)
		}, ""},
		{"process error expected", func(t testing.TB) {
			actorstest.Process(t, resetter).When(Incremented{}).ThenError(errFull)
		}, "expected error"},
		{"process then before when", func(t testing.TB) { actorstest.Process(t, resetter).Then() }, "Then before When"},
		{"typed constructors", func(t testing.TB) {
			if n := actorstest.Aggregate(t, func() *Counter { return &Counter{} }).When(Increment{ID: "a"}).State().N; n != 1 {
				t.Fatalf("counter at %d", n)
			}
			if n := actorstest.Process(t, func() *Resetter { return &Resetter{} }).When(Incremented{ID: "a"}).State().Seen; n != 1 {
				t.Fatalf("resetter saw %d", n)
			}
		}, ""},
		{"routes match", func(t testing.TB) {
			actorstest.Process(t, resetter).Routes(Incremented{ID: "a"}, actors.ContinueProcess("a")).Routes(Increment{})
		}, ""},
		{"routes differ", func(t testing.TB) {
			actorstest.Process(t, resetter).Routes(Incremented{ID: "a"}, actors.StartProcess("a"))
		}, "routes differ"},
		{"routes without a router", func(t testing.TB) {
			actorstest.Process(t, func() actors.ProcessManager { return failing{} }).Routes(Incremented{})
		}, "WithInterested"},
		{"routes given", func(t testing.TB) {
			actorstest.Process(t, func() actors.ProcessManager { return failing{} }).
				WithInterested(func(actors.Event) []actors.Interest { return []actors.Interest{actors.StopProcess("x")} }).
				Routes(Incremented{}, actors.StopProcess("x"))
		}, ""},
		{"a refusal is skipped by default", func(t testing.TB) {
			actorstest.Process(t, resetter).Given(Incremented{ID: "a"}).When(Incremented{ID: "a"}).
				CommandFails(Reset{ID: "a"}, actorstest.Refusal(errFull)).ThenDecision(actors.SkipEvent)
		}, ""},
		{"a failure is retried by default", func(t testing.TB) {
			actorstest.Process(t, resetter).Given(Incremented{ID: "a"}).When(Incremented{ID: "a"}).
				CommandFails(Reset{ID: "a"}, errors.New("unavailable")).ThenDecision(actors.Retry(100*time.Millisecond)).
				CommandFails(Reset{ID: "a"}, errors.New("unavailable")).ThenDecision(actors.Retry(200 * time.Millisecond))
		}, ""},
		{"a policy compensates from the state", func(t testing.TB) {
			var got []actors.Failure
			actorstest.Process(t, resetter).
				WithPolicy(func(f actors.Failure) actors.Decision {
					got = append(got, f)
					if f.Refused {
						return actors.Compensate(Increment{ID: fmt.Sprint(f.State.(*Resetter).Seen)})
					}
					return actors.Retry(time.Second)
				}).
				Given(Incremented{ID: "a"}).When(Incremented{ID: "a"}).
				CommandFails(Reset{ID: "a"}, errors.New("unavailable")).ThenDecision(actors.Retry(time.Second)).
				CommandFails(Reset{ID: "a"}, actorstest.Refusal(errFull)).ThenDecision(actors.Compensate(Increment{ID: "1"}))
			if len(got) != 2 || got[1].Attempts != 2 || got[1].LastDelay != time.Second || !got[1].FirstFailed.Equal(got[0].FirstFailed) ||
				!errors.Is(got[1].Err, errFull) || got[1].Event.Payload != (Incremented{ID: "a"}) || got[0].Refused {
				t.Fatalf("failures %+v", got)
			}
		}, ""},
		{"decisions differ", func(t testing.TB) {
			actorstest.Process(t, resetter).Given(Incremented{ID: "a"}).When(Incremented{ID: "a"}).
				CommandFails(Reset{ID: "a"}, actorstest.Refusal(errFull)).ThenDecision(actors.StopHandler)
		}, "decisions differ"},
		{"a command not caused", func(t testing.TB) {
			actorstest.Process(t, resetter).When(Incremented{ID: "a"}).CommandFails(Reset{ID: "a"}, errFull)
		}, "not among"},
		{"decision before a failure", func(t testing.TB) {
			actorstest.Process(t, resetter).When(Incremented{ID: "a"}).ThenDecision(actors.SkipEvent)
		}, "ThenDecision before CommandFails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := failures(tt.run)
			switch {
			case tt.fail == "" && len(got) > 0:
				t.Errorf("failed: %q", got)
			case tt.fail != "" && (len(got) != 1 || !strings.Contains(got[0], tt.fail)):
				t.Errorf("failures %q, want one with %q", got, tt.fail)
			}
		})
	}
}

type failing struct{}

func (failing) Handle(actors.Event) ([]any, error) { return nil, errFull }
func (failing) Apply(any)                          {}

// TestStores: Stores runs the test on both stores; SharedStores gives
// handles on one storage, each closed on its own.
func TestStores(t *testing.T) {
	var ran []string
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ran = append(ran, t.Name())
		if _, err := store.Append(t.Context(), "s", eventstore.NoStream, []eventstore.EventData{{Type: "x"}}); err != nil {
			t.Fatal(err)
		}
	})
	if !slices.Equal(ran, []string{"TestStores/memory", "TestStores/postgres"}) {
		t.Errorf("ran %q", ran)
	}
	actorstest.SharedStores(t, 3, func(t *testing.T, stores []actors.EventStore) {
		ctx := context.Background()
		if _, err := stores[0].Append(ctx, "s", eventstore.NoStream, []eventstore.EventData{{Type: "x"}}); err != nil {
			t.Fatal(err)
		}
		for i, s := range stores[1:] {
			evs, err := s.ReadStream(ctx, "s", eventstore.ReadOptions{})
			if err != nil || len(evs) != 1 {
				t.Errorf("store %d: %d events, %v", i+1, len(evs), err)
			}
		}
		if err := stores[2].(interface{ Close() error }).Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := stores[1].ReadStream(ctx, "s", eventstore.ReadOptions{}); err != nil {
			t.Errorf("closing one store closed another: %v", err)
		}
	})
}

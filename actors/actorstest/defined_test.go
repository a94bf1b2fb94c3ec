package actorstest_test

import (
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// TestDefined: a case on a defined aggregate decides with the functions
// Handle bound and returns the state type; a command the definition does
// not handle fails the case as unregistered.
func TestDefined(t *testing.T) {
	d := actors.Define[*Counter](actors.AggregateType{Name: "counter"}, Incremented{})
	actors.Handle(d, func(c Increment) string { return c.ID }, (*Counter).increment)
	c := actorstest.Defined(t, d).
		Given(Incremented{ID: "c1"}).
		When(Increment{ID: "c1"}).
		Then(Incremented{ID: "c1"}).
		When(Increment{ID: "c1"}).
		ThenError(errFull)
	if n := c.State().N; n != 2 {
		t.Fatalf("state %d, want 2", n)
	}
	actorstest.Defined(t, d).When(Reset{ID: "c1"}).ThenError(actors.ErrUnregisteredCommand)
}

// increment is Execute's Increment case alone, as a defined aggregate
// writes it.
func (c *Counter) increment(cmd Increment) ([]any, error) { return c.Execute(cmd) }

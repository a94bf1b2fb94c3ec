package actorstest

import (
	"testing"

	"github.com/cohort-dev/cohort/actors"
)

// AggregateCase is a given/when/then test of an aggregate's decisions,
// without a store or actors:
//
//	actorstest.Aggregate(t, func() *User { return &User{} }).
//		Given(UserRegistered{...}).
//		When(ChangeUsername{...}).
//		Then(UsernameChanged{...})
//
// A is the aggregate's type, as its constructor returns it (or the state
// type of an actors.Definition); State returns it so.
type AggregateCase[A actors.Applier] struct {
	tb      testing.TB
	agg     A
	execute func(A, any) ([]any, error)
	out     outcome // of the last When
}

// Aggregate starts a case on a new instance, made by newAggregate (a
// func() *User as well as a func() actors.Aggregate).
func Aggregate[A actors.Aggregate](tb testing.TB, newAggregate func() A) *AggregateCase[A] {
	tb.Helper()
	return &AggregateCase[A]{tb: tb, agg: newAggregate(), out: outcome{noun: "events"},
		execute: func(a A, cmd any) ([]any, error) { return a.Execute(cmd) }}
}

// Defined starts a case on a new instance of an aggregate defined with
// actors.Define: When decides with the functions actors.Handle bound, as
// the application does, and State returns the definition's state type.
func Defined[A actors.Applier](tb testing.TB, d *actors.Definition[A]) *AggregateCase[A] {
	tb.Helper()
	return &AggregateCase[A]{tb: tb, agg: d.New(), out: outcome{noun: "events"}, execute: d.Execute}
}

// Given applies past events.
func (c *AggregateCase[A]) Given(events ...any) *AggregateCase[A] {
	c.tb.Helper()
	for _, e := range events {
		c.agg.Apply(e)
	}
	return c
}

// When executes a command, and applies the events it returns, so that
// When can be chained.
func (c *AggregateCase[A]) When(cmd any) *AggregateCase[A] {
	c.tb.Helper()
	c.out.set(c.execute(c.agg, cmd))
	if c.out.err == nil {
		for _, e := range c.out.msgs {
			c.agg.Apply(e)
		}
	}
	return c
}

// Then asserts that the last command succeeded with exactly these events.
func (c *AggregateCase[A]) Then(events ...any) *AggregateCase[A] {
	c.tb.Helper()
	c.out.then(c.tb, events)
	return c
}

// ThenError asserts that the last command failed with an error matching
// target (errors.Is).
func (c *AggregateCase[A]) ThenError(target error) *AggregateCase[A] {
	c.tb.Helper()
	c.out.thenError(c.tb, target)
	return c
}

// ThenErrorAs asserts that the last command failed with an error that
// errors.As assigns to target, and returns it for further checks.
func (c *AggregateCase[A]) ThenErrorAs(target any) *AggregateCase[A] {
	c.tb.Helper()
	c.out.thenErrorAs(c.tb, target)
	return c
}

// State returns the aggregate, for assertions on its state.
func (c *AggregateCase[A]) State() A { return c.agg }

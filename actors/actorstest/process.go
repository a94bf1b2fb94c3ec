package actorstest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cohort-dev/cohort/actors"
)

// ProcessCase is a given/when/then test of a process manager's decisions,
// without a store or actors:
//
//	actorstest.Process(t, newTransfer).
//		Given(TransferStarted{...}).
//		When(AccountDebited{...}).
//		Then(CreditAccount{...})
//
// Events may be given as payloads or as actors.Event values (to set ids or
// metadata); a payload becomes an Event with only Payload set.
type ProcessCase struct {
	tb   testing.TB
	pm   actors.ProcessManager
	cmds []any
	err  error
	ran  bool
}

// Process starts a case on a new instance.
func Process(tb testing.TB, newProcess func() actors.ProcessManager) *ProcessCase {
	tb.Helper()
	return &ProcessCase{tb: tb, pm: newProcess()}
}

func asEvent(e any) actors.Event {
	if ev, ok := e.(actors.Event); ok {
		return ev
	}
	return actors.Event{Payload: e}
}

// Given applies past events, as if the instance had handled them.
func (c *ProcessCase) Given(events ...any) *ProcessCase {
	c.tb.Helper()
	for _, e := range events {
		c.pm.Apply(asEvent(e))
	}
	return c
}

// When handles an event and, if that succeeds, applies it, so that When can
// be chained.
func (c *ProcessCase) When(event any) *ProcessCase {
	c.tb.Helper()
	ev := asEvent(event)
	c.cmds, c.err = c.pm.Handle(ev)
	c.ran = true
	if c.err == nil {
		c.pm.Apply(ev)
	}
	return c
}

// Then asserts that the last event was handled with exactly these commands.
func (c *ProcessCase) Then(cmds ...any) *ProcessCase {
	c.tb.Helper()
	c.mustHaveRun()
	if c.err != nil {
		c.tb.Fatalf("expected commands %s, got error: %v", describe(cmds), c.err)
	}
	if len(cmds) == 0 && len(c.cmds) == 0 {
		return c
	}
	if !reflect.DeepEqual(c.cmds, cmds) {
		c.tb.Fatalf("commands differ\n got: %s\nwant: %s", describe(c.cmds), describe(cmds))
	}
	return c
}

// ThenError asserts that handling the last event failed with an error
// matching target (errors.Is).
func (c *ProcessCase) ThenError(target error) *ProcessCase {
	c.tb.Helper()
	c.mustHaveRun()
	if c.err == nil {
		c.tb.Fatalf("expected error %v, got commands %s", target, describe(c.cmds))
	}
	if !errors.Is(c.err, target) {
		c.tb.Fatalf("expected error %v, got %v", target, c.err)
	}
	return c
}

// State returns the process manager, for assertions on its state.
func (c *ProcessCase) State() actors.ProcessManager { return c.pm }

func (c *ProcessCase) mustHaveRun() {
	c.tb.Helper()
	if !c.ran {
		c.tb.Fatal("actorstest: Then before When")
	}
}

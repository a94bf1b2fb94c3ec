package actorstest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
)

// ProcessCase is a given/when/then test of a process manager's decisions,
// without a store or actors:
//
//	actorstest.Process(t, func() *Transfer { return &Transfer{} }).
//		Routes(AccountDebited{...}, actors.ContinueProcess("t1")).
//		Given(TransferStarted{...}).
//		When(AccountDebited{...}).
//		Then(CreditAccount{...}).
//		CommandFails(CreditAccount{...}, actorstest.Refusal(ErrAccountClosed)).
//		ThenDecision(actors.Compensate(RefundAccount{...}))
//
// Events may be given as payloads or as actors.Event values (to set ids or
// metadata); a payload becomes an Event with only Payload set. P is the
// process manager's type, as its constructor returns it; State returns it
// so.
type ProcessCase[P actors.ProcessManager] struct {
	tb         testing.TB
	newProcess func() P
	pm         P
	interested func(actors.Event) []actors.Interest
	policy     actors.ErrorPolicy

	// The last When: its event, the state before it (as JSON, or why
	// not), its outcome.
	last      actors.Event
	before    []byte
	beforeErr error
	out       outcome
	// The failures of the last When's commands so far, and the last
	// decision about one.
	failures []actors.Failure
	decision actors.Decision
	decided  bool
}

// Process starts a case on a new instance, made by newProcess (a
// func() *Transfer as well as a func() actors.ProcessManager). Its error
// policy is actors.DefaultProcessErrorPolicy until WithPolicy, and its
// routing the type's own Interested (actors.ProcessRouter) until
// WithInterested.
func Process[P actors.ProcessManager](tb testing.TB, newProcess func() P) *ProcessCase[P] {
	tb.Helper()
	c := &ProcessCase[P]{tb: tb, newProcess: newProcess, pm: newProcess(), policy: actors.DefaultProcessErrorPolicy,
		out: outcome{noun: "commands"}}
	if r, ok := any(c.pm).(actors.ProcessRouter); ok {
		c.interested = r.Interested
	}
	return c
}

// WithInterested sets the routing that Routes checks: the process
// manager's ProcessManagerConfig.Interested.
func (c *ProcessCase[P]) WithInterested(interested func(actors.Event) []actors.Interest) *ProcessCase[P] {
	c.interested = interested
	return c
}

// WithPolicy sets the error policy that CommandFails asks: the process
// manager's ProcessManagerConfig.OnError.
func (c *ProcessCase[P]) WithPolicy(policy actors.ErrorPolicy) *ProcessCase[P] {
	c.policy = policy
	return c
}

func asEvent(e any) actors.Event {
	if ev, ok := e.(actors.Event); ok {
		return ev
	}
	return actors.Event{Payload: e}
}

// Routes asserts that the process manager routes event to exactly these
// instances (none: the event does not concern it).
func (c *ProcessCase[P]) Routes(event any, want ...actors.Interest) *ProcessCase[P] {
	c.tb.Helper()
	if c.interested == nil {
		c.tb.Fatalf("actorstest: %T does not implement actors.ProcessRouter: call WithInterested", c.pm)
	}
	got := c.interested(asEvent(event))
	if len(got) == 0 && len(want) == 0 {
		return c
	}
	if !reflect.DeepEqual(got, want) {
		c.tb.Fatalf("routes differ for %T\n got: %+v\nwant: %+v", event, got, want)
	}
	return c
}

// Given applies past events, as if the instance had handled them.
func (c *ProcessCase[P]) Given(events ...any) *ProcessCase[P] {
	c.tb.Helper()
	for _, e := range events {
		c.pm.Apply(asEvent(e).Payload)
	}
	return c
}

// When handles an event and, if that succeeds, applies it, so that When can
// be chained.
func (c *ProcessCase[P]) When(event any) *ProcessCase[P] {
	c.tb.Helper()
	ev := asEvent(event)
	c.last = ev
	c.before, c.beforeErr = json.Marshal(c.pm)
	c.out.set(c.pm.Handle(ev))
	c.failures, c.decided = nil, false
	if c.out.err == nil {
		c.pm.Apply(ev.Payload)
	}
	return c
}

// stateBefore returns a copy of the instance's state before the last
// event, made through its JSON as the runtime makes it for an error
// policy.
func (c *ProcessCase[P]) stateBefore() P {
	c.tb.Helper()
	if c.beforeErr != nil {
		c.tb.Fatalf("actorstest: the state does not encode: %v", c.beforeErr)
	}
	st := c.newProcess()
	if err := json.Unmarshal(c.before, st); err != nil {
		c.tb.Fatalf("actorstest: the state does not decode: %v", err)
	}
	return st
}

// Then asserts that the last event was handled with exactly these commands.
func (c *ProcessCase[P]) Then(cmds ...any) *ProcessCase[P] {
	c.tb.Helper()
	c.out.then(c.tb, cmds)
	return c
}

// ThenError asserts that handling the last event failed with an error
// matching target (errors.Is).
func (c *ProcessCase[P]) ThenError(target error) *ProcessCase[P] {
	c.tb.Helper()
	c.out.thenError(c.tb, target)
	return c
}

// Refusal returns err as the runtime reports an aggregate's refusal of a
// command (an *actors.ValidationError), for CommandFails.
func Refusal(err error) error { return &actors.ValidationError{Err: err} }

// CommandFails asks the error policy about cmd, one of the commands the
// last event caused, failing with err: a Refusal, or any other error (a
// transient failure). The failure is described as the runtime describes
// it: the instance's state before the event, Refused, and the attempt,
// counting the CommandFails since the last When, after the delay of the
// last decision if it was a Retry (Name and Instance are left empty).
// ThenDecision checks the answer.
func (c *ProcessCase[P]) CommandFails(cmd any, err error) *ProcessCase[P] {
	c.tb.Helper()
	c.out.mustHaveRun(c.tb)
	if c.out.err != nil || !c.caused(cmd) {
		c.tb.Fatalf("actorstest: %T%+v is not among the last event's commands (%s)", cmd, cmd, describe(c.out.msgs))
	}
	f := actors.Failure{Err: err, Event: c.last, Command: cmd, Refused: errors.Is(err, actors.ErrValidation),
		State: c.stateBefore(), Attempts: len(c.failures) + 1}
	if len(c.failures) > 0 {
		f.FirstFailed, f.LastDelay = c.failures[0].FirstFailed, c.decision.Delay()
	} else {
		f.FirstFailed = time.Now()
	}
	c.failures = append(c.failures, f)
	c.decision, c.decided = c.policy(f), true
	return c
}

func (c *ProcessCase[P]) caused(cmd any) bool {
	for _, x := range c.out.msgs {
		if reflect.DeepEqual(x, cmd) {
			return true
		}
	}
	return false
}

// ThenDecision asserts that the error policy answered the last
// CommandFails with want (e.g. actors.SkipEvent,
// actors.Compensate(cmd), actors.Retry(d)).
func (c *ProcessCase[P]) ThenDecision(want actors.Decision) *ProcessCase[P] {
	c.tb.Helper()
	if !c.decided {
		c.tb.Fatal("actorstest: ThenDecision before CommandFails")
	}
	if !reflect.DeepEqual(c.decision, want) {
		c.tb.Fatalf("decisions differ\n got: %v\nwant: %v", c.decision, want)
	}
	return c
}

// State returns the process manager, for assertions on its state.
func (c *ProcessCase[P]) State() P { return c.pm }

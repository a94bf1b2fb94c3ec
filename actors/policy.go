package actors

import (
	"fmt"
	"time"
)

// Failure describes a handler's or process manager's failure to handle an
// event, for its ErrorPolicy: what failed, and how often and for how long
// it has failed so far (Commanded's failure context).
type Failure struct {
	// Name is the handler's or process manager's name.
	Name string
	// Instance is, for a process manager, the id of the instance that
	// failed; "" for an event that could not be routed to instances (it
	// failed to decode, or Interested panicked) and for event handlers.
	Instance string
	// Err is this attempt's error.
	Err error
	// Event is the event that failed (for a batch handler, the first of
	// the batch).
	Event Event
	// Batch holds the whole batch for a batch handler.
	Batch []Event
	// Command is, for a process manager, the command whose dispatch failed.
	Command any
	// Refused reports that Command was refused rather than failed: Err
	// matches ErrValidation (the aggregate's Execute returned an error, or
	// a middleware refused the command with an error that wraps
	// ErrValidation). Dispatching it again gets the same answer unless
	// something else changes the aggregate first, so retrying it rarely
	// helps; every other failure (a timeout, an unavailable store, a
	// version conflict that outlasted its retries) may be transient.
	Refused bool
	// State is, for a process manager, a copy of the instance's state
	// before Event (made through its JSON, as the state is persisted): as
	// New returns it for a new instance; nil when the failure is not an
	// instance's or its state could not be loaded or encoded. A policy may
	// read and keep it, e.g. to build a compensating command.
	State ProcessManager
	// Attempts counts the failures of this event so far, 1 the first time.
	Attempts int
	// FirstFailed is when this event first failed.
	FirstFailed time.Time
	// LastDelay is the delay of the Retry that led to this attempt; 0 on
	// the first attempt. A policy may back off from it.
	LastDelay time.Duration
}

// attempt describes one call of a handler for an event: its number, and
// when and after what delay the event failed before.
type attempt struct {
	n           int
	firstFailed time.Time
	lastDelay   time.Duration
}

// failure describes err, the attempt's failure, for an error policy.
func (a attempt) failure(name string, err error, ev Event) Failure {
	first := a.firstFailed
	if first.IsZero() {
		first = time.Now()
	}
	return Failure{Name: name, Err: err, Event: ev, Attempts: a.n, FirstFailed: first, LastDelay: a.lastDelay}
}

type decisionKind int8

const (
	decideRetry decisionKind = iota
	decideSkip
	decideStop
	decideCompensate
)

// Decision is an ErrorPolicy's answer.
type Decision struct {
	kind    decisionKind
	delay   time.Duration
	command any
}

// Retry handles the event again after d. For a process manager whose
// command failed, the instance handles the event again, dispatching its
// commands again (with the same command ids: those that succeeded are not
// applied twice).
func Retry(d time.Duration) Decision { return Decision{kind: decideRetry, delay: d} }

// Compensate, for a process manager whose command failed, dispatches cmd
// instead and carries on with the next command or event.
func Compensate(cmd any) Decision { return Decision{kind: decideCompensate, command: cmd} }

var (
	// SkipEvent gives up on the event and carries on with the next. For a
	// process manager whose command failed, it gives up on that command
	// only: the instance dispatches its other commands and applies the
	// event. Otherwise the event is not handled at all (a process instance
	// keeps the state it had before it).
	SkipEvent = Decision{kind: decideSkip}
	// StopHandler stops the handler or process manager in this process; it
	// resumes from its checkpoint when the application next starts.
	StopHandler = Decision{kind: decideStop}
)

// Delay is the wait of a Retry; 0 for the other decisions.
func (d Decision) Delay() time.Duration {
	if d.kind != decideRetry {
		return 0
	}
	return d.delay
}

// String describes the decision.
func (d Decision) String() string {
	switch d.kind {
	case decideRetry:
		return fmt.Sprintf("retry after %v", d.delay)
	case decideSkip:
		return "skip"
	case decideCompensate:
		return fmt.Sprintf("compensate with %T", d.command)
	}
	return "stop"
}

// ErrorPolicy decides what to do about a failure. A policy that panics
// stops the handler.
type ErrorPolicy func(Failure) Decision

// decide asks p about f. A panic would restart the actor that asks and so
// lose the event it was deciding about: it counts as StopHandler.
func (p ErrorPolicy) decide(f Failure) (d Decision) {
	defer func() {
		if recover() != nil {
			d = StopHandler
		}
	}()
	return p(f)
}

// RetryPolicy retries with exponential backoff from base up to limit per
// wait, and stops after maxAttempts failures of the same event.
func RetryPolicy(maxAttempts int, base, limit time.Duration) ErrorPolicy {
	return func(f Failure) Decision {
		if f.Attempts >= maxAttempts {
			return StopHandler
		}
		return Retry(backoff(f.Attempts, base, limit))
	}
}

// RetryThenSkip skips a refused command (Failure.Refused) at once; any
// other failure it retries with exponential backoff from base up to limit
// per wait, and skips after maxAttempts failures of the same event. It
// never stops the handler.
func RetryThenSkip(maxAttempts int, base, limit time.Duration) ErrorPolicy {
	return func(f Failure) Decision {
		if f.Refused || f.Attempts >= maxAttempts {
			return SkipEvent
		}
		return Retry(backoff(f.Attempts, base, limit))
	}
}

// backoff is the wait after the attempts-th failure: base doubling per
// failure, at most limit.
func backoff(attempts int, base, limit time.Duration) time.Duration {
	d := base << min(max(attempts-1, 0), 30)
	if d <= 0 || d > limit {
		d = limit
	}
	return d
}

// DefaultErrorPolicy is the event handlers' default: it retries a failed
// event 10 times, waiting from 100 ms doubling up to 5 s (about 21 s in
// all), then stops the handler, which resumes from the failed event when
// the application next starts. A read model must not silently miss an
// event, so it stops rather than skips.
var DefaultErrorPolicy = RetryPolicy(10, 100*time.Millisecond, 5*time.Second)

// DefaultProcessErrorPolicy is the process managers' default. It never
// stops the process manager for one instance's failure:
//
//   - a command the aggregate refused (Failure.Refused) is skipped at once:
//     the instance dispatches its other commands and applies the event;
//   - any other failure of an instance (a command that failed otherwise,
//     Handle returning an error or panicking, a state that cannot be
//     read, decoded or encoded) is retried up to 10 attempts, waiting from 100 ms
//     doubling up to 5 s (about 21 s in all), then skipped: a failed
//     command as above, otherwise the event, which leaves the instance's
//     state as it was.
//
// Each failure of an instance is logged with its decision (at warning
// level). Saving the instances' states is not an instance's failure: it is
// retried until it succeeds or the application closes. An event
// that cannot be routed to instances at all (it fails to decode, or
// Interested panics) stops the process manager, as every decision but
// SkipEvent does there: no instance could handle it.
//
// To compensate a refusal instead, set ProcessManagerConfig.OnError to a
// policy that returns Compensate for it (Failure.State is the instance's
// state) and defers to DefaultProcessErrorPolicy otherwise.
var DefaultProcessErrorPolicy = RetryThenSkip(10, 100*time.Millisecond, 5*time.Second)

// HandlerStoppedError reports that an error policy stopped a handler.
type HandlerStoppedError struct {
	Name string
	Err  error
}

// Error returns a message naming the handler and the error that stopped it.
func (e *HandlerStoppedError) Error() string {
	return fmt.Sprintf("actors: %s stopped: %v", e.Name, e.Err)
}

// Unwrap returns the error that stopped the handler.
func (e *HandlerStoppedError) Unwrap() error { return e.Err }

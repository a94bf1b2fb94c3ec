package actors

import (
	"fmt"
	"time"
)

// Failure describes a handler's or process manager's failure to handle an
// event, for its ErrorPolicy.
type Failure struct {
	// Name is the handler's or process manager's name.
	Name string
	Err  error
	// Event is the event that failed (for a batch handler, the first of
	// the batch).
	Event Event
	// Batch holds the whole batch for a batch handler.
	Batch []Event
	// Command is, for a process manager, the command whose dispatch failed.
	Command any
	// Attempts counts the failures of this event so far, 1 the first time.
	Attempts int
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

// Retry handles the event again after d.
func Retry(d time.Duration) Decision { return Decision{kind: decideRetry, delay: d} }

// Compensate, for a process manager whose command failed, dispatches cmd
// instead and carries on with the next command or event.
func Compensate(cmd any) Decision { return Decision{kind: decideCompensate, command: cmd} }

var (
	// SkipEvent gives up on the event and carries on with the next.
	SkipEvent = Decision{kind: decideSkip}
	// StopHandler stops the handler or process manager in this process; it
	// resumes from its checkpoint when the application next starts.
	StopHandler = Decision{kind: decideStop}
)

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
		d := base << min(f.Attempts-1, 30)
		if d <= 0 || d > limit {
			d = limit
		}
		return Retry(d)
	}
}

// DefaultErrorPolicy retries 10 times, from 100 ms doubling up to 5 s, then
// stops.
var DefaultErrorPolicy = RetryPolicy(10, 100*time.Millisecond, 5*time.Second)

// HandlerStoppedError reports that an error policy stopped a handler.
type HandlerStoppedError struct {
	Name string
	Err  error
}

func (e *HandlerStoppedError) Error() string {
	return fmt.Sprintf("actors: %s stopped: %v", e.Name, e.Err)
}

func (e *HandlerStoppedError) Unwrap() error { return e.Err }

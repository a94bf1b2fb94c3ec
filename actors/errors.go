package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
)

// Sentinel errors; errors returned by the runtime wrap one of them.
var (
	// ErrUnregisteredCommand: no route for the command's type.
	ErrUnregisteredCommand = errors.New("actors: unregistered command")
	// ErrMissingIdentity: the route's identity function returned "".
	ErrMissingIdentity = errors.New("actors: command has no aggregate identity")
	// ErrValidation: the aggregate refused the command. The aggregate's own
	// error is wrapped too, so errors.Is matches domain errors as well.
	ErrValidation = errors.New("actors: command rejected")
	// ErrVersionConflict: the aggregate's version did not match the
	// command's expected version, or conflicting writes outlasted the
	// retries. It is eventstore.ErrVersionConflict.
	ErrVersionConflict = eventstore.ErrVersionConflict
	// ErrTimeout: the dispatch did not complete in time. Such errors also
	// match context.DeadlineExceeded.
	ErrTimeout = errors.New("actors: dispatch timed out")
	// ErrAggregateStopped: the aggregate failed (panicked) while handling
	// the command; it was restarted and will reload its state.
	ErrAggregateStopped = errors.New("actors: aggregate stopped")
	// ErrStopped: the application is not running.
	ErrStopped = errors.New("actors: application stopped")
	// ErrUnregisteredEvent: an event type has no registered name.
	ErrUnregisteredEvent = errors.New("actors: unregistered event")
	// ErrHandlerNotFound: no handler or process manager has that name.
	ErrHandlerNotFound = errors.New("actors: no such handler")
	// ErrClusterStart: the App could not join its cluster (see
	// ClusterConfig): an address taken or not reaching it, or a provider
	// that failed to start.
	ErrClusterStart = errors.New("actors: cluster start failed")
	// ErrRemote: a command that ran on another member of the cluster
	// failed with an error this member cannot match (no registered error,
	// and none of the runtime's own); see RemoteError.
	ErrRemote = errors.New("actors: remote error")
)

// UnregisteredCommandError names a command type with no route.
type UnregisteredCommandError struct{ Type string }

// Error returns a message naming the command type.
func (e *UnregisteredCommandError) Error() string {
	return fmt.Sprintf("actors: unregistered command %s", e.Type)
}

// Unwrap returns ErrUnregisteredCommand.
func (e *UnregisteredCommandError) Unwrap() error { return ErrUnregisteredCommand }

// UnregisteredEventError names an event type with no registered name.
type UnregisteredEventError struct{ Type string }

// Error returns a message naming the event type.
func (e *UnregisteredEventError) Error() string {
	return fmt.Sprintf("actors: unregistered event %s", e.Type)
}

// Unwrap returns ErrUnregisteredEvent.
func (e *UnregisteredEventError) Unwrap() error { return ErrUnregisteredEvent }

// ValidationError is an aggregate's refusal of a command.
type ValidationError struct {
	Aggregate string // aggregate type
	ID        string // aggregate id
	Err       error  // the aggregate's error
}

// Error returns the message of the aggregate's error.
func (e *ValidationError) Error() string { return e.Err.Error() }

// Unwrap returns the aggregate's error and ErrValidation.
func (e *ValidationError) Unwrap() []error { return []error{e.Err, ErrValidation} }

// timeoutError is returned when a dispatch runs out of time.
type timeoutError struct{ cause error }

func (e timeoutError) Error() string { return "actors: dispatch timed out" }

func (e timeoutError) Unwrap() []error { return []error{ErrTimeout, e.cause} }

// dispatchTimeout maps the end of a dispatch's context: a deadline is
// ErrTimeout (and context.DeadlineExceeded); a cancellation stays as is.
func dispatchTimeout(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError{cause: context.DeadlineExceeded}
	}
	return ctx.Err()
}

// PanicError carries a recovered panic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns a message naming the value the code panicked with.
func (e *PanicError) Error() string { return fmt.Sprintf("actors: panic: %v", e.Value) }

package eventstore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by stores wrap one of them, so callers
// match with errors.Is; typed errors carry the details for errors.As.
var (
	// ErrVersionConflict: the stream's version did not match the expected
	// version. The error is a *VersionConflictError.
	ErrVersionConflict = errors.New("eventstore: wrong expected version")
	// ErrStreamNotFound: the stream does not exist.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrStreamDeleted: the stream was soft-deleted; it can be neither read
	// nor written.
	ErrStreamDeleted = errors.New("eventstore: stream deleted")
	// ErrDuplicateEvent: an event with the same id is already stored, or is
	// already linked into the stream.
	ErrDuplicateEvent = errors.New("eventstore: duplicate event")
	// ErrEventNotFound: a linked event id does not exist.
	ErrEventNotFound = errors.New("eventstore: event not found")
	// ErrSnapshotNotFound: no snapshot is stored for the source.
	ErrSnapshotNotFound = errors.New("eventstore: snapshot not found")
	// ErrSubscriptionNotFound: no persistent subscription has that name.
	ErrSubscriptionNotFound = errors.New("eventstore: subscription not found")
	// ErrInvalidArgument: the call's input was rejected before anything was
	// written. The error is an *InvalidArgumentError.
	ErrInvalidArgument = errors.New("eventstore: invalid argument")
	// ErrClosed: the store or subscription was closed.
	ErrClosed = errors.New("eventstore: closed")
	// ErrUnavailable: the database could not be reached, is restarting or
	// shutting down, or the transaction lost a conflict that a later try
	// resolves (serialization failure, deadlock); trying again later may
	// succeed. The error is an *UnavailableError.
	ErrUnavailable = errors.New("eventstore: database unavailable")
)

// VersionConflictError reports a failed optimistic-concurrency check.
type VersionConflictError struct {
	// Stream is the stream whose version was checked.
	Stream string
	// Expected is the expected version the call gave.
	Expected ExpectedVersion
	// Actual is the stream's version when the check failed; 0 when the stream
	// did not exist.
	Actual int64
}

// Error names the stream and both versions.
func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %q: expected version %s, actual %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap returns ErrVersionConflict.
func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }

// InvalidArgumentError reports input a store refused.
type InvalidArgumentError struct {
	// Arg names the argument, e.g. "stream" or "events[2].data".
	Arg string
	// Reason says what is wrong with it, e.g. "empty".
	Reason string
}

// Error names the argument and the reason.
func (e *InvalidArgumentError) Error() string {
	return fmt.Sprintf("eventstore: invalid %s: %s", e.Arg, e.Reason)
}

// Unwrap returns ErrInvalidArgument.
func (e *InvalidArgumentError) Unwrap() error { return ErrInvalidArgument }

// StreamError ties a sentinel such as ErrStreamNotFound to a stream.
type StreamError struct {
	// Stream is the stream the error is about.
	Stream string
	// Err is the sentinel, e.g. ErrStreamNotFound.
	Err error
}

// Error is the sentinel's message followed by the quoted stream id.
func (e *StreamError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Stream) }

// Unwrap returns the sentinel.
func (e *StreamError) Unwrap() error { return e.Err }

// UnavailableError reports that the database is unavailable, and why.
type UnavailableError struct {
	// Reason says what happened, e.g. "connection refused" or
	// "57P01 admin_shutdown: the server is shutting down".
	Reason string
	// Err is the database driver's error.
	Err error
}

// Error returns a message naming ErrUnavailable, the reason and the cause.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v (%s): %v", ErrUnavailable, e.Reason, e.Err)
}

// Unwrap returns ErrUnavailable and the driver's error.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
)

// StreamWrite is an append to a stream other than the aggregate's own
// that a command makes together with its events: Execute returns it among
// them, and the runtime appends the aggregate's events and every
// StreamWrite in one atomic append (eventstore.MultiAppender), all or
// nothing. Apply never sees a StreamWrite nor its events.
//
// Its use is a check on another stream that must hold for the command to
// take effect: a uniqueness claim appends to the claim's stream expecting
// eventstore.NoStream, so that of any number of racing commands, in any
// process, exactly one creates it; releasing a claim appends to its stream
// expecting the version it was taken at. A command whose StreamWrite is
// refused fails with a *StreamWriteError and writes nothing; unlike a
// conflict on the aggregate's own stream, it is not retried, since
// deciding again on the same state would make the same write.
//
// A command that returns StreamWrites must also return at least one event
// of the aggregate's own, which carries its version check, and the store
// must implement eventstore.MultiAppender (the postgres and memory stores
// do). Events of idempotent commands, StreamWrites' included, get ids
// derived from the command id, so a repeated command is recognised.
type StreamWrite struct {
	// Stream names the stream written; not the aggregate's own.
	Stream string
	// Expected is the version Stream must be at.
	Expected eventstore.ExpectedVersion
	// Events are appended to Stream: values of registered event types,
	// at least one.
	Events []any
}

// ErrStreamWrite reports that a stream write of a command was refused, so
// nothing the command decided was written. The error is a *StreamWriteError.
var ErrStreamWrite = errors.New("actors: stream write refused")

// StreamWriteError reports the StreamWrite the store refused, and why.
// It does not match ErrVersionConflict, which is the aggregate's own
// stream's conflict: errors.As on Err tells a conflict on Stream from a
// deleted or missing Stream.
type StreamWriteError struct {
	Aggregate string // aggregate type
	ID        string // aggregate id
	Stream    string // the StreamWrite's stream
	// Err is the store's refusal: a *eventstore.VersionConflictError, or
	// a *eventstore.StreamError wrapping eventstore.ErrStreamDeleted or
	// eventstore.ErrStreamNotFound.
	Err error
}

// Error returns a message naming the aggregate, the refused stream and
// the store's refusal.
func (e *StreamWriteError) Error() string {
	return fmt.Sprintf("actors: %s %s: stream write to %q refused: %v", e.Aggregate, e.ID, e.Stream, e.Err)
}

// Unwrap returns ErrStreamWrite.
func (e *StreamWriteError) Unwrap() error { return ErrStreamWrite }

// multiAppender is implemented by stores that append to several streams
// atomically.
type multiAppender interface {
	AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error)
}

// splitWrites separates the StreamWrites an Execute returned from the
// aggregate's own events, keeping the order of each.
func splitWrites(events []any) (own []any, writes []StreamWrite) {
	for i, e := range events {
		if _, ok := e.(StreamWrite); ok {
			own = append(own, events[:i]...)
			for _, e := range events[i:] {
				if w, ok := e.(StreamWrite); ok {
					writes = append(writes, w)
				} else {
					own = append(own, e)
				}
			}
			return own, writes
		}
	}
	return events, nil
}

// writeEvents returns the aggregate's events followed by every write's,
// as one list to encode.
func writeEvents(own []any, writes []StreamWrite) []any {
	if len(writes) == 0 {
		return own
	}
	all := append([]any(nil), own...)
	for _, w := range writes {
		all = append(all, w.Events...)
	}
	return all
}

// appendWrites appends data (the aggregate's own events, then the
// writes', encoded in that order) at the version the actor holds, with the
// writes, atomically, and returns the outcome of the aggregate's part and
// of each write. A refusal naming a write's stream is a *StreamWriteError.
func (a *aggregateActor) appendWrites(ctx context.Context, data []eventstore.EventData, own int, writes []StreamWrite) (eventstore.AppendResult, []eventstore.AppendResult, error) {
	ma, ok := a.k.app.store.(multiAppender)
	if !ok {
		return eventstore.AppendResult{}, nil, fmt.Errorf("actors: %s %s: the store cannot append to several streams: it is no eventstore.MultiAppender", a.k.typ.Name, a.id)
	}
	parts := make([]eventstore.StreamAppend, 0, 1+len(writes))
	parts = append(parts, eventstore.StreamAppend{Stream: a.stream, Expected: eventstore.Exact(a.version), Events: data[:own]})
	rest := data[own:]
	for _, w := range writes {
		parts = append(parts, eventstore.StreamAppend{Stream: w.Stream, Expected: w.Expected, Events: rest[:len(w.Events)]})
		rest = rest[len(w.Events):]
	}
	res, err := ma.AppendStreams(ctx, parts)
	if err != nil {
		if stream := refusedStream(err); stream != "" && stream != a.stream {
			return eventstore.AppendResult{}, nil, &StreamWriteError{Aggregate: a.k.typ.Name, ID: a.id, Stream: stream, Err: err}
		}
		return eventstore.AppendResult{}, nil, err
	}
	return res[0], res[1:], nil
}

// refusedStream returns the stream a store's refusal names, or "".
func refusedStream(err error) string {
	var vc *eventstore.VersionConflictError
	var se *eventstore.StreamError
	switch {
	case errors.As(err, &vc):
		return vc.Stream
	case errors.As(err, &se) && !errors.Is(err, eventstore.ErrDuplicateEvent):
		return se.Stream
	}
	return ""
}

package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// CausalReader is what App.WaitForCausal needs of a store: finding the
// last event of a correlation. The PostgreSQL and memory stores implement
// it.
type CausalReader interface {
	// LastCorrelated returns the global position of the last event with
	// the correlation id at a position after after, or 0 when there is
	// none.
	LastCorrelated(ctx context.Context, correlationID uuid.UUID, after int64) (int64, error)
}

// WaitForCausal waits until a workflow has come to rest: until the named
// handlers have handled every event that descends from the command with
// correlationID, or ctx ends.
//
// An event descends from the command when it carries the command's
// correlation id: the command's own events, the events of the commands
// that process managers dispatched for them (a process manager's command
// carries the correlation id of the event that caused it), and so on. Pass
// the position of the command's last event (its Result.Position) as
// after: events up to it are waited for, and later ones are found by their
// correlation id. (With 0 every event of the correlation is looked for,
// which on PostgreSQL reads the whole $all stream.)
//
// The workflow is at rest when the named handlers, and every process
// manager registered in this application (they are what extend a
// workflow), have processed the position of the correlation's last event,
// and no event with the correlation has been appended after it: a process
// manager acknowledges an event only once the commands it dispatched for
// it were appended, so nothing more can follow. The handlers and process
// managers may run in this process or another one on the same store;
// progress in another process shows when it stores its checkpoint, which a
// strongly consistent handler does within 20 ms and others within a
// second (or 100 events).
//
// The handlers named must see every event of $all: one that follows a
// single stream never passes the positions of other streams' events.
//
// What it cannot see: a process manager in another process that is not
// registered in this application; a command dispatched later than the
// handling of the event that caused it (after a delay, from a timer or a
// goroutine of its own), or by an event handler not named here; events
// appended with the correlation id by anyone else later on. Dispatch with
// WithCorrelationID to know the correlation id. It fails with
// ErrHandlerNotFound for a handler not registered, with a
// *HandlerStoppedError when an error policy stopped one of those it waits
// for, and wraps errors.ErrUnsupported when the store is not a
// CausalReader.
func (a *App) WaitForCausal(ctx context.Context, correlationID uuid.UUID, after int64, handlers ...string) error {
	r, ok := a.store.(CausalReader)
	if !ok {
		return fmt.Errorf("actors: WaitForCausal: the store cannot find events by correlation: %w", errors.ErrUnsupported)
	}
	names, err := a.causalWaiters(handlers)
	if err != nil {
		return err
	}
	var rested int64 // every name has processed up to here
	target := after
	for {
		if target > rested {
			if err := a.waitForAll(ctx, names, target); err != nil {
				return err
			}
			rested = target
		}
		last, err := r.LastCorrelated(ctx, correlationID, rested)
		if err != nil {
			return fmt.Errorf("actors: WaitForCausal: %w", err)
		}
		if last == 0 {
			return nil
		}
		target = last
	}
}

// causalWaiters returns the handlers named and every process manager,
// once each.
func (a *App) causalWaiters(handlers []string) ([]string, error) {
	seen := make(map[string]bool, len(handlers))
	var names []string
	for _, h := range handlers {
		if _, ok := a.handlers[h]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrHandlerNotFound, h)
		}
		if !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
	}
	for _, r := range a.handlerSeq {
		if r.kind() == KindProcessManager && !seen[r.name()] {
			seen[r.name()] = true
			names = append(names, r.name())
		}
	}
	return names, nil
}

package actors

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Aggregate is the state and behaviour of one aggregate instance.
//
// Execute decides: it validates a command against the current state and
// returns the events it causes, or an error; it must not change the state.
// Apply evolves: it changes the state by one event, given as its payload
// (a value of its registered type), and cannot fail; a ProcessManager's
// Apply is the same. Both run in the aggregate's actor, one message at a
// time.
//
// An aggregate that is snapshotted (or whose state a dispatch returns) must
// round-trip through encoding/json.
type Aggregate interface {
	Execute(cmd any) ([]any, error)
	Apply(event any)
}

// Event is a stored event as handlers, process managers and results see it.
// The event handlers and process managers of one App share each event they
// are handed (the process decodes it once for all of them): treat its
// Payload and Metadata as read-only. A Payload
// is a value of its registered type, so only what it refers to (slices,
// maps, pointers) could be changed for the others; events of a type with
// personal fields are decoded for each of them.
type Event struct {
	// Payload is the decoded event, a value of its registered type; nil when
	// the type is not registered in this application.
	Payload       any
	Type          string
	ID            uuid.UUID
	StreamID      string
	StreamVersion int64
	Position      int64
	CreatedAt     time.Time
	CausationID   uuid.UUID
	CorrelationID uuid.UUID
	Metadata      Metadata

	// more says that further events decoded from the same stored event
	// (split by an upcaster) follow this one: its position is only
	// acknowledged with the last of them.
	more bool
}

// Lifespan decides how long an aggregate actor stays in memory after each
// message: a positive duration, Forever, or StopNow. A stopped aggregate
// costs no memory and is reloaded on its next command.
type Lifespan interface {
	// AfterEvent is asked after a command appended events, with the last one.
	AfterEvent(event any) time.Duration
	// AfterCommand is asked after a command that appended nothing.
	AfterCommand(cmd any) time.Duration
	// AfterError is asked after a command failed.
	AfterError(err error) time.Duration
}

const (
	// Forever keeps the aggregate in memory (within Config.MaxLiveAggregates).
	Forever time.Duration = -1
	// StopNow stops the aggregate once its mailbox is empty.
	StopNow time.Duration = 0
)

// IdleLifespan stops an aggregate after it has been idle for d.
type IdleLifespan time.Duration

// AfterEvent implements Lifespan.
func (l IdleLifespan) AfterEvent(any) time.Duration { return time.Duration(l) }

// AfterCommand implements Lifespan.
func (l IdleLifespan) AfterCommand(any) time.Duration { return time.Duration(l) }

// AfterError implements Lifespan.
func (l IdleLifespan) AfterError(error) time.Duration { return time.Duration(l) }

// AggregateType registers a kind of aggregate.
type AggregateType struct {
	// Name identifies the type, e.g. "accounts.User".
	Name string
	// StreamPrefix is prepended to an instance's id to name its stream;
	// default Name + "-".
	StreamPrefix string
	// New returns an empty instance.
	New func() Aggregate
	// Lifespan; nil keeps instances forever (within MaxLiveAggregates).
	Lifespan Lifespan
	// SnapshotEvery takes a snapshot every that many events; 0 never.
	SnapshotEvery int
	// SnapshotVersion is the version of the state's shape. Snapshots of
	// another version are ignored and the state is rebuilt from events.
	SnapshotVersion int
	// ConflictRetries bounds how often a command is retried after another
	// process wrote to the stream first (default 5).
	ConflictRetries int
}

func (t AggregateType) validate() error {
	switch {
	case t.Name == "":
		return fmt.Errorf("actors: aggregate type without a name")
	case t.New == nil:
		return fmt.Errorf("actors: aggregate %s: New is nil", t.Name)
	case t.SnapshotEvery < 0 || t.ConflictRetries < 0:
		return fmt.Errorf("actors: aggregate %s: negative setting", t.Name)
	}
	if _, err := planOf(stateType(t.New()), true); err != nil {
		return fmt.Errorf("actors: aggregate %s: %w", t.Name, err)
	}
	return nil
}

func (t AggregateType) withDefaults() AggregateType {
	if t.StreamPrefix == "" {
		t.StreamPrefix = t.Name + "-"
	}
	if t.ConflictRetries == 0 {
		t.ConflictRetries = 5
	}
	return t
}

// lifespan returns the duration for an outcome.
func (t AggregateType) lifespan(cmd any, events []any, err error) time.Duration {
	l := t.Lifespan
	if r, ok := l.(*routeLifespans); ok {
		l = r.forCommand(cmd)
	}
	if l == nil {
		return Forever
	}
	switch {
	case err != nil:
		return l.AfterError(err)
	case len(events) > 0:
		return l.AfterEvent(events[len(events)-1])
	}
	return l.AfterCommand(cmd)
}

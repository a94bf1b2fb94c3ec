package actors

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// Metadata is string key-value data carried by a command to the events it
// causes, and by those events to the commands they cause.
type Metadata map[string]string

// clone returns a copy of m (nil for an empty m).
func (m Metadata) clone() Metadata {
	if len(m) == 0 {
		return nil
	}
	c := make(Metadata, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Consistency says when a dispatch returns.
type Consistency int8

const (
	// Eventual returns once the events are stored.
	Eventual Consistency = iota
	// Strong also waits until every strongly consistent handler has
	// processed the events.
	Strong
)

// Returning says what a dispatch's Result carries beyond the version and
// position, which it always carries.
type Returning int8

const (
	// ReturnVersion returns the aggregate's version and the global position
	// of its last event.
	ReturnVersion Returning = iota
	// ReturnEvents also returns the events appended.
	ReturnEvents
	// ReturnState also returns a copy of the aggregate's state.
	ReturnState
)

// NoExpectedVersion means the command carries no expected version.
const NoExpectedVersion int64 = -1

// Command is a command on its way to an aggregate: the payload and
// everything that travels with it. Middleware may read and change it.
type Command struct {
	// Payload is the command, a plain struct.
	Payload any
	// ID identifies the command. A caller (WithCommandID) or middleware
	// that sets it makes the dispatch idempotent: dispatching the same ID
	// again to the same aggregate returns the first outcome and appends
	// nothing. When it is still unset as the command reaches its
	// aggregate, a random ID is used and nothing is remembered.
	ID            uuid.UUID
	CausationID   uuid.UUID
	CorrelationID uuid.UUID
	Metadata      Metadata

	// AggregateType and AggregateID are set by the router.
	AggregateType string
	AggregateID   string

	Consistency Consistency
	// Handlers restricts strong consistency to these handlers; empty means
	// every handler declared strongly consistent.
	Handlers  []string
	Returning Returning
	// ExpectedVersion, unless NoExpectedVersion, is the version the
	// aggregate must be at, or the command fails with a version conflict.
	ExpectedVersion int64
	Timeout         time.Duration

	idempotent bool      // ID given by the caller or middleware
	generated  uuid.UUID // the random ID given to a command without one
	creating   bool      // routed with Creating
}

// assignID decides, as the command is routed to its aggregate, whether it
// is idempotent: it is if its ID was set, by the caller or by middleware,
// and not by an earlier routing of the same command (middleware that
// calls next again); otherwise it gets a random ID.
func (c *Command) assignID() {
	if c.ID == uuid.Nil {
		c.ID = uuid.New()
		c.generated = c.ID
	}
	c.idempotent = c.ID != c.generated
}

// Result is the outcome of a successful dispatch.
type Result struct {
	AggregateID string
	StreamID    string
	// Version is the aggregate's version after the command.
	Version int64
	// Position is the global position of the last event the command
	// appended (its StreamWrites' included), or 0 when it appended none. Pass it to App.WaitFor to read
	// your writes from any handler.
	Position int64
	// Events are the events appended, with ReturnEvents.
	Events []Event
	// Writes are the outcomes of the command's StreamWrites, in the order
	// Execute returned them; nil when it made none.
	Writes []eventstore.AppendResult
	// State is a copy of the aggregate, with ReturnState.
	State any
	// Duplicate reports that the command's ID had already been handled:
	// nothing was appended and Version and Position are the first outcome's.
	Duplicate bool
}

// StateAs returns the result's state as S; ok is false when it is not one.
func StateAs[S any](r Result) (S, bool) {
	s, ok := r.State.(S)
	return s, ok
}

// DispatchOption adjusts one dispatch.
type DispatchOption func(*Command)

// WithTimeout bounds the dispatch (default Config.DispatchTimeout).
func WithTimeout(d time.Duration) DispatchOption { return func(c *Command) { c.Timeout = d } }

// WithMetadata adds metadata to the command and its events.
func WithMetadata(md Metadata) DispatchOption {
	return func(c *Command) {
		if c.Metadata == nil {
			c.Metadata = make(Metadata, len(md))
		}
		for k, v := range md {
			c.Metadata[k] = v
		}
	}
}

// WithCommandID makes the dispatch idempotent under id.
func WithCommandID(id uuid.UUID) DispatchOption {
	return func(c *Command) { c.ID = id }
}

// WithCausationID records what caused the command.
func WithCausationID(id uuid.UUID) DispatchOption { return func(c *Command) { c.CausationID = id } }

// WithCorrelationID sets the correlation id (default: a new one).
func WithCorrelationID(id uuid.UUID) DispatchOption {
	return func(c *Command) { c.CorrelationID = id }
}

// WithConsistency sets the consistency; with Strong and handler names, only
// those handlers are waited for.
func WithConsistency(cons Consistency, handlers ...string) DispatchOption {
	return func(c *Command) { c.Consistency, c.Handlers = cons, handlers }
}

// WithReturning sets what the result carries.
func WithReturning(r Returning) DispatchOption { return func(c *Command) { c.Returning = r } }

// WithExpectedVersion makes the dispatch fail with a version conflict
// unless the aggregate is at version v.
func WithExpectedVersion(v int64) DispatchOption { return func(c *Command) { c.ExpectedVersion = v } }

// DispatchFunc dispatches a command.
type DispatchFunc func(ctx context.Context, cmd *Command) (Result, error)

// Middleware wraps dispatch: code before next runs before the command is
// routed to its aggregate, code after sees the result or the failure.
type Middleware func(next DispatchFunc) DispatchFunc

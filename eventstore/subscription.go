package eventstore

import (
	"fmt"
	"time"
)

// StartFrom is where a subscription starts when it is first created.
type StartFrom struct {
	after   int64
	current bool
}

var (
	// Origin starts with the first event.
	Origin = StartFrom{}
	// Current starts after the last event committed when the subscription
	// is created.
	Current = StartFrom{current: true}
)

// After starts after the given stream version or, for $all, global
// position.
func After(cursor int64) StartFrom { return StartFrom{after: cursor} }

// IsCurrent reports whether s is Current.
func (s StartFrom) IsCurrent() bool { return s.current }

// Cursor is the version or position s starts after; zero for Origin and
// Current.
func (s StartFrom) Cursor() int64 { return s.after }

// String returns "origin", "current" or "after N".
func (s StartFrom) String() string {
	switch {
	case s.current:
		return "current"
	case s.after == 0:
		return "origin"
	}
	return fmt.Sprintf("after %d", s.after)
}

// Defaults for SubscribeOptions, which WithDefaults sets in zero fields.
const (
	DefaultBatchSize           = 100         // events in one delivered batch
	DefaultMaxInFlight         = 1_000       // events delivered, not yet acknowledged
	DefaultCheckpointThreshold = 100         // acknowledged events per stored checkpoint
	DefaultCheckpointInterval  = time.Second // longest wait before storing a checkpoint
)

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Stream is the stream to follow; empty or AllStream follows $all.
	Stream string
	// Name makes the subscription persistent: its checkpoint is stored,
	// it resumes after the last acknowledged event, and at most one
	// subscriber in any process receives its events at a time (the others
	// wait and take over when the holder closes, dies, or, with a store
	// that holds subscriptions through leases, stops renewing its lease;
	// see Leased). An empty name makes
	// a transient subscription, which keeps nothing and needs no lock.
	Name string
	// StartFrom applies when a persistent subscription is created, and to
	// every transient subscription.
	StartFrom StartFrom
	// BatchSize bounds the events in one delivered batch.
	BatchSize int
	// MaxInFlight bounds the events delivered but not yet acknowledged.
	MaxInFlight int
	// CheckpointThreshold and CheckpointInterval: a persistent subscription
	// stores its checkpoint after that many acknowledged events or that much
	// time since the first acknowledgement not yet stored, and on Close.
	CheckpointThreshold int
	CheckpointInterval  time.Duration
}

// IsAll reports whether the options follow $all.
func (o SubscribeOptions) IsAll() bool { return o.Stream == "" || o.Stream == AllStream }

// WithDefaults returns o with zero fields set to their defaults.
func (o SubscribeOptions) WithDefaults() SubscribeOptions {
	if o.Stream == "" {
		o.Stream = AllStream
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = max(DefaultMaxInFlight, o.BatchSize)
	}
	if o.CheckpointThreshold == 0 {
		o.CheckpointThreshold = DefaultCheckpointThreshold
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	return o
}

// Subscription delivers events in order, in batches, at least once.
//
// For a persistent subscription, events after the stored checkpoint are
// delivered again when it resumes (after a restart, or after another
// process took it over); handlers must tolerate seeing an event twice.
type Subscription interface {
	// Events returns the channel of batches. It is closed when the
	// subscription ends; Close then reports why.
	Events() <-chan []RecordedEvent
	// Ack acknowledges ev and every event delivered before it. Delivery
	// pauses while MaxInFlight events are unacknowledged.
	Ack(ev RecordedEvent) error
	// Close stops delivery, stores the last checkpoint, releases the
	// subscription to other processes, and returns the error that ended
	// the subscription, if any. It is safe to call more than once.
	Close() error
}

// Cursor returns what a subscription to stream counts ev by: the global
// position for $all, the stream version otherwise.
func Cursor(stream string, ev RecordedEvent) int64 {
	if stream == "" || stream == AllStream {
		return ev.Position
	}
	return ev.StreamVersion
}

package eventstore

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
)

// Limits every store enforces; larger input fails with ErrInvalidArgument
// and writes nothing.
const (
	MaxStreamIDLength   = 512      // bytes in a stream id
	MaxEventTypeLength  = 256      // bytes in an event type
	MaxEventsPerAppend  = 10_000   // events in one append or link
	MaxEventSize        = 4 << 20  // bytes of data plus metadata of one event
	MaxAppendSize       = 64 << 20 // bytes of data plus metadata of one append
	DefaultReadCount    = 1_000    // events a read returns when Count is 0
	MaxReadCount        = 100_000  // events one read may ask for (Count)
	MaxSubscriptionName = 256      // bytes in a persistent subscription's name
)

// Direction is the order of a read.
type Direction int8

const (
	// Forward reads in increasing version or position.
	Forward Direction = iota
	// Backward reads in decreasing version or position.
	Backward
)

// ReadOptions selects a page of events.
type ReadOptions struct {
	// Direction is Forward (the default) or Backward.
	Direction Direction
	// From is the first stream version (global position for $all) to
	// return. Zero means the first event when reading forward and the last
	// when reading backward.
	From int64
	// Count bounds the number of events returned; zero means
	// DefaultReadCount.
	Count int
}

// DeleteMode says how a stream is deleted.
type DeleteMode int8

const (
	// SoftDelete marks the stream deleted: it can no longer be read,
	// written or deleted again (ErrStreamDeleted), but its events stay in
	// $all and in streams that link them.
	SoftDelete DeleteMode = iota
	// HardDelete removes the stream and its events, also from $all and from
	// streams that link them, and the snapshot whose source id is the
	// stream's id. The stream id can then be used again, from nothing.
	HardDelete
)

// Appender appends events to a stream.
type Appender interface {
	// Append writes events to the end of stream if the stream satisfies
	// expected, all or nothing. It fails with a *VersionConflictError,
	// ErrStreamNotFound (StreamExists on a missing stream), ErrStreamDeleted,
	// ErrDuplicateEvent or an *InvalidArgumentError.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error)
}

// StreamReader reads one stream.
type StreamReader interface {
	// ReadStream returns a page of the stream's events, links resolved to the
	// events they point at. A missing stream is ErrStreamNotFound, a
	// soft-deleted one ErrStreamDeleted.
	ReadStream(ctx context.Context, stream string, opts ReadOptions) ([]RecordedEvent, error)
}

// AllReader reads every stream in global order.
type AllReader interface {
	// ReadAll returns a page of $all. It never returns an event while an
	// event with a lower position may still commit, so a reader that resumes
	// after the last position it saw misses nothing.
	ReadAll(ctx context.Context, opts ReadOptions) ([]RecordedEvent, error)
}

// Linker links existing events into another stream.
type Linker interface {
	// Link appends references to the events with the given ids to stream,
	// with the same concurrency check as Append. It fails with
	// ErrEventNotFound for an unknown id and ErrDuplicateEvent for an event
	// already in the stream.
	Link(ctx context.Context, stream string, expected ExpectedVersion, eventIDs []uuid.UUID) (AppendResult, error)
}

// StreamAdmin inspects, annotates and deletes streams.
type StreamAdmin interface {
	// StreamInfo describes a stream; a soft-deleted stream is described with
	// Deleted set rather than failing.
	StreamInfo(ctx context.Context, stream string) (StreamInfo, error)
	// SetStreamMetadata replaces an existing stream's metadata (JSON).
	SetStreamMetadata(ctx context.Context, stream string, metadata json.RawMessage) error
	// DeleteStream deletes a stream if it satisfies expected.
	DeleteStream(ctx context.Context, stream string, expected ExpectedVersion, mode DeleteMode) error
}

// Snapshotter records, reads and deletes snapshots.
type Snapshotter interface {
	// RecordSnapshot stores s unless a snapshot of a newer version of the
	// same source is already stored, in which case it keeps that one.
	RecordSnapshot(ctx context.Context, s Snapshot) error
	// ReadSnapshot returns the source's snapshot or ErrSnapshotNotFound.
	ReadSnapshot(ctx context.Context, sourceID string) (Snapshot, error)
	// DeleteSnapshot removes the source's snapshot, if any.
	DeleteSnapshot(ctx context.Context, sourceID string) error
}

// SnapshotStreamReader reads a snapshot and the events after it in one
// call: what loading an aggregate needs. The runtime loads every aggregate
// this way, so a store it runs on must provide it.
type SnapshotStreamReader interface {
	// ReadSnapshotStream returns the snapshot of sourceID, whether one
	// exists (found), and up to count events of stream from the version
	// after the snapshot's (from version 1 when there is none), links
	// resolved as ReadStream resolves them. A missing stream has no events
	// and is no error; a soft-deleted one is ErrStreamDeleted. count must
	// be in 1..MaxReadCount (an *InvalidArgumentError otherwise). The
	// snapshot and the events are read consistently: no append is seen
	// half.
	ReadSnapshotStream(ctx context.Context, sourceID, stream string, count int) (snap Snapshot, found bool, events []RecordedEvent, err error)
}

// SnapshotSaver records and deletes many snapshots in one call, as the
// runtime saves the states of a process manager's instances.
type SnapshotSaver interface {
	// SaveSnapshots records every snapshot in record, with RecordSnapshot's
	// rule that a stored snapshot of a newer version is kept, and deletes
	// the snapshots of the source ids in del, all in one transaction: a
	// snapshot that fails Validate fails the call and nothing is written.
	// Empty record and del are no error.
	SaveSnapshots(ctx context.Context, record []Snapshot, del []string) error
}

// Subscriber opens subscriptions.
type Subscriber interface {
	// Subscribe opens a subscription to a stream or to $all. The context
	// bounds only the call; the subscription runs until closed.
	Subscribe(ctx context.Context, opts SubscribeOptions) (Subscription, error)
	// DeleteSubscription removes a persistent subscription and its
	// checkpoint. It fails with ErrSubscriptionNotFound.
	DeleteSubscription(ctx context.Context, name string) error
	// Checkpoint returns the stored checkpoint of a persistent
	// subscription: the last acknowledged cursor stored (see
	// SubscribeOptions.CheckpointThreshold). It fails with
	// ErrSubscriptionNotFound.
	Checkpoint(ctx context.Context, name string) (int64, error)
}

// Store is everything an event store implementation provides; the
// conformance suite tests this whole surface. Code that uses a store should
// ask for the smaller interface it needs.
type Store interface {
	Appender
	MultiAppender
	StreamReader
	AllReader
	Linker
	StreamAdmin
	Snapshotter
	SnapshotStreamReader
	SnapshotSaver
	Subscriber
	// Close stops the store's subscriptions and background work.
	Close() error
}

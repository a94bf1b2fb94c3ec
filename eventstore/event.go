package eventstore

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// AllStream is the name of the logical stream holding every event of every
// stream in global order. It can be read and subscribed to, never appended to.
const AllStream = "$all"

// EventData is an event to append.
type EventData struct {
	// ID identifies the event across the store; the zero UUID asks the store
	// to generate one. Appending an ID that already exists fails with
	// ErrDuplicateEvent, which makes retries of the same append detectable.
	ID uuid.UUID
	// Type names the event, e.g. "accounts.UserRegistered". Required.
	Type string
	// Data is the event's payload as JSON. Nil stores JSON null.
	Data json.RawMessage
	// Metadata is optional JSON; nil stores nothing.
	Metadata json.RawMessage
	// CausationID is the id of the command or event that caused this one.
	CausationID uuid.UUID
	// CorrelationID groups every message of one conversation.
	CorrelationID uuid.UUID
}

// RecordedEvent is an event as stored. Its fields up to CreatedAt are the
// appended EventData's, with the id the store generated if it was zero.
type RecordedEvent struct {
	// ID identifies the event across the store.
	ID uuid.UUID
	// Type names the event.
	Type string
	// Data is the event's payload as JSON. A store may normalize it (the
	// PostgreSQL store returns it as jsonb prints it); its meaning is kept.
	Data json.RawMessage
	// Metadata is the event's metadata as JSON; nil when none was stored.
	Metadata json.RawMessage
	// CausationID is the id of the command or event that caused this one.
	CausationID uuid.UUID
	// CorrelationID groups every message of one conversation.
	CorrelationID uuid.UUID
	// CreatedAt is when the event was appended, by the store's clock, in
	// UTC.
	CreatedAt time.Time

	// StreamID and StreamVersion locate the event in the stream it was read
	// from. For an event read through a link they name the linking stream.
	StreamID      string
	StreamVersion int64
	// OriginStreamID and OriginStreamVersion locate the event in the stream
	// it was first appended to; they equal StreamID and StreamVersion unless
	// the event was read through a link.
	OriginStreamID      string
	OriginStreamVersion int64
	// Position is the event's place in the global order ($all).
	Position int64
}

// IsLink reports whether the event was read through a link.
func (e RecordedEvent) IsLink() bool { return e.StreamID != e.OriginStreamID }

// AppendResult describes a successful append or link.
type AppendResult struct {
	// Version is the stream's version after the append.
	Version int64
	// FirstPosition and LastPosition are the global positions of the first
	// and last event appended. For a link they are zero: linked events keep
	// their original positions.
	FirstPosition int64
	LastPosition  int64
}

// StreamInfo describes a stream.
type StreamInfo struct {
	// StreamID is the stream's id.
	StreamID string
	// Version is the number of events in the stream.
	Version int64
	// CreatedAt is when the stream's first event was appended, in UTC.
	CreatedAt time.Time
	// Deleted reports that the stream was soft-deleted.
	Deleted bool
	// Metadata is the stream's metadata (SetStreamMetadata); nil when none
	// was set.
	Metadata json.RawMessage
}

// Snapshot is the serialized state of some source (an aggregate, a process
// manager instance) as of a version of its stream.
type Snapshot struct {
	// SourceID identifies the source; one snapshot is kept per source.
	SourceID string
	// SourceVersion is the version of the source's stream the state is as
	// of: a reader applies the stream's events after it.
	SourceVersion int64
	// SourceType names the kind of source, e.g. an aggregate type.
	SourceType string
	// SchemaVersion is the version of the shape of Data. Readers ignore a
	// snapshot whose schema version differs from the one they expect.
	SchemaVersion int
	// Data is the serialized state, as JSON.
	Data json.RawMessage
	// Metadata is optional JSON; nil stores nothing.
	Metadata json.RawMessage
	// CreatedAt is when the snapshot was recorded, in UTC; the store sets
	// it.
	CreatedAt time.Time
}

package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// StreamAppend is one stream's part of a multi-stream append: events for
// Stream, written only if the stream satisfies Expected.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []EventData
}

// MultiAppender appends to several streams atomically.
type MultiAppender interface {
	// AppendStreams writes every part's events to its stream, all or
	// nothing: if any stream fails its expected version (or is deleted,
	// or missing where it must exist), nothing is written and the error is
	// that stream's, as Append would return it (a *VersionConflictError
	// naming the stream, a *StreamError wrapping ErrStreamNotFound or
	// ErrStreamDeleted). The results are in the order of the parts. The
	// parts must name distinct streams; together they obey the limits of
	// one append (MaxEventsPerAppend, MaxAppendSize), and an event id may
	// appear once in the whole call. A store's group commit writes a
	// multi-stream append in one transaction with other callers' appends;
	// another caller's failure does not fail it, nor its failure theirs.
	AppendStreams(ctx context.Context, parts []StreamAppend) ([]AppendResult, error)
}

// ValidateAppendStreams checks the arguments of AppendStreams. An
// argument's name in an *InvalidArgumentError starts with the part's
// index, e.g. "parts[1].stream".
func ValidateAppendStreams(parts []StreamAppend) error {
	if len(parts) == 0 {
		return &InvalidArgumentError{Arg: "parts", Reason: "no streams"}
	}
	streams := make(map[string]int, len(parts))
	ids := make(map[uuid.UUID]struct{})
	events, size := 0, 0
	for i, p := range parts {
		arg := fmt.Sprintf("parts[%d]", i)
		if err := ValidateAppend(p.Stream, p.Expected, p.Events); err != nil {
			var ia *InvalidArgumentError
			if errors.As(err, &ia) {
				return &InvalidArgumentError{Arg: arg + "." + ia.Arg, Reason: ia.Reason}
			}
			return err
		}
		if j, dup := streams[p.Stream]; dup {
			return &InvalidArgumentError{Arg: arg + ".stream", Reason: fmt.Sprintf("repeats parts[%d].stream", j)}
		}
		streams[p.Stream] = i
		for j, e := range p.Events {
			size += len(e.Data) + len(e.Metadata)
			if e.ID == uuid.Nil {
				continue
			}
			if _, dup := ids[e.ID]; dup {
				return &InvalidArgumentError{Arg: fmt.Sprintf("%s.events[%d].id", arg, j), Reason: "repeated in the same append"}
			}
			ids[e.ID] = struct{}{}
		}
		events += len(p.Events)
	}
	switch {
	case events > MaxEventsPerAppend:
		return &InvalidArgumentError{Arg: "parts", Reason: fmt.Sprintf("more than %d events", MaxEventsPerAppend)}
	case size > MaxAppendSize:
		return &InvalidArgumentError{Arg: "parts", Reason: fmt.Sprintf("more than %d bytes in one append", MaxAppendSize)}
	}
	return nil
}

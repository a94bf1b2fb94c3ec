package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ValidateStreamID checks a stream id for reading; writes additionally
// refuse AllStream (see ValidateAppend).
func ValidateStreamID(stream string) error {
	switch {
	case stream == "":
		return &InvalidArgumentError{Arg: "stream", Reason: "empty"}
	case len(stream) > MaxStreamIDLength:
		return &InvalidArgumentError{Arg: "stream", Reason: fmt.Sprintf("longer than %d bytes", MaxStreamIDLength)}
	}
	return validText("stream", stream)
}

func validWritableStream(stream string) error {
	if stream == AllStream {
		return &InvalidArgumentError{Arg: "stream", Reason: "$all cannot be written"}
	}
	return ValidateStreamID(stream)
}

// ValidateAppend checks the arguments of Append against the rules and
// limits every store enforces (a writable stream id, a known expected
// version, one to MaxEventsPerAppend events, each with a type and valid
// JSON, within the size limits, no id twice) and returns an
// *InvalidArgumentError for the first one broken. Stores call it before
// writing anything.
func ValidateAppend(stream string, expected ExpectedVersion, events []EventData) error {
	if err := validWritableStream(stream); err != nil {
		return err
	}
	if err := validExpected(expected); err != nil {
		return err
	}
	switch {
	case len(events) == 0:
		return &InvalidArgumentError{Arg: "events", Reason: "no events"}
	case len(events) > MaxEventsPerAppend:
		return &InvalidArgumentError{Arg: "events", Reason: fmt.Sprintf("more than %d events", MaxEventsPerAppend)}
	}
	total := 0
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		if err := e.validate(fmt.Sprintf("events[%d]", i)); err != nil {
			return err
		}
		if e.ID != uuid.Nil {
			if _, dup := seen[e.ID]; dup {
				return &InvalidArgumentError{Arg: fmt.Sprintf("events[%d].id", i), Reason: "repeated in the same append"}
			}
			seen[e.ID] = struct{}{}
		}
		total += len(e.Data) + len(e.Metadata)
	}
	if total > MaxAppendSize {
		return &InvalidArgumentError{Arg: "events", Reason: fmt.Sprintf("more than %d bytes in one append", MaxAppendSize)}
	}
	return nil
}

// ValidateLink checks the arguments of Link (a writable stream id, a known
// expected version, one to MaxEventsPerAppend ids, none zero or repeated)
// and returns an *InvalidArgumentError for the first rule broken.
func ValidateLink(stream string, expected ExpectedVersion, ids []uuid.UUID) error {
	if err := validWritableStream(stream); err != nil {
		return err
	}
	if err := validExpected(expected); err != nil {
		return err
	}
	switch {
	case len(ids) == 0:
		return &InvalidArgumentError{Arg: "eventIDs", Reason: "no events"}
	case len(ids) > MaxEventsPerAppend:
		return &InvalidArgumentError{Arg: "eventIDs", Reason: fmt.Sprintf("more than %d events", MaxEventsPerAppend)}
	}
	seen := make(map[uuid.UUID]struct{}, len(ids))
	for i, id := range ids {
		if id == uuid.Nil {
			return &InvalidArgumentError{Arg: fmt.Sprintf("eventIDs[%d]", i), Reason: "nil id"}
		}
		if _, dup := seen[id]; dup {
			return &InvalidArgumentError{Arg: fmt.Sprintf("eventIDs[%d]", i), Reason: "repeated in the same link"}
		}
		seen[id] = struct{}{}
	}
	return nil
}

// ValidateDelete checks the arguments of DeleteStream (a writable stream id,
// an expected version other than NoStream, a known mode) and returns an
// *InvalidArgumentError for the first rule broken.
func ValidateDelete(stream string, expected ExpectedVersion, mode DeleteMode) error {
	if err := validWritableStream(stream); err != nil {
		return err
	}
	if expected == NoStream {
		return &InvalidArgumentError{Arg: "expected", Reason: "cannot delete a stream expected not to exist"}
	}
	if err := validExpected(expected); err != nil {
		return err
	}
	if mode != SoftDelete && mode != HardDelete {
		return &InvalidArgumentError{Arg: "mode", Reason: fmt.Sprintf("unknown delete mode %d", mode)}
	}
	return nil
}

// ValidateMetadata checks the arguments of SetStreamMetadata (a writable
// stream id, valid JSON) and returns an *InvalidArgumentError for the first
// rule broken.
func ValidateMetadata(stream string, metadata json.RawMessage) error {
	if err := validWritableStream(stream); err != nil {
		return err
	}
	return validJSON("metadata", metadata, true)
}

func validExpected(v ExpectedVersion) error {
	if v < StreamExists {
		return &InvalidArgumentError{Arg: "expected", Reason: fmt.Sprintf("unknown expected version %d", int64(v))}
	}
	return nil
}

func (e EventData) validate(arg string) error {
	switch {
	case e.Type == "":
		return &InvalidArgumentError{Arg: arg + ".type", Reason: "empty"}
	case len(e.Type) > MaxEventTypeLength:
		return &InvalidArgumentError{Arg: arg + ".type", Reason: fmt.Sprintf("longer than %d bytes", MaxEventTypeLength)}
	case len(e.Data)+len(e.Metadata) > MaxEventSize:
		return &InvalidArgumentError{Arg: arg, Reason: fmt.Sprintf("data and metadata exceed %d bytes", MaxEventSize)}
	}
	if err := validText(arg+".type", e.Type); err != nil {
		return err
	}
	if err := validJSON(arg+".data", e.Data, true); err != nil {
		return err
	}
	return validJSON(arg+".metadata", e.Metadata, true)
}

// Validate checks read options (a known direction, From and Count not
// negative, Count at most MaxReadCount) and returns an
// *InvalidArgumentError for the first rule broken.
func (o ReadOptions) Validate() error {
	switch {
	case o.Direction != Forward && o.Direction != Backward:
		return &InvalidArgumentError{Arg: "direction", Reason: fmt.Sprintf("unknown direction %d", o.Direction)}
	case o.From < 0:
		return &InvalidArgumentError{Arg: "from", Reason: "negative"}
	case o.Count < 0:
		return &InvalidArgumentError{Arg: "count", Reason: "negative"}
	case o.Count > MaxReadCount:
		return &InvalidArgumentError{Arg: "count", Reason: fmt.Sprintf("more than %d", MaxReadCount)}
	}
	return nil
}

// Limit returns Count, or DefaultReadCount when Count is zero.
func (o ReadOptions) Limit() int {
	if o.Count == 0 {
		return DefaultReadCount
	}
	return o.Count
}

// Validate checks a snapshot before it is recorded (a source id within
// MaxStreamIDLength, a version not negative, valid JSON) and returns an
// *InvalidArgumentError for the first rule broken.
func (s Snapshot) Validate() error {
	if s.SourceID == "" {
		return &InvalidArgumentError{Arg: "snapshot.sourceID", Reason: "empty"}
	}
	if len(s.SourceID) > MaxStreamIDLength {
		return &InvalidArgumentError{Arg: "snapshot.sourceID", Reason: fmt.Sprintf("longer than %d bytes", MaxStreamIDLength)}
	}
	if err := validText("snapshot.sourceID", s.SourceID); err != nil {
		return err
	}
	if err := validText("snapshot.sourceType", s.SourceType); err != nil {
		return err
	}
	if s.SourceVersion < 0 {
		return &InvalidArgumentError{Arg: "snapshot.sourceVersion", Reason: "negative"}
	}
	if err := validJSON("snapshot.data", s.Data, true); err != nil {
		return err
	}
	return validJSON("snapshot.metadata", s.Metadata, true)
}

// Validate checks subscription options after WithDefaults (a valid stream
// id, a name within MaxSubscriptionName, sizes in range) and returns an
// *InvalidArgumentError for the first rule broken.
func (o SubscribeOptions) Validate() error {
	if !o.IsAll() {
		if err := ValidateStreamID(o.Stream); err != nil {
			return err
		}
	}
	switch {
	case len(o.Name) > MaxSubscriptionName:
		return &InvalidArgumentError{Arg: "name", Reason: fmt.Sprintf("longer than %d bytes", MaxSubscriptionName)}
	case o.StartFrom.after < 0:
		return &InvalidArgumentError{Arg: "startFrom", Reason: "negative"}
	case o.BatchSize < 0 || o.BatchSize > MaxReadCount:
		return &InvalidArgumentError{Arg: "batchSize", Reason: "out of range"}
	case o.MaxInFlight < 0:
		return &InvalidArgumentError{Arg: "maxInFlight", Reason: "negative"}
	case o.MaxInFlight > 0 && o.MaxInFlight < o.BatchSize:
		return &InvalidArgumentError{Arg: "maxInFlight", Reason: "smaller than batchSize"}
	case o.CheckpointThreshold < 0 || o.CheckpointInterval < 0:
		return &InvalidArgumentError{Arg: "checkpoint", Reason: "negative"}
	}
	return validText("name", o.Name)
}

// validText rejects what PostgreSQL text cannot hold: invalid UTF-8 and NUL.
func validText(arg, s string) error {
	if !utf8.ValidString(s) {
		return &InvalidArgumentError{Arg: arg, Reason: "not valid UTF-8"}
	}
	if strings.IndexByte(s, 0) >= 0 {
		return &InvalidArgumentError{Arg: arg, Reason: "contains a NUL byte"}
	}
	return nil
}

// validJSON rejects what is not JSON, or is JSON that a jsonb column
// cannot hold (invalid UTF-8, the \u0000 escape), so every store accepts
// the same input.
func validJSON(arg string, data json.RawMessage, optional bool) error {
	if len(data) == 0 {
		if optional {
			return nil
		}
		return &InvalidArgumentError{Arg: arg, Reason: "empty"}
	}
	if !utf8.Valid(data) {
		return &InvalidArgumentError{Arg: arg, Reason: "not valid UTF-8"}
	}
	if !json.Valid(data) {
		return &InvalidArgumentError{Arg: arg, Reason: "not valid JSON"}
	}
	if bytes.Contains(data, []byte(`\u0000`)) && hasNUL(data) {
		return &InvalidArgumentError{Arg: arg, Reason: `contains the \u0000 escape`}
	}
	return nil
}

// hasNUL reports whether a decoded JSON document holds a NUL character in a
// key or a string value.
func hasNUL(data []byte) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return true
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return strings.IndexByte(v, 0) >= 0
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range v {
				if strings.IndexByte(k, 0) >= 0 || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// testInvalidArgument checks that every entry point refuses invalid input
// with ErrInvalidArgument and writes nothing.
func testInvalidArgument(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	existing := newEvents(1, "existing")
	mustAppend(t, s, "existing", eventstore.NoStream, existing)
	before := mustReadWholeAll(t, s)
	info := mustStreamInfo(t, s, "existing")

	one := func(e eventstore.EventData) []eventstore.EventData {
		if e.Type == "" {
			e.Type = "t"
		}
		return []eventstore.EventData{e}
	}
	appendTo := func(stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			_, err := s.Append(ctx, stream, expected, evs)
			return err
		}
	}
	valid := one(eventstore.EventData{Data: json.RawMessage(`{}`)})
	tooMany := make([]eventstore.EventData, eventstore.MaxEventsPerAppend+1)
	for i := range tooMany {
		tooMany[i] = eventstore.EventData{Type: "t"}
	}
	repeated := newEvents(2, "t")
	repeated[1].ID = repeated[0].ID
	huge := json.RawMessage(`"` + strings.Repeat("x", eventstore.MaxEventSize) + `"`)
	readStream := func(opts eventstore.ReadOptions) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			_, err := s.ReadStream(ctx, "existing", opts)
			return err
		}
	}
	readAll := func(opts eventstore.ReadOptions) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			_, err := s.ReadAll(ctx, opts)
			return err
		}
	}
	link := func(stream string, expected eventstore.ExpectedVersion, ids ...uuid.UUID) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			_, err := s.Link(ctx, stream, expected, ids)
			return err
		}
	}
	del := func(stream string, expected eventstore.ExpectedVersion, mode eventstore.DeleteMode) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			return s.DeleteStream(ctx, stream, expected, mode)
		}
	}
	subscribe := func(opts eventstore.SubscribeOptions) func(context.Context, eventstore.Store) error {
		return func(ctx context.Context, s eventstore.Store) error {
			sub, err := s.Subscribe(ctx, opts)
			if err == nil {
				sub.Close()
			}
			return err
		}
	}

	cases := []struct {
		name string
		call func(context.Context, eventstore.Store) error
	}{
		{"Append/EmptyStream", appendTo("", eventstore.Any, valid)},
		{"Append/LongStream", appendTo(strings.Repeat("s", eventstore.MaxStreamIDLength+1), eventstore.Any, valid)},
		{"Append/InvalidUTF8Stream", appendTo("bad\xff", eventstore.Any, valid)},
		{"Append/NULStream", appendTo("bad\x00", eventstore.Any, valid)},
		{"Append/AllStream", appendTo(eventstore.AllStream, eventstore.Any, valid)},
		{"Append/NoEvents", appendTo("invalid", eventstore.Any, nil)},
		{"Append/TooManyEvents", appendTo("invalid", eventstore.Any, tooMany)},
		{"Append/UnknownExpectedVersion", appendTo("invalid", eventstore.ExpectedVersion(-5), valid)},
		{"Append/EmptyType", appendTo("invalid", eventstore.Any, []eventstore.EventData{{Data: json.RawMessage(`{}`)}})},
		{"Append/LongType", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Type: strings.Repeat("t", eventstore.MaxEventTypeLength+1)}))},
		{"Append/InvalidJSONData", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Data: json.RawMessage(`{"a":`)}))},
		{"Append/InvalidJSONMetadata", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Metadata: json.RawMessage(`nope`)}))},
		{"Append/NULEscapeInData", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Data: json.RawMessage(`{"a": "x\u0000y"}`)}))},
		{"Append/NULEscapeInMetadata", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Metadata: json.RawMessage(`{"\u0000": 1}`)}))},
		{"Append/EventTooLarge", appendTo("invalid", eventstore.Any, one(eventstore.EventData{Data: huge}))},
		{"Append/RepeatedID", appendTo("invalid", eventstore.Any, repeated)},
		{"Append/InvalidEventInExistingStream", appendTo("existing", eventstore.Exact(1), append(newEvents(1, "t"), eventstore.EventData{Type: "t", Data: json.RawMessage(`[`)}))},
		{"ReadStream/EmptyStream", func(ctx context.Context, s eventstore.Store) error {
			_, err := s.ReadStream(ctx, "", eventstore.ReadOptions{})
			return err
		}},
		{"ReadStream/NegativeFrom", readStream(eventstore.ReadOptions{From: -1})},
		{"ReadStream/NegativeCount", readStream(eventstore.ReadOptions{Count: -1})},
		{"ReadStream/CountTooLarge", readStream(eventstore.ReadOptions{Count: eventstore.MaxReadCount + 1})},
		{"ReadStream/UnknownDirection", readStream(eventstore.ReadOptions{Direction: 7})},
		{"ReadAll/NegativeFrom", readAll(eventstore.ReadOptions{Direction: eventstore.Backward, From: -1})},
		{"ReadAll/NegativeCount", readAll(eventstore.ReadOptions{Count: -1})},
		{"ReadAll/CountTooLarge", readAll(eventstore.ReadOptions{Count: eventstore.MaxReadCount + 1})},
		{"Link/AllStream", link(eventstore.AllStream, eventstore.Any, existing[0].ID)},
		{"Link/NoEvents", link("invalid", eventstore.Any)},
		{"Link/NilID", link("invalid", eventstore.Any, uuid.Nil)},
		{"Link/RepeatedID", link("invalid", eventstore.Any, existing[0].ID, existing[0].ID)},
		{"Link/UnknownExpectedVersion", link("invalid", eventstore.ExpectedVersion(-5), existing[0].ID)},
		{"Delete/AllStream", del(eventstore.AllStream, eventstore.Any, eventstore.HardDelete)},
		{"Delete/ExpectNoStream", del("existing", eventstore.NoStream, eventstore.HardDelete)},
		{"Delete/UnknownMode", del("existing", eventstore.Any, eventstore.DeleteMode(9))},
		{"SetStreamMetadata/InvalidJSON", func(ctx context.Context, s eventstore.Store) error {
			return s.SetStreamMetadata(ctx, "existing", json.RawMessage(`{`))
		}},
		{"RecordSnapshot/EmptySource", func(ctx context.Context, s eventstore.Store) error {
			return s.RecordSnapshot(ctx, eventstore.Snapshot{SourceVersion: 1, Data: json.RawMessage(`{}`)})
		}},
		{"RecordSnapshot/InvalidJSON", func(ctx context.Context, s eventstore.Store) error {
			return s.RecordSnapshot(ctx, eventstore.Snapshot{SourceID: "invalid", SourceVersion: 1, Data: json.RawMessage(`{]`)})
		}},
		{"Subscribe/NegativeBatchSize", subscribe(eventstore.SubscribeOptions{BatchSize: -1})},
		{"Subscribe/MaxInFlightBelowBatchSize", subscribe(eventstore.SubscribeOptions{BatchSize: 10, MaxInFlight: 5})},
		{"Subscribe/NULStream", subscribe(eventstore.SubscribeOptions{Stream: "bad\x00"})},
		{"Subscribe/LongName", subscribe(eventstore.SubscribeOptions{Name: strings.Repeat("n", eventstore.MaxSubscriptionName+1)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context(), s)
			wantErr(t, err, eventstore.ErrInvalidArgument, tc.name)
			wantUnchanged(t, s, before, tc.name)
		})
	}
	wantNoStream(t, s, "invalid", "invalid calls")
	if after := mustStreamInfo(t, s, "existing"); after.Version != 1 || after.Deleted || !jsonEqual(after.Metadata, info.Metadata) {
		t.Fatalf("existing stream changed: %+v, was %+v", after, info)
	}
	_, err := s.ReadSnapshot(t.Context(), "invalid")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "read snapshot after invalid record")
}

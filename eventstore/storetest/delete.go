package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

func mustDelete(tb testing.TB, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, mode eventstore.DeleteMode) {
	tb.Helper()
	if err := s.DeleteStream(tb.Context(), stream, expected, mode); err != nil {
		tb.Fatalf("delete %q (expected %v, mode %d): %v", stream, expected, mode, err)
	}
}

func testSoftDelete(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	f := newLinkFixture(t, s)
	all := mustReadWholeAll(t, s)
	mustDelete(t, s, "src", eventstore.Exact(3), eventstore.SoftDelete)

	for _, dir := range []eventstore.Direction{eventstore.Forward, eventstore.Backward} {
		_, err := s.ReadStream(ctx, "src", eventstore.ReadOptions{Direction: dir})
		wantErr(t, err, eventstore.ErrStreamDeleted, fmt.Sprintf("read deleted stream (direction %d)", dir))
	}
	_, err := s.Append(ctx, "src", eventstore.Any, newEvents(1, "late"))
	wantErr(t, err, eventstore.ErrStreamDeleted, "append to deleted stream")
	_, err = s.Link(ctx, "src", eventstore.Any, []uuid.UUID{f.other[0].ID})
	wantErr(t, err, eventstore.ErrStreamDeleted, "link into deleted stream")
	for _, mode := range []eventstore.DeleteMode{eventstore.SoftDelete, eventstore.HardDelete} {
		err = s.DeleteStream(ctx, "src", eventstore.Any, mode)
		wantErr(t, err, eventstore.ErrStreamDeleted, fmt.Sprintf("delete deleted stream (mode %d)", mode))
	}

	info := mustStreamInfo(t, s, "src")
	if !info.Deleted || info.Version != 3 || info.StreamID != "src" {
		t.Fatalf("deleted stream info %+v, want deleted at version 3", info)
	}
	// Its events stay in $all and in the streams that link them.
	wantIDs(t, mustReadWholeAll(t, s), eventIDs(all), "$all after soft delete")
	got := mustReadStream(t, s, "lnk", eventstore.ReadOptions{})
	wantIDs(t, got, f.lnk, "lnk after soft delete")
	wantLinked(t, got[0], f.src[1], "lnk", 1)
	// Other streams are unaffected.
	mustAppend(t, s, "lnk", eventstore.Exact(4), newEvents(1, "after"))
	if info := mustStreamInfo(t, s, "lnk"); info.Deleted {
		t.Fatal("lnk is marked deleted")
	}
}

func testHardDelete(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	f := newLinkFixture(t, s)
	kept := mustReadWholeAll(t, s)
	mustDelete(t, s, "src", eventstore.Exact(3), eventstore.HardDelete)

	_, err := s.ReadStream(ctx, "src", eventstore.ReadOptions{})
	wantErr(t, err, eventstore.ErrStreamNotFound, "read hard-deleted stream")
	_, err = s.StreamInfo(ctx, "src")
	wantErr(t, err, eventstore.ErrStreamNotFound, "info of hard-deleted stream")
	err = s.DeleteStream(ctx, "src", eventstore.Any, eventstore.HardDelete)
	wantErr(t, err, eventstore.ErrStreamNotFound, "delete hard-deleted stream")
	_, err = s.Link(ctx, "lnk2", eventstore.Any, []uuid.UUID{f.src[2].ID})
	wantErr(t, err, eventstore.ErrEventNotFound, "link a hard-deleted event")

	// The events are gone from $all and from the linking stream.
	var rest []uuid.UUID
	for _, e := range kept {
		if e.StreamID != "src" {
			rest = append(rest, e.ID)
		}
	}
	wantIDs(t, mustReadWholeAll(t, s), rest, "$all after hard delete")
	wantIDs(t, mustReadStream(t, s, "lnk", eventstore.ReadOptions{}), []uuid.UUID{f.other[0].ID, f.own[0].ID}, "lnk after hard delete")
	back := mustReadStream(t, s, "lnk", eventstore.ReadOptions{Direction: eventstore.Backward})
	wantIDs(t, back, []uuid.UUID{f.own[0].ID, f.other[0].ID}, "lnk backward after hard delete")

	// The stream id, and the deleted events' ids, can be used again.
	again := []eventstore.EventData{{ID: f.src[0].ID, Type: "again"}, {Type: "again"}}
	res := mustAppend(t, s, "src", eventstore.NoStream, again)
	if res.Version != 2 {
		t.Fatalf("append to the reused stream id: version %d, want 2", res.Version)
	}
	if last := kept[len(kept)-1].Position; res.FirstPosition <= last {
		t.Fatalf("reused stream: first position %d, not after %d", res.FirstPosition, last)
	}
	got := mustReadStream(t, s, "src", eventstore.ReadOptions{})
	wantVersions(t, got, span(1, 2), "reused stream")
	if got[0].ID != f.src[0].ID || got[0].Type != "again" {
		t.Fatalf("reused stream: first event %v %q", got[0].ID, got[0].Type)
	}
	if info := mustStreamInfo(t, s, "src"); info.Deleted || info.Version != 2 {
		t.Fatalf("reused stream info %+v", info)
	}
}

// testHardDeleteSnapshot: a hard delete removes the snapshot whose source
// is the stream, which would otherwise describe versions the re-created
// stream never had; a soft delete keeps it, and other sources' snapshots
// stay.
func testHardDeleteSnapshot(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	for _, id := range []string{"hard", "soft", "other"} {
		mustAppend(t, s, id, eventstore.NoStream, newEvents(3, "e"))
		mustRecordSnapshot(t, s, eventstore.Snapshot{SourceID: id, SourceVersion: 3, SourceType: "t",
			Data: json.RawMessage(`{"n": 3}`), Metadata: json.RawMessage(`{"commands": []}`)})
	}
	mustRecordSnapshot(t, s, eventstore.Snapshot{SourceID: "no-stream", SourceVersion: 1, Data: json.RawMessage(`{}`)})
	mustDelete(t, s, "hard", eventstore.Exact(3), eventstore.HardDelete)
	mustDelete(t, s, "soft", eventstore.Exact(3), eventstore.SoftDelete)

	_, err := s.ReadSnapshot(ctx, "hard")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "snapshot of a hard-deleted stream")
	for _, id := range []string{"soft", "other", "no-stream"} {
		mustReadSnapshot(t, s, id)
	}

	// The re-created stream starts from nothing: a snapshot of its new,
	// lower version is kept, not shadowed by the deleted stream's.
	mustAppend(t, s, "hard", eventstore.NoStream, newEvents(1, "again"))
	fresh := eventstore.Snapshot{SourceID: "hard", SourceVersion: 1, SourceType: "t", Data: json.RawMessage(`{"n": 1}`)}
	mustRecordSnapshot(t, s, fresh)
	wantSnapshot(t, mustReadSnapshot(t, s, "hard"), fresh, "snapshot of the re-created stream")
}

func testDeleteExpectedVersion(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	cases := []struct {
		expected eventstore.ExpectedVersion
		ok       bool
	}{
		{eventstore.Any, true},
		{eventstore.StreamExists, true},
		{eventstore.Exact(2), true},
		{eventstore.Exact(1), false},
		{eventstore.Exact(3), false},
	}
	for _, mode := range []eventstore.DeleteMode{eventstore.SoftDelete, eventstore.HardDelete} {
		for _, tc := range cases {
			name := [...]string{"soft", "hard"}[mode] + "/" + expName(tc.expected)
			t.Run(name, func(t *testing.T) {
				stream := "del-" + name
				evs := newEvents(2, "e")
				mustAppend(t, s, stream, eventstore.NoStream, evs)
				err := s.DeleteStream(t.Context(), stream, tc.expected, mode)
				if !tc.ok {
					wantConflict(t, err, stream, tc.expected, 2, "delete")
					wantIDs(t, mustReadStream(t, s, stream, eventstore.ReadOptions{}), dataIDs(evs), "stream after failed delete")
					return
				}
				if err != nil {
					t.Fatalf("delete: %v", err)
				}
				_, err = s.ReadStream(t.Context(), stream, eventstore.ReadOptions{})
				wantErr(t, err, [...]error{eventstore.ErrStreamDeleted, eventstore.ErrStreamNotFound}[mode], "read after delete")
			})
		}
	}
}

func testDeleteNotFound(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "exists", eventstore.NoStream, newEvents(1, "e"))
	for _, mode := range []eventstore.DeleteMode{eventstore.SoftDelete, eventstore.HardDelete} {
		for _, expected := range []eventstore.ExpectedVersion{eventstore.Any, eventstore.StreamExists} {
			err := s.DeleteStream(t.Context(), "missing", expected, mode)
			wantErr(t, err, eventstore.ErrStreamNotFound, fmt.Sprintf("delete missing stream (expected %v, mode %d)", expected, mode))
		}
	}
	wantNoStream(t, s, "missing", "delete")
}

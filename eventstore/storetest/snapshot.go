package storetest

import (
	"encoding/json"
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
)

// mustReadSnapshotStream reads a snapshot and the stream after it.
func mustReadSnapshotStream(tb testing.TB, s eventstore.Store, source, stream string, count int) (eventstore.Snapshot, bool, []eventstore.RecordedEvent) {
	tb.Helper()
	snap, found, evs, err := s.ReadSnapshotStream(tb.Context(), source, stream, count)
	if err != nil {
		tb.Fatalf("read snapshot %q and stream %q: %v", source, stream, err)
	}
	return snap, found, evs
}

// testSnapshotStream: ReadSnapshotStream returns the snapshot and the
// events after its version, as ReadSnapshot and ReadStream would.
func testSnapshotStream(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()

	_, found, evs := mustReadSnapshotStream(t, s, "missing", "missing", 10)
	if found || len(evs) != 0 {
		t.Fatalf("missing source and stream: found %v, %d events", found, len(evs))
	}

	mustAppend(t, s, "acct", eventstore.NoStream, newEvents(5, "Deposited"))
	_, found, evs = mustReadSnapshotStream(t, s, "acct", "acct", 10)
	if found {
		t.Fatal("no snapshot: found")
	}
	wantVersions(t, evs, []int64{1, 2, 3, 4, 5}, "no snapshot")
	want := mustReadStream(t, s, "acct", eventstore.ReadOptions{})
	for i := range evs {
		if evs[i].ID != want[i].ID || evs[i].Position != want[i].Position || evs[i].StreamID != "acct" || evs[i].Type != want[i].Type {
			t.Fatalf("event %d: got %+v, want %+v", i, evs[i], want[i])
		}
		wantJSON(t, evs[i].Data, want[i].Data, "event data")
	}

	snap := eventstore.Snapshot{SourceID: "acct", SourceVersion: 3, SourceType: "t", SchemaVersion: 2,
		Data: json.RawMessage(`{"balance": 3}`), Metadata: json.RawMessage(`{"by": "test"}`)}
	mustRecordSnapshot(t, s, snap)
	got, found, evs := mustReadSnapshotStream(t, s, "acct", "acct", 10)
	if !found {
		t.Fatal("snapshot not found")
	}
	wantSnapshot(t, got, snap, "snapshot")
	wantVersions(t, evs, []int64{4, 5}, "after the snapshot")
	_, _, evs = mustReadSnapshotStream(t, s, "acct", "acct", 1)
	wantVersions(t, evs, []int64{4}, "count 1")

	snap.SourceVersion = 5
	mustRecordSnapshot(t, s, snap)
	if _, found, evs = mustReadSnapshotStream(t, s, "acct", "acct", 10); !found || len(evs) != 0 {
		t.Fatalf("snapshot at the head: found %v, %d events", found, len(evs))
	}

	// A snapshot without its stream: found, no events.
	mustRecordSnapshot(t, s, eventstore.Snapshot{SourceID: "lonely", SourceVersion: 2, Data: json.RawMessage(`{}`)})
	if _, found, evs = mustReadSnapshotStream(t, s, "lonely", "lonely", 10); !found || len(evs) != 0 {
		t.Fatalf("snapshot without a stream: found %v, %d events", found, len(evs))
	}

	// Links are resolved as ReadStream resolves them.
	mustLink(t, s, "linked", eventstore.NoStream, want[0].ID, want[1].ID)
	_, _, evs = mustReadSnapshotStream(t, s, "none", "linked", 10)
	wantVersions(t, evs, []int64{1, 2}, "linked")
	if evs[0].ID != want[0].ID || evs[0].StreamID != "linked" || evs[0].OriginStreamID != "acct" || evs[0].OriginStreamVersion != 1 {
		t.Fatalf("linked event: %+v", evs[0])
	}

	mustDelete(t, s, "acct", eventstore.Exact(5), eventstore.SoftDelete)
	_, _, _, err := s.ReadSnapshotStream(ctx, "acct", "acct", 10)
	wantErr(t, err, eventstore.ErrStreamDeleted, "soft-deleted stream")

	for _, count := range []int{0, -1, eventstore.MaxReadCount + 1} {
		_, _, _, err := s.ReadSnapshotStream(ctx, "x", "x", count)
		wantErr(t, err, eventstore.ErrInvalidArgument, "count out of range")
	}
	_, _, _, err = s.ReadSnapshotStream(ctx, "x", "", 10)
	wantErr(t, err, eventstore.ErrInvalidArgument, "empty stream id")
}

// testSaveSnapshots: SaveSnapshots records and deletes many snapshots in
// one call, keeps a newer stored snapshot and writes nothing when one
// snapshot is invalid.
func testSaveSnapshots(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	if err := s.SaveSnapshots(ctx, nil, nil); err != nil {
		t.Fatalf("save nothing: %v", err)
	}
	snap := func(id string, version int64, data string) eventstore.Snapshot {
		return eventstore.Snapshot{SourceID: id, SourceVersion: version, SourceType: "t", SchemaVersion: 1, Data: json.RawMessage(data)}
	}
	mustRecordSnapshot(t, s, snap("newer", 9, `{"v": 9}`))
	mustRecordSnapshot(t, s, snap("gone", 1, `{}`))
	record := []eventstore.Snapshot{snap("a", 1, `{"v": "a"}`), snap("b", 2, `{"v": "b"}`), snap("newer", 3, `{"v": 3}`)}
	if err := s.SaveSnapshots(ctx, record, []string{"gone", "never"}); err != nil {
		t.Fatalf("save snapshots: %v", err)
	}
	wantSnapshot(t, mustReadSnapshot(t, s, "a"), record[0], "a")
	wantSnapshot(t, mustReadSnapshot(t, s, "b"), record[1], "b")
	wantSnapshot(t, mustReadSnapshot(t, s, "newer"), snap("newer", 9, `{"v": 9}`), "newer kept")
	_, err := s.ReadSnapshot(ctx, "gone")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "deleted snapshot")

	bad := []eventstore.Snapshot{snap("c", 1, `{}`), snap("", 1, `{}`)}
	err = s.SaveSnapshots(ctx, bad, []string{"a"})
	wantErr(t, err, eventstore.ErrInvalidArgument, "invalid snapshot")
	_, err = s.ReadSnapshot(ctx, "c")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "nothing written: c")
	wantSnapshot(t, mustReadSnapshot(t, s, "a"), record[0], "nothing written: a")
}

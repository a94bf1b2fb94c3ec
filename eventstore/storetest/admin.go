package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
)

func testStreamInfo(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	_, err := s.StreamInfo(t.Context(), "info")
	wantErr(t, err, eventstore.ErrStreamNotFound, "info of missing stream")

	before := time.Now()
	mustAppend(t, s, "info", eventstore.NoStream, newEvents(2, "e"))
	after := time.Now()
	info := mustStreamInfo(t, s, "info")
	if info.StreamID != "info" || info.Version != 2 || info.Deleted {
		t.Fatalf("info %+v, want version 2, not deleted", info)
	}
	wantTime(t, info.CreatedAt, before, after, "stream created at")

	mustAppend(t, s, "info", eventstore.Exact(2), newEvents(3, "e"))
	again := mustStreamInfo(t, s, "info")
	if again.Version != 5 || !again.CreatedAt.Equal(info.CreatedAt) {
		t.Fatalf("info after append %+v, want version 5 created at %v", again, info.CreatedAt)
	}
}

func testStreamMetadata(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	err := s.SetStreamMetadata(ctx, "meta", json.RawMessage(`{"a": 1}`))
	wantErr(t, err, eventstore.ErrStreamNotFound, "set metadata of missing stream")
	wantNoStream(t, s, "meta", "set metadata")

	mustAppend(t, s, "meta", eventstore.NoStream, newEvents(1, "e"))
	for _, md := range []string{`{"owner": "team-a", "tags": ["x", "y"], "n": 1}`, `{"replaced": true}`} {
		if err := s.SetStreamMetadata(ctx, "meta", json.RawMessage(md)); err != nil {
			t.Fatalf("set metadata: %v", err)
		}
		info := mustStreamInfo(t, s, "meta")
		wantJSON(t, info.Metadata, []byte(md), "stream metadata")
		if info.Version != 1 || info.Deleted {
			t.Fatalf("info after setting metadata %+v", info)
		}
	}
	if got := mustReadStream(t, s, "meta", eventstore.ReadOptions{}); len(got) != 1 {
		t.Fatalf("setting metadata changed the stream: %d events", len(got))
	}
}

func mustReadSnapshot(tb testing.TB, s eventstore.Store, source string) eventstore.Snapshot {
	tb.Helper()
	snap, err := s.ReadSnapshot(tb.Context(), source)
	if err != nil {
		tb.Fatalf("read snapshot %q: %v", source, err)
	}
	return snap
}

func mustRecordSnapshot(tb testing.TB, s eventstore.Store, snap eventstore.Snapshot) {
	tb.Helper()
	if err := s.RecordSnapshot(tb.Context(), snap); err != nil {
		tb.Fatalf("record snapshot %q v%d: %v", snap.SourceID, snap.SourceVersion, err)
	}
}

func wantSnapshot(tb testing.TB, got, want eventstore.Snapshot, what string) {
	tb.Helper()
	if got.SourceID != want.SourceID || got.SourceVersion != want.SourceVersion || got.SourceType != want.SourceType || got.SchemaVersion != want.SchemaVersion {
		tb.Fatalf("%s: got %s v%d %q schema %d, want %s v%d %q schema %d", what,
			got.SourceID, got.SourceVersion, got.SourceType, got.SchemaVersion,
			want.SourceID, want.SourceVersion, want.SourceType, want.SchemaVersion)
	}
	wantJSON(tb, got.Data, want.Data, what+" data")
	wantJSON(tb, got.Metadata, want.Metadata, what+" metadata")
}

func testSnapshotRoundTrip(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	_, err := s.ReadSnapshot(t.Context(), "acct-1")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "read missing snapshot")

	snap := eventstore.Snapshot{
		SourceID:      "acct-1",
		SourceVersion: 5,
		SourceType:    "accounts.Account",
		SchemaVersion: 2,
		Data:          json.RawMessage(`{"balance": 10.5, "owner": {"name": "a"}, "ops": [1, 2]}`),
		Metadata:      json.RawMessage(`{"by": "test"}`),
	}
	before := time.Now()
	mustRecordSnapshot(t, s, snap)
	after := time.Now()
	got := mustReadSnapshot(t, s, "acct-1")
	wantSnapshot(t, got, snap, "snapshot")
	wantTime(t, got.CreatedAt, before, after, "snapshot created at")

	other := eventstore.Snapshot{SourceID: "acct-2", SourceVersion: 1, SourceType: "accounts.Account", Data: json.RawMessage(`[]`)}
	mustRecordSnapshot(t, s, other)
	wantSnapshot(t, mustReadSnapshot(t, s, "acct-2"), other, "other snapshot")
	wantSnapshot(t, mustReadSnapshot(t, s, "acct-1"), snap, "first snapshot")
}

func testSnapshotVersions(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	snap := func(version int64, data string) eventstore.Snapshot {
		return eventstore.Snapshot{SourceID: "src", SourceVersion: version, SourceType: "t", SchemaVersion: 1, Data: json.RawMessage(data)}
	}
	steps := []struct {
		record, want eventstore.Snapshot
	}{
		{snap(5, `{"v": 5}`), snap(5, `{"v": 5}`)},
		{snap(3, `{"v": 3}`), snap(5, `{"v": 5}`)},       // older: kept the newer
		{snap(5, `{"v": "5b"}`), snap(5, `{"v": "5b"}`)}, // equal: replaced
		{snap(8, `{"v": 8}`), snap(8, `{"v": 8}`)},       // newer: replaced
		{snap(7, `{"v": 7}`), snap(8, `{"v": 8}`)},
	}
	for _, st := range steps {
		mustRecordSnapshot(t, s, st.record)
		wantSnapshot(t, mustReadSnapshot(t, s, "src"), st.want, fmt.Sprintf("after recording %s", st.record.Data))
	}
	schema := snap(8, `{"v": "new shape"}`)
	schema.SchemaVersion = 2
	mustRecordSnapshot(t, s, schema)
	wantSnapshot(t, mustReadSnapshot(t, s, "src"), schema, "after recording a new schema version")
}

func testSnapshotDelete(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	if err := s.DeleteSnapshot(ctx, "never"); err != nil {
		t.Fatalf("delete a missing snapshot: %v", err)
	}
	keep := eventstore.Snapshot{SourceID: "keep", SourceVersion: 1, Data: json.RawMessage(`{}`)}
	mustRecordSnapshot(t, s, keep)
	mustRecordSnapshot(t, s, eventstore.Snapshot{SourceID: "gone", SourceVersion: 9, Data: json.RawMessage(`{}`)})
	if err := s.DeleteSnapshot(ctx, "gone"); err != nil {
		t.Fatalf("delete snapshot: %v", err)
	}
	_, err := s.ReadSnapshot(ctx, "gone")
	wantErr(t, err, eventstore.ErrSnapshotNotFound, "read deleted snapshot")
	wantSnapshot(t, mustReadSnapshot(t, s, "keep"), keep, "other snapshot")
	if err := s.DeleteSnapshot(ctx, "gone"); err != nil {
		t.Fatalf("delete snapshot again: %v", err)
	}
	// A deleted snapshot no longer shadows older versions.
	older := eventstore.Snapshot{SourceID: "gone", SourceVersion: 2, Data: json.RawMessage(`{"older": true}`)}
	mustRecordSnapshot(t, s, older)
	wantSnapshot(t, mustReadSnapshot(t, s, "gone"), older, "snapshot recorded after delete")
}

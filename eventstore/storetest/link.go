package storetest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// linkFixture appends three events to "src", one to "other", and builds
// "lnk": src's second event, other's event, an event of its own and src's
// first event, at versions 1 to 4.
type linkFixture struct {
	src, other, own []eventstore.RecordedEvent
	lnk             []uuid.UUID // ids in lnk's order
}

func newLinkFixture(t *testing.T, s eventstore.Store) linkFixture {
	t.Helper()
	mustAppend(t, s, "src", eventstore.NoStream, []eventstore.EventData{
		{ID: uuid.New(), Type: "src.1", Data: []byte(`{"n": 1}`), Metadata: []byte(`{"m": 1}`), CausationID: uuid.New(), CorrelationID: uuid.New()},
		{ID: uuid.New(), Type: "src.2", Data: []byte(`{"n": 2}`), Metadata: []byte(`{"m": 2}`), CausationID: uuid.New(), CorrelationID: uuid.New()},
		{ID: uuid.New(), Type: "src.3", Data: []byte(`{"n": 3}`)},
	})
	mustAppend(t, s, "other", eventstore.NoStream, newEvents(1, "other"))
	f := linkFixture{
		src:   mustReadStream(t, s, "src", eventstore.ReadOptions{}),
		other: mustReadStream(t, s, "other", eventstore.ReadOptions{}),
	}

	res := mustLink(t, s, "lnk", eventstore.NoStream, f.src[1].ID, f.other[0].ID)
	if res.Version != 2 || res.FirstPosition != 0 || res.LastPosition != 0 {
		t.Fatalf("link result %+v, want version 2 and no positions", res)
	}
	if res := mustAppend(t, s, "lnk", eventstore.Exact(2), newEvents(1, "own")); res.Version != 3 {
		t.Fatalf("append after links: version %d, want 3", res.Version)
	}
	if res := mustLink(t, s, "lnk", eventstore.Exact(3), f.src[0].ID); res.Version != 4 {
		t.Fatalf("link after append: version %d, want 4", res.Version)
	}
	f.own = mustReadStream(t, s, "lnk", eventstore.ReadOptions{From: 3, Count: 1})
	f.lnk = []uuid.UUID{f.src[1].ID, f.other[0].ID, f.own[0].ID, f.src[0].ID}
	return f
}

// wantLinked checks that got, read from stream at version, is orig read
// through a link.
func wantLinked(t *testing.T, got, orig eventstore.RecordedEvent, stream string, version int64) {
	t.Helper()
	what := fmt.Sprintf("%s v%d", stream, version)
	if got.ID != orig.ID || got.Type != orig.Type || got.CausationID != orig.CausationID || got.CorrelationID != orig.CorrelationID {
		t.Fatalf("%s: got event %v %q, want %v %q", what, got.ID, got.Type, orig.ID, orig.Type)
	}
	wantJSON(t, got.Data, orig.Data, what+" data")
	wantJSON(t, got.Metadata, orig.Metadata, what+" metadata")
	if got.StreamID != stream || got.StreamVersion != version {
		t.Fatalf("%s: located at %q v%d", what, got.StreamID, got.StreamVersion)
	}
	if got.OriginStreamID != orig.StreamID || got.OriginStreamVersion != orig.StreamVersion || got.Position != orig.Position {
		t.Fatalf("%s: origin %q v%d position %d, want %q v%d position %d", what,
			got.OriginStreamID, got.OriginStreamVersion, got.Position, orig.StreamID, orig.StreamVersion, orig.Position)
	}
	if !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("%s: created at %v, original %v", what, got.CreatedAt, orig.CreatedAt)
	}
	if !got.IsLink() {
		t.Fatalf("%s: IsLink false", what)
	}
}

func testLinkRead(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	f := newLinkFixture(t, s)

	got := mustReadStream(t, s, "lnk", eventstore.ReadOptions{})
	wantIDs(t, got, f.lnk, "lnk")
	wantVersions(t, got, span(1, 4), "lnk")
	wantLinked(t, got[0], f.src[1], "lnk", 1)
	wantLinked(t, got[1], f.other[0], "lnk", 2)
	wantLinked(t, got[3], f.src[0], "lnk", 4)
	if own := got[2]; own.IsLink() || own.OriginStreamID != "lnk" || own.OriginStreamVersion != 3 {
		t.Fatalf("own event: IsLink %v, origin %q v%d", own.IsLink(), own.OriginStreamID, own.OriginStreamVersion)
	}

	back := mustReadStream(t, s, "lnk", eventstore.ReadOptions{Direction: eventstore.Backward, Count: 2})
	wantVersions(t, back, []int64{4, 3}, "lnk backward")
	wantLinked(t, back[0], f.src[0], "lnk", 4)
	page := mustReadStream(t, s, "lnk", eventstore.ReadOptions{From: 2, Count: 1})
	wantLinked(t, page[0], f.other[0], "lnk", 2)

	// The original stream is unchanged and $all holds each event once.
	wantIDs(t, mustReadStream(t, s, "src", eventstore.ReadOptions{}), eventIDs(f.src), "src")
	all := mustReadWholeAll(t, s)
	wantIDs(t, all, []uuid.UUID{f.src[0].ID, f.src[1].ID, f.src[2].ID, f.other[0].ID, f.own[0].ID}, "$all")
	for _, e := range all {
		if e.IsLink() {
			t.Fatalf("$all holds a link: %+v", e)
		}
	}
	if info := mustStreamInfo(t, s, "lnk"); info.Version != 4 {
		t.Fatalf("lnk info version %d, want 4", info.Version)
	}
}

func testLinkExpectedVersion(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	newLinkFixture(t, s)
	cases := []struct {
		stream   string
		expected eventstore.ExpectedVersion
		version  int64 // after success; 0 on error
		wantErr  error
	}{
		{"lnk", eventstore.Exact(3), 0, eventstore.ErrVersionConflict},
		{"lnk", eventstore.Exact(5), 0, eventstore.ErrVersionConflict},
		{"lnk", eventstore.NoStream, 0, eventstore.ErrVersionConflict},
		{"missing", eventstore.StreamExists, 0, eventstore.ErrStreamNotFound},
		{"missing", eventstore.Exact(1), 0, eventstore.ErrVersionConflict},
		{"lnk", eventstore.Exact(4), 5, nil},
		{"lnk", eventstore.StreamExists, 6, nil},
		{"any", eventstore.Any, 1, nil},
	}
	extra := newEvents(len(cases), "extra")
	mustAppend(t, s, "extra", eventstore.NoStream, extra)
	before := mustReadWholeAll(t, s)
	for i, tc := range cases {
		t.Run(tc.stream+"/"+expName(tc.expected), func(t *testing.T) {
			id := extra[i].ID
			var wantBefore []uuid.UUID
			if tc.stream == "lnk" {
				wantBefore = eventIDs(mustReadStream(t, s, "lnk", eventstore.ReadOptions{}))
			}
			res, err := s.Link(t.Context(), tc.stream, tc.expected, []uuid.UUID{id})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("link: %v", err)
				}
				if res.Version != tc.version {
					t.Fatalf("link version %d, want %d", res.Version, tc.version)
				}
				got := mustReadStream(t, s, tc.stream, eventstore.ReadOptions{})
				wantIDs(t, got, append(wantBefore, id), tc.stream)
				return
			}
			wantErr(t, err, tc.wantErr, "link")
			if tc.wantErr == eventstore.ErrVersionConflict {
				wantConflict(t, err, tc.stream, tc.expected, int64(len(wantBefore)), "link")
			}
			if tc.stream == "lnk" {
				wantIDs(t, mustReadStream(t, s, "lnk", eventstore.ReadOptions{}), wantBefore, "lnk after failed link")
			} else {
				wantNoStream(t, s, tc.stream, "failed link")
			}
		})
	}
	wantUnchanged(t, s, before, "links")
}

func testLinkEventNotFound(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	f := newLinkFixture(t, s)
	for _, tc := range []struct {
		stream   string
		expected eventstore.ExpectedVersion
	}{{"lnk", eventstore.Any}, {"lnk", eventstore.Exact(4)}, {"new", eventstore.NoStream}} {
		_, err := s.Link(t.Context(), tc.stream, tc.expected, []uuid.UUID{f.src[2].ID, uuid.New()})
		wantErr(t, err, eventstore.ErrEventNotFound, "link an unknown id to "+tc.stream)
	}
	wantIDs(t, mustReadStream(t, s, "lnk", eventstore.ReadOptions{}), f.lnk, "lnk after failed links")
	wantNoStream(t, s, "new", "failed link")
}

func testLinkDuplicate(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	f := newLinkFixture(t, s)
	cases := []struct {
		name   string
		stream string
		ids    []uuid.UUID
	}{
		{"already linked", "lnk", []uuid.UUID{f.src[2].ID, f.src[1].ID}},
		{"own event", "lnk", []uuid.UUID{f.own[0].ID}},
		{"into its origin stream", "src", []uuid.UUID{f.src[0].ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := eventIDs(mustReadStream(t, s, tc.stream, eventstore.ReadOptions{}))
			_, err := s.Link(t.Context(), tc.stream, eventstore.Any, tc.ids)
			wantErr(t, err, eventstore.ErrDuplicateEvent, "link")
			wantIDs(t, mustReadStream(t, s, tc.stream, eventstore.ReadOptions{}), want, tc.stream+" after failed link")
		})
	}
}

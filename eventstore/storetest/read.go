package storetest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

func testReadStream(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	// Ten events in three appends, with another stream's events in between.
	var ids []uuid.UUID
	for i, n := range []int{3, 3, 4} {
		evs := newEvents(n, "read")
		mustAppend(t, s, "read", eventstore.Exact(int64(len(ids))), evs)
		ids = append(ids, dataIDs(evs)...)
		mustAppend(t, s, fmt.Sprintf("noise-%d", i), eventstore.NoStream, newEvents(2, "noise"))
	}
	fwd, bwd := eventstore.Forward, eventstore.Backward
	cases := []struct {
		dir         eventstore.Direction
		from        int64
		count       int
		first, last int64 // versions; first 0 means none
	}{
		{fwd, 0, 0, 1, 10},
		{fwd, 1, 3, 1, 3},
		{fwd, 4, 3, 4, 6},
		{fwd, 9, 5, 9, 10},
		{fwd, 10, 0, 10, 10},
		{fwd, 11, 0, 0, 0},
		{fwd, 0, 1, 1, 1},
		{bwd, 0, 0, 10, 1},
		{bwd, 0, 3, 10, 8},
		{bwd, 5, 2, 5, 4},
		{bwd, 2, 5, 2, 1},
		{bwd, 10, 1, 10, 10},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s/from=%d/count=%d", [...]string{"forward", "backward"}[tc.dir], tc.from, tc.count)
		t.Run(name, func(t *testing.T) {
			got := mustReadStream(t, s, "read", eventstore.ReadOptions{Direction: tc.dir, From: tc.from, Count: tc.count})
			want := []int64{}
			if tc.first != 0 {
				want = span(tc.first, tc.last)
			}
			wantVersions(t, got, want, "versions")
			wantIDs(t, got, pick(ids, want), "ids")
			for _, e := range got {
				if e.StreamID != "read" || e.OriginStreamID != "read" || e.OriginStreamVersion != e.StreamVersion {
					t.Fatalf("event located at %q v%d (origin %q v%d)", e.StreamID, e.StreamVersion, e.OriginStreamID, e.OriginStreamVersion)
				}
			}
			if tc.dir == fwd {
				wantIncreasing(t, got, "forward read")
			} else {
				wantIncreasing(t, reversed(got), "backward read")
			}
		})
	}
}

// pick returns ids at the given versions.
func pick(ids []uuid.UUID, versions []int64) []uuid.UUID {
	out := make([]uuid.UUID, len(versions))
	for i, v := range versions {
		out[i] = ids[v-1]
	}
	return out
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func testReadStreamNotFound(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "exists", eventstore.NoStream, newEvents(1, "e"))
	for _, dir := range []eventstore.Direction{eventstore.Forward, eventstore.Backward} {
		_, err := s.ReadStream(t.Context(), "missing", eventstore.ReadOptions{Direction: dir})
		wantErr(t, err, eventstore.ErrStreamNotFound, fmt.Sprintf("read missing stream (direction %d)", dir))
	}
	_, err := s.StreamInfo(t.Context(), "missing")
	wantErr(t, err, eventstore.ErrStreamNotFound, "stream info of missing stream")
}

func testReadAll(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	if got := mustReadAll(t, s, eventstore.ReadOptions{}); len(got) != 0 {
		t.Fatalf("empty store: $all holds %d events", len(got))
	}
	if got := mustReadAll(t, s, eventstore.ReadOptions{Direction: eventstore.Backward}); len(got) != 0 {
		t.Fatalf("empty store: $all backward holds %d events", len(got))
	}

	// Appends to three streams, interleaved.
	var ids []uuid.UUID
	var positions []int64
	for i, stream := range []string{"a", "b", "a", "c", "b", "a", "c"} {
		evs := newEvents(1+i%2, stream)
		res := mustAppend(t, s, stream, eventstore.Any, evs)
		ids = append(ids, dataIDs(evs)...)
		if len(positions) > 0 && res.FirstPosition <= positions[len(positions)-1] {
			t.Fatalf("append %d: first position %d not after %d", i, res.FirstPosition, positions[len(positions)-1])
		}
		positions = append(positions, res.FirstPosition)
		if res.LastPosition != res.FirstPosition {
			positions = append(positions, res.LastPosition)
		}
	}
	n := len(ids)

	all := mustReadAll(t, s, eventstore.ReadOptions{})
	wantIDs(t, all, ids, "forward")
	wantIncreasing(t, all, "forward")
	for i, e := range all {
		if e.Position != positions[i] {
			t.Fatalf("event %d at position %d, append result said %d", i, e.Position, positions[i])
		}
		if e.StreamID == "" || e.StreamID != e.OriginStreamID || e.StreamVersion < 1 {
			t.Fatalf("event %d located at %q v%d", i, e.StreamID, e.StreamVersion)
		}
	}
	back := mustReadAll(t, s, eventstore.ReadOptions{Direction: eventstore.Backward})
	wantIDs(t, back, reversed(ids), "backward")

	cases := []struct {
		name  string
		opts  eventstore.ReadOptions
		first int // index into ids; -1 means none
		count int
	}{
		{"forward from third", eventstore.ReadOptions{From: positions[2], Count: 2}, 2, 2},
		{"forward from last", eventstore.ReadOptions{From: positions[n-1]}, n - 1, 1},
		{"forward past last", eventstore.ReadOptions{From: positions[n-1] + 1}, -1, 0},
		{"forward count one", eventstore.ReadOptions{Count: 1}, 0, 1},
		{"backward from fourth", eventstore.ReadOptions{Direction: eventstore.Backward, From: positions[3], Count: 2}, 3, 2},
		{"backward from first", eventstore.ReadOptions{Direction: eventstore.Backward, From: positions[0]}, 0, 1},
		{"backward count three", eventstore.ReadOptions{Direction: eventstore.Backward, Count: 3}, n - 1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustReadAll(t, s, tc.opts)
			var want []uuid.UUID
			for i := range tc.count {
				if tc.opts.Direction == eventstore.Backward {
					want = append(want, ids[tc.first-i])
				} else {
					want = append(want, ids[tc.first+i])
				}
			}
			wantIDs(t, got, want, "ids")
		})
	}
}

func testReadDefaultCount(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	n := eventstore.DefaultReadCount + 1
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: "many"}
	}
	mustAppend(t, s, "many", eventstore.NoStream, evs)
	ids := dataIDs(evs)

	got := mustReadStream(t, s, "many", eventstore.ReadOptions{})
	wantIDs(t, got, ids[:eventstore.DefaultReadCount], "stream forward, count 0")
	got = mustReadStream(t, s, "many", eventstore.ReadOptions{Direction: eventstore.Backward})
	wantIDs(t, got, reversed(ids[1:]), "stream backward, count 0")
	got = mustReadAll(t, s, eventstore.ReadOptions{})
	wantIDs(t, got, ids[:eventstore.DefaultReadCount], "$all forward, count 0")
	got = mustReadAll(t, s, eventstore.ReadOptions{Direction: eventstore.Backward})
	wantIDs(t, got, reversed(ids[1:]), "$all backward, count 0")
	got = mustReadStream(t, s, "many", eventstore.ReadOptions{Count: n})
	wantIDs(t, got, ids, "stream, count n")
}

func testIterators(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	var streamIDs, allIDs []uuid.UUID
	for i := range 4 {
		evs := newEvents(2, "iter")
		mustAppend(t, s, "iter", eventstore.Any, evs)
		streamIDs = append(streamIDs, dataIDs(evs)...)
		allIDs = append(allIDs, dataIDs(evs)...)
		other := newEvents(1, "other")
		mustAppend(t, s, fmt.Sprintf("other-%d", i), eventstore.NoStream, other)
		allIDs = append(allIDs, dataIDs(other)...)
	}

	collectSeq := func(seq func(func(eventstore.RecordedEvent, error) bool), limit int) []eventstore.RecordedEvent {
		t.Helper()
		var got []eventstore.RecordedEvent
		for e, err := range seq {
			if err != nil {
				t.Fatalf("iterate: %v", err)
			}
			got = append(got, e)
			if len(got) == limit {
				break
			}
		}
		return got
	}

	for _, page := range []int{1, 3, 8, 0} {
		t.Run(fmt.Sprintf("page=%d", page), func(t *testing.T) {
			got := collectSeq(eventstore.StreamEvents(ctx, s, "iter", 0, page), -1)
			wantIDs(t, got, streamIDs, "StreamEvents")
			got = collectSeq(eventstore.StreamEvents(ctx, s, "iter", 4, page), -1)
			wantIDs(t, got, streamIDs[3:], "StreamEvents from 4")
			got = collectSeq(eventstore.AllEvents(ctx, s, 0, page), -1)
			wantIDs(t, got, allIDs, "AllEvents")
			wantIncreasing(t, got, "AllEvents")
			got = collectSeq(eventstore.AllEvents(ctx, s, got[5].Position, page), -1)
			wantIDs(t, got, allIDs[5:], "AllEvents from the sixth position")
			got = collectSeq(eventstore.AllEvents(ctx, s, 0, page), 4)
			wantIDs(t, got, allIDs[:4], "AllEvents stopped early")
		})
	}

	t.Run("missing stream", func(t *testing.T) {
		var errs int
		for _, err := range eventstore.StreamEvents(ctx, s, "missing", 0, 2) {
			wantErr(t, err, eventstore.ErrStreamNotFound, "StreamEvents of a missing stream")
			errs++
		}
		if errs != 1 {
			t.Fatalf("StreamEvents of a missing stream yielded %d errors, want 1", errs)
		}
	})
}

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
)

func mustAppendStreams(tb testing.TB, s eventstore.Store, parts []eventstore.StreamAppend) []eventstore.AppendResult {
	tb.Helper()
	res, err := s.AppendStreams(tb.Context(), parts)
	if err != nil {
		tb.Fatalf("append to %d streams: %v", len(parts), err)
	}
	return res
}

// testAppendStreamsRoundTrip writes to a new and an existing stream at
// once: each gets its events at its versions, in one run of positions.
func testAppendStreamsRoundTrip(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	prior := newEvents(2, "prior")
	mustAppend(t, s, "multi-old", eventstore.NoStream, prior)
	a, b := newEvents(2, "a"), newEvents(1, "b")
	res := mustAppendStreams(t, s, []eventstore.StreamAppend{
		{Stream: "multi-old", Expected: eventstore.Exact(2), Events: a},
		{Stream: "multi-new", Expected: eventstore.NoStream, Events: b},
	})
	if len(res) != 2 || res[0].Version != 4 || res[1].Version != 1 {
		t.Fatalf("results %+v, want versions 4 and 1", res)
	}
	if res[0].LastPosition-res[0].FirstPosition != 1 || res[1].FirstPosition != res[1].LastPosition {
		t.Fatalf("results %+v: positions do not span each part's events", res)
	}
	wantIDs(t, mustReadStream(t, s, "multi-old", eventstore.ReadOptions{}), dataIDs(prior, a), "multi-old")
	wantIDs(t, mustReadStream(t, s, "multi-new", eventstore.ReadOptions{}), dataIDs(b), "multi-new")
	all := mustReadWholeAll(t, s)
	wantIDs(t, all[2:], dataIDs(a, b), "$all")
	for _, ev := range all[2:] {
		if want := map[string]eventstore.AppendResult{"multi-old": res[0], "multi-new": res[1]}[ev.StreamID]; ev.Position < want.FirstPosition || ev.Position > want.LastPosition {
			t.Fatalf("event at %d in %q, outside its part's positions %+v", ev.Position, ev.StreamID, want)
		}
	}
}

// testAppendStreamsAllOrNothing refuses a multi-stream append when any
// one stream fails its check: the error is that stream's, and no stream
// changes.
func testAppendStreamsAllOrNothing(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "aon-existing", eventstore.NoStream, newEvents(2, "prior"))
	mustAppend(t, s, "aon-other", eventstore.NoStream, newEvents(2, "prior"))
	mustAppend(t, s, "aon-deleted", eventstore.NoStream, newEvents(1, "prior"))
	mustDelete(t, s, "aon-deleted", eventstore.Any, eventstore.SoftDelete)
	ok := func(stream string, expected eventstore.ExpectedVersion) eventstore.StreamAppend {
		return eventstore.StreamAppend{Stream: stream, Expected: expected, Events: newEvents(1, "ok")}
	}
	cases := []struct {
		name    string
		failing eventstore.StreamAppend
		wantErr error
	}{
		{"ExistingExpectedNoStream", ok("aon-existing", eventstore.NoStream), eventstore.ErrVersionConflict},
		{"ExistingWrongVersion", ok("aon-existing", eventstore.Exact(1)), eventstore.ErrVersionConflict},
		{"MissingExpectedVersion", ok("aon-missing", eventstore.Exact(3)), eventstore.ErrVersionConflict},
		{"MissingMustExist", ok("aon-missing", eventstore.StreamExists), eventstore.ErrStreamNotFound},
		{"Deleted", ok("aon-deleted", eventstore.Any), eventstore.ErrStreamDeleted},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := mustReadWholeAll(t, s)
			fresh := fmt.Sprintf("aon-fresh-%d", i)
			// The failing part in the middle: parts before and after it
			// pass their own checks, a new stream among them.
			parts := []eventstore.StreamAppend{
				ok(fresh, eventstore.NoStream),
				tc.failing,
				ok("aon-other", eventstore.Exact(2)),
			}
			_, err := s.AppendStreams(t.Context(), parts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("append: %v, want %v", err, tc.wantErr)
			}
			var vc *eventstore.VersionConflictError
			var se *eventstore.StreamError
			switch {
			case errors.As(err, &vc):
				if vc.Stream != tc.failing.Stream || vc.Expected != tc.failing.Expected {
					t.Fatalf("conflict %+v, want stream %q expecting %v", vc, tc.failing.Stream, tc.failing.Expected)
				}
			case errors.As(err, &se):
				if se.Stream != tc.failing.Stream {
					t.Fatalf("error names stream %q, want %q", se.Stream, tc.failing.Stream)
				}
			default:
				t.Fatalf("error %T %v names no stream", err, err)
			}
			wantIDs(t, mustReadWholeAll(t, s), eventIDs(before), "$all")
			if _, err := s.ReadStream(t.Context(), fresh, eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Fatalf("read the new stream of a refused append: %v, want not found", err)
			}
			for _, st := range []string{"aon-existing", "aon-other"} {
				if v := mustStreamInfo(t, s, st).Version; v != 2 {
					t.Fatalf("%s at version %d, want 2", st, v)
				}
			}
			// Nothing of the refused append stays behind: the same parts,
			// the failing one left out, are accepted.
			mustAppendStreams(t, s, []eventstore.StreamAppend{ok(fresh, eventstore.NoStream)})
		})
	}
}

// testAppendStreamsMixed runs multi-stream appends that fail and succeed
// among plain appends, all at once, so a store that commits in groups
// writes them together: each outcome is its own.
func testAppendStreamsMixed(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "mixed-taken", eventstore.NoStream, newEvents(1, "prior"))
	const rounds = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for i := range rounds {
		wg.Go(func() {
			_, err := s.Append(t.Context(), fmt.Sprintf("mixed-plain-%d", i), eventstore.NoStream, newEvents(1, "plain"))
			errs <- err
		})
		wg.Go(func() {
			_, err := s.AppendStreams(t.Context(), []eventstore.StreamAppend{
				{Stream: fmt.Sprintf("mixed-lose-%d", i), Expected: eventstore.NoStream, Events: newEvents(1, "lose")},
				{Stream: "mixed-taken", Expected: eventstore.NoStream, Events: newEvents(1, "lose")},
			})
			if !errors.Is(err, eventstore.ErrVersionConflict) {
				err = fmt.Errorf("losing append: %v, want a conflict", err)
			} else {
				err = nil
			}
			errs <- err
		})
		wg.Go(func() {
			_, err := s.AppendStreams(t.Context(), []eventstore.StreamAppend{
				{Stream: fmt.Sprintf("mixed-win-a-%d", i), Expected: eventstore.NoStream, Events: newEvents(1, "win")},
				{Stream: fmt.Sprintf("mixed-win-b-%d", i), Expected: eventstore.Any, Events: newEvents(2, "win")},
			})
			errs <- err
		})
		wg.Go(func() {
			_, err := s.Append(t.Context(), fmt.Sprintf("mixed-bad-%d", i), eventstore.Exact(7), newEvents(1, "bad"))
			if !errors.Is(err, eventstore.ErrVersionConflict) {
				err = fmt.Errorf("plain conflicting append: %v, want a conflict", err)
			} else {
				err = nil
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	for _, ev := range mustReadWholeAll(t, s) {
		counts[ev.Type]++
	}
	if want := map[string]int{"prior": 1, "plain": rounds, "win": 3 * rounds}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("$all holds events %v, want %v", counts, want)
	}
}

// testAppendStreamsRace races multi-stream appends that each create a
// stream of their own and the same shared one: exactly one wins, and the
// losers write nothing, not even their own streams.
func testAppendStreamsRace(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	h := [2]eventstore.Store{mustOpen(t, open), mustOpen(t, open)}
	const racers = 16
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = h[i%2].AppendStreams(t.Context(), []eventstore.StreamAppend{
				{Stream: fmt.Sprintf("race-own-%d", i), Expected: eventstore.NoStream, Events: newEvents(1, "own")},
				{Stream: "race-shared", Expected: eventstore.NoStream, Events: newEvents(1, "shared")},
			})
		})
	}
	wg.Wait()
	winner := wantSoleCreator(t, errs, "race-shared")
	all := mustReadWholeAll(t, h[0])
	if len(all) != 2 {
		t.Fatalf("$all holds %d events, want the winner's 2", len(all))
	}
	for _, ev := range all {
		if ev.StreamID != "race-shared" && ev.StreamID != fmt.Sprintf("race-own-%d", winner) {
			t.Fatalf("a loser's event is stored, in %q", ev.StreamID)
		}
	}
}

// testAppendStreamsInvalid refuses malformed multi-stream appends with an
// *InvalidArgumentError naming the part, writing nothing.
func testAppendStreamsInvalid(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	one := func(stream string) eventstore.StreamAppend {
		return eventstore.StreamAppend{Stream: stream, Expected: eventstore.Any, Events: newEvents(1, "x")}
	}
	repeated := newEvents(1, "x")
	cases := []struct {
		name    string
		parts   []eventstore.StreamAppend
		wantArg string
	}{
		{"NoParts", nil, "parts"},
		{"EmptyStream", []eventstore.StreamAppend{one("inv-a"), one("")}, "parts[1].stream"},
		{"AllStream", []eventstore.StreamAppend{one(eventstore.AllStream)}, "parts[0].stream"},
		{"DuplicateStream", []eventstore.StreamAppend{one("inv-a"), one("inv-b"), one("inv-a")}, "parts[2].stream"},
		{"NoEvents", []eventstore.StreamAppend{one("inv-a"), {Stream: "inv-b", Expected: eventstore.Any}}, "parts[1].events"},
		{"EventInTwoStreams", []eventstore.StreamAppend{
			{Stream: "inv-a", Expected: eventstore.Any, Events: repeated},
			{Stream: "inv-b", Expected: eventstore.Any, Events: repeated},
		}, "parts[1].events[0].id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AppendStreams(t.Context(), tc.parts)
			var ia *eventstore.InvalidArgumentError
			if !errors.As(err, &ia) || !errors.Is(err, eventstore.ErrInvalidArgument) {
				t.Fatalf("append: %v, want an *InvalidArgumentError", err)
			}
			if ia.Arg != tc.wantArg {
				t.Fatalf("invalid %q (%s), want %q", ia.Arg, ia.Reason, tc.wantArg)
			}
		})
	}
	if all := mustReadWholeAll(t, s); len(all) != 0 {
		t.Fatalf("$all holds %d events after refused appends", len(all))
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

func testAppendExpectedVersion(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	type state int
	const (
		missing state = iota
		existing
		softDeleted
	)
	cases := []struct {
		state    state
		expected eventstore.ExpectedVersion
		// wantVersion is the version after a successful append.
		wantVersion int64
		wantErr     error
	}{
		{missing, eventstore.Any, 2, nil},
		{missing, eventstore.NoStream, 2, nil},
		{missing, eventstore.StreamExists, 0, eventstore.ErrStreamNotFound},
		{missing, eventstore.Exact(1), 0, eventstore.ErrVersionConflict},
		{missing, eventstore.Exact(2), 0, eventstore.ErrVersionConflict},
		{existing, eventstore.Any, 4, nil},
		{existing, eventstore.NoStream, 0, eventstore.ErrVersionConflict},
		{existing, eventstore.StreamExists, 4, nil},
		{existing, eventstore.Exact(2), 4, nil},
		{existing, eventstore.Exact(1), 0, eventstore.ErrVersionConflict},
		{existing, eventstore.Exact(3), 0, eventstore.ErrVersionConflict},
		{softDeleted, eventstore.Any, 0, eventstore.ErrStreamDeleted},
		{softDeleted, eventstore.NoStream, 0, eventstore.ErrStreamDeleted},
		{softDeleted, eventstore.StreamExists, 0, eventstore.ErrStreamDeleted},
		{softDeleted, eventstore.Exact(2), 0, eventstore.ErrStreamDeleted},
		{softDeleted, eventstore.Exact(5), 0, eventstore.ErrStreamDeleted},
	}
	for i, tc := range cases {
		name := [...]string{"missing", "existing", "soft-deleted"}[tc.state] + "/" + expName(tc.expected)
		t.Run(name, func(t *testing.T) {
			stream := fmt.Sprintf("expected-%d", i)
			var prior []eventstore.EventData
			if tc.state != missing {
				prior = newEvents(2, "prior")
				mustAppend(t, s, stream, eventstore.NoStream, prior)
			}
			if tc.state == softDeleted {
				if err := s.DeleteStream(t.Context(), stream, eventstore.Any, eventstore.SoftDelete); err != nil {
					t.Fatalf("soft delete: %v", err)
				}
			}
			before := mustReadWholeAll(t, s)
			evs := newEvents(2, "appended")
			res, err := s.Append(t.Context(), stream, tc.expected, evs)

			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				if res.Version != tc.wantVersion {
					t.Fatalf("result version %d, want %d", res.Version, tc.wantVersion)
				}
				got := mustReadStream(t, s, stream, eventstore.ReadOptions{})
				wantIDs(t, got, dataIDs(prior, evs), "stream")
				wantVersions(t, got, span(1, tc.wantVersion), "stream")
				wantIDs(t, mustReadWholeAll(t, s), append(eventIDs(before), dataIDs(evs)...), "$all")
				return
			}

			wantErr(t, err, tc.wantErr, "append")
			if tc.wantErr == eventstore.ErrVersionConflict {
				wantConflict(t, err, stream, tc.expected, int64(len(prior)), "append")
			}
			wantUnchanged(t, s, before, "failed append")
			switch tc.state {
			case missing:
				wantNoStream(t, s, stream, "failed append")
			case existing:
				wantIDs(t, mustReadStream(t, s, stream, eventstore.ReadOptions{}), dataIDs(prior), "stream after failed append")
			case softDeleted:
				if info := mustStreamInfo(t, s, stream); info.Version != 2 || !info.Deleted {
					t.Fatalf("stream info after failed append: version %d deleted %v, want 2 true", info.Version, info.Deleted)
				}
			}
		})
	}
}

func testAppendRoundTrip(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	data := []byte(`{"b": 2, "a": [1, "x", {"nested": null}], "u": "é\u00e9"}`)
	want := append([]byte(nil), data...)
	evs := []eventstore.EventData{
		{
			ID:            uuid.New(),
			Type:          "accounts.Opened",
			Data:          data,
			Metadata:      json.RawMessage(`{"user": "u1", "n": 1.5}`),
			CausationID:   uuid.New(),
			CorrelationID: uuid.New(),
		},
		{Type: "accounts.Renamed", Data: json.RawMessage(`"just a string"`)}, // id generated, no metadata
		{ID: uuid.New(), Type: "accounts.Closed"},                            // nil data stores null
	}
	before := time.Now()
	res, err := s.Append(ctx, "acct-1", eventstore.NoStream, evs)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	for i := range data { // the store must have copied the caller's buffer
		data[i] = ' '
	}
	if res.Version != 3 {
		t.Fatalf("result version %d, want 3", res.Version)
	}

	got := mustReadStream(t, s, "acct-1", eventstore.ReadOptions{})
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	wantIncreasing(t, got, "stream")
	if got[0].Position != res.FirstPosition || got[2].Position != res.LastPosition {
		t.Fatalf("positions %d..%d, result %d..%d", got[0].Position, got[2].Position, res.FirstPosition, res.LastPosition)
	}
	if res.FirstPosition <= 0 {
		t.Fatalf("first position %d, want > 0", res.FirstPosition)
	}
	if got[1].ID == uuid.Nil || got[1].ID == got[0].ID || got[1].ID == got[2].ID {
		t.Fatalf("generated id %v is nil or not unique", got[1].ID)
	}
	wantData := [][]byte{want, []byte(`"just a string"`), []byte(`null`)}
	for i, e := range got {
		what := fmt.Sprintf("event %d", i)
		if i != 1 && e.ID != evs[i].ID {
			t.Fatalf("%s: id %v, want %v", what, e.ID, evs[i].ID)
		}
		if e.Type != evs[i].Type || e.CausationID != evs[i].CausationID || e.CorrelationID != evs[i].CorrelationID {
			t.Fatalf("%s: type/causation/correlation %q %v %v, want %q %v %v", what,
				e.Type, e.CausationID, e.CorrelationID, evs[i].Type, evs[i].CausationID, evs[i].CorrelationID)
		}
		wantJSON(t, e.Data, wantData[i], what+" data")
		if i == 0 {
			wantJSON(t, e.Metadata, evs[0].Metadata, what+" metadata")
		} else if len(e.Metadata) != 0 {
			t.Fatalf("%s: metadata %q, want empty", what, e.Metadata)
		}
		if e.StreamID != "acct-1" || e.StreamVersion != int64(i+1) ||
			e.OriginStreamID != "acct-1" || e.OriginStreamVersion != int64(i+1) || e.IsLink() {
			t.Fatalf("%s: located at %q v%d (origin %q v%d), want acct-1 v%d", what,
				e.StreamID, e.StreamVersion, e.OriginStreamID, e.OriginStreamVersion, i+1)
		}
		wantTime(t, e.CreatedAt, before, after, what+" created at")
	}

	// $all holds the same events.
	all := mustReadAll(t, s, eventstore.ReadOptions{})
	wantIDs(t, all, eventIDs(got), "$all")
	for i, e := range all {
		if e.Position != got[i].Position || !e.CreatedAt.Equal(got[i].CreatedAt) || e.StreamVersion != got[i].StreamVersion || e.StreamID != "acct-1" {
			t.Fatalf("$all event %d: %+v differs from stream read %+v", i, e, got[i])
		}
	}

	// A caller may modify what it read.
	got[0].Data[0] = ' '
	again := mustReadStream(t, s, "acct-1", eventstore.ReadOptions{Count: 1})
	wantJSON(t, again[0].Data, want, "data after modifying a read")

	// Later appends get higher positions.
	res2 := mustAppend(t, s, "acct-2", eventstore.NoStream, newEvents(2, "other"))
	if res2.Version != 2 || res2.FirstPosition <= res.LastPosition || res2.LastPosition <= res2.FirstPosition {
		t.Fatalf("second append %+v after %+v", res2, res)
	}
}

func testAppendDuplicateID(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	first := newEvents(2, "first")
	mustAppend(t, s, "dup-a", eventstore.NoStream, first)
	deleted := newEvents(1, "deleted")
	mustAppend(t, s, "dup-deleted", eventstore.NoStream, deleted)
	if err := s.DeleteStream(ctx, "dup-deleted", eventstore.Any, eventstore.SoftDelete); err != nil {
		t.Fatal(err)
	}
	before := mustReadWholeAll(t, s)

	cases := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedVersion
		reused   uuid.UUID
	}{
		{"same stream", "dup-a", eventstore.Any, first[1].ID},
		{"other stream", "dup-b", eventstore.NoStream, first[0].ID},
		{"soft-deleted stream's event", "dup-b", eventstore.Any, deleted[0].ID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := newEvents(3, "retry")
			evs[1].ID = tc.reused
			_, err := s.Append(ctx, tc.stream, tc.expected, evs)
			wantErr(t, err, eventstore.ErrDuplicateEvent, "append")
			wantUnchanged(t, s, before, "duplicate append")
		})
	}
	wantIDs(t, mustReadStream(t, s, "dup-a", eventstore.ReadOptions{}), dataIDs(first), "dup-a")
	wantNoStream(t, s, "dup-b", "duplicate append")
}

// testAppendCancelled cancels the context of many concurrent appends while
// they are in flight: each append is all or nothing.
func testAppendCancelled(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Append(ctx, "cancelled", eventstore.NoStream, newEvents(1, "e")); err == nil {
			t.Fatal("append with a cancelled context succeeded")
		}
		wantNoStream(t, s, "cancelled", "cancelled append")
	})

	t.Run("in flight", func(t *testing.T) {
		const (
			writers   = 16
			perWriter = 8
			batch     = 10
			cancelAt  = 8 // successful appends before the cancel
		)
		type attempt struct {
			stream string
			ids    []uuid.UUID
			err    error
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var ok atomic.Int32
		attempts := make([][]attempt, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					evs := newEvents(batch, "cancel")
					a := attempt{stream: fmt.Sprintf("cancel-%d-%d", w, i), ids: dataIDs(evs)}
					_, a.err = s.Append(ctx, a.stream, eventstore.NoStream, evs)
					attempts[w] = append(attempts[w], a)
					if a.err == nil && ok.Add(1) == cancelAt {
						cancel()
					}
				}
			})
		}
		wg.Wait()
		if n := ok.Load(); n < cancelAt {
			t.Fatalf("only %d appends succeeded before the cancel", n)
		}

		committed := make(map[uuid.UUID]bool)
		var failed, full int
		for _, as := range attempts {
			for _, a := range as {
				got, err := s.ReadStream(t.Context(), a.stream, eventstore.ReadOptions{})
				switch {
				case errors.Is(err, eventstore.ErrStreamNotFound):
					if a.err == nil {
						t.Fatalf("stream %s: append succeeded but the stream does not exist", a.stream)
					}
				case err != nil:
					t.Fatalf("read %s: %v", a.stream, err)
				default:
					wantIDs(t, got, a.ids, "stream "+a.stream+" (all or nothing)")
					full++
					for _, id := range a.ids {
						committed[id] = true
					}
				}
				if a.err != nil {
					failed++
				}
			}
		}
		all := mustReadWholeAll(t, s)
		for _, e := range all {
			if !committed[e.ID] {
				t.Fatalf("$all holds event %v of stream %s v%d, which cannot be read whole", e.ID, e.StreamID, e.StreamVersion)
			}
		}
		if len(all) != len(committed) {
			t.Fatalf("$all holds %d events, the streams %d", len(all), len(committed))
		}
		t.Logf("%d appends complete, %d failed", full, failed)
	})
}

// testAppendRacingClose closes handles while writers append with contexts
// that never end: every Append returns, those after Close at once with
// ErrClosed, and what an Append acknowledged is stored.
func testAppendRacingClose(t *testing.T, newStorage func(*testing.T) Opener) {
	const (
		rounds  = 20
		writers = 4
	)
	open := newStorage(t)
	reader := mustOpen(t, open)
	for round := range rounds {
		h := mustOpen(t, open)
		acked := make([]int, writers)
		done := make(chan error, writers)
		var started sync.WaitGroup
		started.Add(writers)
		for w := range writers {
			stream := fmt.Sprintf("close-%d-%d", round, w)
			go func() {
				var err error
				for ; err == nil; acked[w]++ {
					_, err = h.Append(context.Background(), stream, eventstore.Any, newEvents(1, "e"))
					if acked[w] == 0 {
						started.Done()
					}
				}
				acked[w]-- // the failed one
				done <- err
			}()
		}
		started.Wait()
		if err := h.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		if _, err := h.Append(context.Background(), "after-close", eventstore.Any, newEvents(1, "e")); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("round %d: append after close: got %v, want ErrClosed", round, err)
		}
		deadline := time.After(eventually)
		for range writers {
			select {
			case err := <-done:
				wantErr(t, err, eventstore.ErrClosed, fmt.Sprintf("round %d: append racing close", round))
			case <-deadline:
				t.Fatalf("round %d: an append racing close has not returned %v after Close", round, eventually)
			}
		}
		for w, n := range acked {
			stream := fmt.Sprintf("close-%d-%d", round, w)
			if n == 0 {
				wantNoStream(t, reader, stream, "nothing acknowledged")
				continue
			}
			if got := len(mustReadStream(t, reader, stream, eventstore.ReadOptions{Count: eventstore.MaxReadCount})); got != n {
				t.Fatalf("round %d: %s holds %d events, %d appends were acknowledged", round, stream, got, n)
			}
		}
	}
}

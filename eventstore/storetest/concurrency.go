package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// testGlobalOrder is the key test of the global order: writers on two
// handles append concurrently while a transient and a persistent $all
// subscription and a ReadAll poller read. Each reader must see every event
// exactly once, in strictly increasing positions, in the final order of
// $all.
func testGlobalOrder(t *testing.T, newStorage func(*testing.T) Opener) {
	const (
		handles          = 2
		writersPerHandle = 8
		appendsPerWriter = 20
	)
	open := newStorage(t)
	var h [handles]eventstore.Store
	for i := range h {
		h[i] = mustOpen(t, open)
	}

	// Each writer appends to its own stream, batches of 1 to 3 events.
	type writer struct {
		store   eventstore.Store
		stream  string
		batches [][]eventstore.EventData
	}
	var writers []writer
	total := 0
	for i := range handles * writersPerHandle {
		w := writer{store: h[i%handles], stream: fmt.Sprintf("writer-%d", i)}
		for j := range appendsPerWriter {
			w.batches = append(w.batches, newEvents(1+(i+j)%3, w.stream))
			total += len(w.batches[j])
		}
		writers = append(writers, w)
	}

	// Three readers read until they have every event, or until eventually
	// after the last append returned.
	transient := mustSubscribe(t, h[0], eventstore.SubscribeOptions{BatchSize: 50})
	persistent := mustSubscribe(t, h[1], eventstore.SubscribeOptions{Name: "global-order", BatchSize: 50})
	type result struct {
		reader string
		evs    []eventstore.RecordedEvent
		err    error
	}
	results := make(chan result, 3)
	stop := make(chan struct{})
	go func() {
		evs, err := collectUntil(transient, total, stop)
		results <- result{"transient subscription", evs, err}
	}()
	go func() {
		evs, err := collectUntil(persistent, total, stop)
		results <- result{"persistent subscription", evs, err}
	}()
	go func() {
		evs, err := poll(t.Context(), h[1], total, stop)
		results <- result{"ReadAll poller", evs, err}
	}()

	start := make(chan struct{})
	errs := make(chan error, len(writers))
	var wg sync.WaitGroup
	for _, w := range writers {
		wg.Go(func() {
			<-start
			var version int64
			for _, b := range w.batches {
				res, err := w.store.Append(t.Context(), w.stream, eventstore.Exact(version), b)
				if err != nil {
					errs <- fmt.Errorf("append to %s at version %d: %w", w.stream, version, err)
					return
				}
				version += int64(len(b))
				if res.Version != version {
					errs <- fmt.Errorf("append to %s: version %d, want %d", w.stream, res.Version, version)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	timer := time.AfterFunc(eventually, func() { close(stop) })
	defer timer.Stop()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	appended := make(map[uuid.UUID]bool, total)
	for _, w := range writers {
		for _, id := range dataIDs(w.batches...) {
			appended[id] = true
		}
	}
	final := mustReadWholeAll(t, h[0])
	check := func(reader string, evs []eventstore.RecordedEvent) {
		t.Helper()
		seen := make(map[uuid.UUID]bool, len(evs))
		for i, e := range evs {
			switch {
			case !appended[e.ID]:
				t.Fatalf("%s: event %d (%v) was never appended", reader, i, e.ID)
			case seen[e.ID]:
				t.Fatalf("%s: event %d (%v at position %d) seen twice", reader, i, e.ID, e.Position)
			}
			seen[e.ID] = true
		}
		wantIncreasing(t, evs, reader)
		if len(evs) != total {
			var missing []int64
			for _, e := range final {
				if !seen[e.ID] {
					missing = append(missing, e.Position)
				}
			}
			t.Fatalf("%s: %d events, want %d; missing positions %v", reader, len(evs), total, missing[:min(len(missing), 10)])
		}
	}
	check("final $all", final)
	for range 3 {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.reader, r.err)
		}
		check(r.reader, r.evs)
		for i, e := range r.evs {
			if e.ID != final[i].ID || e.Position != final[i].Position {
				t.Fatalf("%s: event %d is %v at position %d, $all has %v at %d", r.reader, i, e.ID, e.Position, final[i].ID, final[i].Position)
			}
		}
	}
	for _, w := range writers {
		got := mustReadStream(t, h[0], w.stream, eventstore.ReadOptions{})
		wantIDs(t, got, dataIDs(w.batches...), w.stream)
		wantVersions(t, got, span(1, int64(len(got))), w.stream)
		wantIncreasing(t, got, w.stream)
	}
}

// collectUntil collects n events from sub, acknowledging them, or what
// arrived before stop is closed.
func collectUntil(sub eventstore.Subscription, n int, stop <-chan struct{}) ([]eventstore.RecordedEvent, error) {
	var got []eventstore.RecordedEvent
	for len(got) < n {
		select {
		case batch, ok := <-sub.Events():
			if !ok {
				return got, fmt.Errorf("subscription ended: %v", sub.Close())
			}
			got = append(got, batch...)
			if err := sub.Ack(batch[len(batch)-1]); err != nil {
				return got, fmt.Errorf("ack: %w", err)
			}
		case <-stop:
			return got, nil
		}
	}
	return got, nil
}

// poll reads $all forward after the last position it saw, as a catch-up
// reader does, until it has n events or stop is closed.
func poll(ctx context.Context, s eventstore.AllReader, n int, stop <-chan struct{}) ([]eventstore.RecordedEvent, error) {
	var got []eventstore.RecordedEvent
	var last int64
	for len(got) < n {
		page, err := s.ReadAll(ctx, eventstore.ReadOptions{From: last + 1, Count: 100})
		if err != nil {
			return got, err
		}
		if len(page) == 0 {
			select {
			case <-stop:
				return got, nil
			case <-time.After(time.Millisecond):
			}
			continue
		}
		got = append(got, page...)
		last = page[len(page)-1].Position
	}
	return got, nil
}

// wantSoleCreator returns the index of the one append of errs that
// succeeded, and fails unless there is exactly one and every other failed
// with a version conflict on stream, which it expected not to exist.
func wantSoleCreator(tb testing.TB, errs []error, stream string) int {
	tb.Helper()
	winner := -1
	for i, err := range errs {
		var vc *eventstore.VersionConflictError
		switch {
		case err == nil && winner >= 0:
			tb.Fatalf("appends %d and %d both created %s", winner, i, stream)
		case err == nil:
			winner = i
		case !errors.As(err, &vc) || !errors.Is(err, eventstore.ErrVersionConflict):
			tb.Fatalf("append %d: %v, want a version conflict", i, err)
		case vc.Stream != stream || vc.Expected != eventstore.NoStream:
			tb.Fatalf("append %d: conflict %+v, want one on %s expecting no stream", i, vc, stream)
		}
	}
	if winner < 0 {
		tb.Fatalf("no append created %s", stream)
	}
	return winner
}

// testOptimisticConcurrency races writers on two handles for the same
// stream: each version is written once.
func testOptimisticConcurrency(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	h := [2]eventstore.Store{mustOpen(t, open), mustOpen(t, open)}

	t.Run("NoStream", func(t *testing.T) {
		const racers = 16
		evs := make([][]eventstore.EventData, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			evs[i] = newEvents(2, "race")
			wg.Go(func() { _, errs[i] = h[i%2].Append(t.Context(), "race", eventstore.NoStream, evs[i]) })
		}
		wg.Wait()
		winner := wantSoleCreator(t, errs, "race")
		wantIDs(t, mustReadStream(t, h[1], "race", eventstore.ReadOptions{}), dataIDs(evs[winner]), "race")
		if all := mustReadWholeAll(t, h[0]); len(all) != 2 {
			t.Fatalf("$all holds %d events, want 2", len(all))
		}
	})

	t.Run("Exact", func(t *testing.T) {
		const (
			racers     = 8
			perRacer   = 5
			maxRetries = 1000
		)
		mine := make([][]uuid.UUID, racers)
		errs := make(chan error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			s := h[i%2]
			wg.Go(func() {
				var version int64
				for retries := 0; len(mine[i]) < perRacer; retries++ {
					if retries == maxRetries {
						errs <- fmt.Errorf("racer %d: still conflicting after %d attempts", i, retries)
						return
					}
					ev := newEvents(1, "counter")
					res, err := s.Append(t.Context(), "counter", eventstore.Exact(version), ev)
					var vc *eventstore.VersionConflictError
					switch {
					case err == nil:
						if res.Version != version+1 {
							errs <- fmt.Errorf("racer %d: appended at %d, result version %d", i, version, res.Version)
							return
						}
						version = res.Version
						mine[i] = append(mine[i], ev[0].ID)
					case errors.As(err, &vc):
						if vc.Actual == version {
							errs <- fmt.Errorf("racer %d: conflict at the expected version: %v", i, err)
							return
						}
						version = vc.Actual
					default:
						errs <- fmt.Errorf("racer %d: %w", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := mustReadStream(t, h[0], "counter", eventstore.ReadOptions{})
		wantVersions(t, got, span(1, racers*perRacer), "counter")
		// Each racer's events are in the stream in its order.
		at := make(map[uuid.UUID]int64, len(got))
		for _, e := range got {
			at[e.ID] = e.StreamVersion
		}
		for i, ids := range mine {
			for j, id := range ids {
				if at[id] == 0 || (j > 0 && at[id] <= at[ids[j-1]]) {
					t.Fatalf("racer %d: event %d at version %d", i, j, at[id])
				}
			}
		}
	})
}

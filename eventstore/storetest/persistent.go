package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// after returns the ids of the events that follow id in evs.
func after(evs []eventstore.RecordedEvent, id uuid.UUID) []uuid.UUID {
	for i, e := range evs {
		if e.ID == id {
			return eventIDs(evs[i+1:])
		}
	}
	return nil
}

// read returns the events a subscription to target sees.
func read(tb testing.TB, s eventstore.Store, target string) []eventstore.RecordedEvent {
	tb.Helper()
	if target == eventstore.AllStream {
		return mustReadWholeAll(tb, s)
	}
	return mustReadStream(tb, s, target, eventstore.ReadOptions{})
}

// testPersistentResume closes a persistent subscription after acknowledging
// an event in the middle of a batch: it resumes right after that event.
func testPersistentResume(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	for _, target := range []string{eventstore.AllStream, "r"} {
		t.Run(target, func(t *testing.T) {
			r := "r-" + target
			mustAppend(t, s, r, eventstore.NoStream, newEvents(5, "r"))
			mustAppend(t, s, "noise-"+target, eventstore.NoStream, newEvents(1, "noise"))
			mustAppend(t, s, r, eventstore.Exact(5), newEvents(5, "r"))
			if target != eventstore.AllStream {
				target = r
			}
			opts := eventstore.SubscribeOptions{Stream: target, Name: "resume-" + target, BatchSize: 3, CheckpointThreshold: 1000, CheckpointInterval: time.Hour}

			sub := mustSubscribe(t, s, opts)
			var got []eventstore.RecordedEvent
			for len(got) < 5 {
				got = append(got, receive(t, sub, eventually)...)
			}
			if err := sub.Ack(got[4]); err != nil {
				t.Fatalf("ack: %v", err)
			}
			if err := sub.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if cp, err := s.Checkpoint(t.Context(), opts.Name); err != nil || cp != eventstore.Cursor(target, got[4]) {
				t.Fatalf("checkpoint after close: %d, %v; want %d", cp, err, eventstore.Cursor(target, got[4]))
			}

			mustAppend(t, s, r, eventstore.Exact(10), newEvents(2, "r"))
			opts.StartFrom = eventstore.Current // ignored: the subscription exists
			want := after(read(t, s, target), got[4].ID)
			again := Collect(t, mustSubscribe(t, s, opts), len(want), eventually)
			wantIDs(t, again, want, "after resuming")
		})
	}
}

// testPersistentStartFromIgnored resubscribes with another StartFrom: the
// subscription resumes from its checkpoint.
func testPersistentStartFromIgnored(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	for _, target := range []string{eventstore.AllStream, "sf"} {
		t.Run(target, func(t *testing.T) {
			sf := "sf-" + target
			mustAppend(t, s, sf, eventstore.NoStream, newEvents(3, "sf"))
			if target != eventstore.AllStream {
				target = sf
			}
			last := mustReadStream(t, s, sf, eventstore.ReadOptions{})[2]
			opts := eventstore.SubscribeOptions{Stream: target, Name: "sf-" + target, StartFrom: eventstore.After(eventstore.Cursor(target, last))}
			sub := mustSubscribe(t, s, opts)
			marker := newEvents(1, "marker")
			mustAppend(t, s, sf, eventstore.Exact(3), marker)
			wantIDs(t, Collect(t, sub, 1, eventually), dataIDs(marker), "first subscriber")
			if err := sub.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			later := newEvents(2, "later")
			mustAppend(t, s, sf, eventstore.Exact(4), later)
			opts.StartFrom = eventstore.Origin
			sub = mustSubscribe(t, s, opts)
			wantIDs(t, Collect(t, sub, 2, eventually), dataIDs(later), "resubscribed from origin")
		})
	}
}

// testPersistentDelete deletes a persistent subscription: subscribing again
// starts afresh.
func testPersistentDelete(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	ctx := t.Context()
	evs := newEvents(3, "d")
	mustAppend(t, s, "d", eventstore.NoStream, evs)
	err := s.DeleteSubscription(ctx, "del")
	wantErr(t, err, eventstore.ErrSubscriptionNotFound, "delete an unknown subscription")

	opts := eventstore.SubscribeOptions{Name: "del"}
	sub := mustSubscribe(t, s, opts)
	wantIDs(t, Collect(t, sub, 3, eventually), dataIDs(evs), "first subscription")
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.DeleteSubscription(ctx, "del"); err != nil {
		t.Fatalf("delete subscription: %v", err)
	}
	err = s.DeleteSubscription(ctx, "del")
	wantErr(t, err, eventstore.ErrSubscriptionNotFound, "delete a deleted subscription")

	sub = mustSubscribe(t, s, opts)
	wantIDs(t, Collect(t, sub, 3, eventually), dataIDs(evs), "subscription created again from origin")
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.DeleteSubscription(ctx, "del"); err != nil {
		t.Fatalf("delete subscription: %v", err)
	}
	second := read(t, s, eventstore.AllStream)[1]
	opts.StartFrom = eventstore.After(second.Position)
	sub = mustSubscribe(t, s, opts)
	wantIDs(t, Collect(t, sub, 1, eventually), dataIDs(evs[2:]), "subscription created again after the second event")
}

// testPersistentExclusive subscribes with the same name through two
// handles: one receives the events; when it closes, the other takes over
// from its checkpoint.
func testPersistentExclusive(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	h := [2]eventstore.Store{mustOpen(t, open), mustOpen(t, open)}
	opts := eventstore.SubscribeOptions{Name: "excl"}
	subs := [2]eventstore.Subscription{mustSubscribe(t, h[0], opts), mustSubscribe(t, h[1], opts)}

	first := newEvents(5, "first")
	mustAppend(t, h[0], "x", eventstore.NoStream, first)
	var got [2][]eventstore.RecordedEvent
	deadline := time.After(eventually)
	for len(got[0]) < len(first) && len(got[1]) < len(first) {
		var i int
		var batch []eventstore.RecordedEvent
		var ok bool
		select {
		case batch, ok = <-subs[0].Events():
		case batch, ok = <-subs[1].Events():
			i = 1
		case <-deadline:
			t.Fatalf("no subscriber received the %d events within %v: got %d and %d", len(first), eventually, len(got[0]), len(got[1]))
		}
		if !ok {
			t.Fatalf("subscription %d ended: %v", i, subs[i].Close())
		}
		got[i] = append(got[i], batch...)
		if err := subs[i].Ack(batch[len(batch)-1]); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	active := 0
	if len(got[1]) >= len(first) {
		active = 1
	}
	idle := 1 - active
	if len(got[idle]) > 0 {
		t.Fatalf("both subscribers received events: %d and %d", len(got[0]), len(got[1]))
	}
	wantIDs(t, got[active], dataIDs(first), "active subscriber")

	more := newEvents(2, "more")
	mustAppend(t, h[idle], "x", eventstore.Exact(5), more)
	wantIDs(t, Collect(t, subs[active], 2, eventually), dataIDs(more), "active subscriber")
	wantNothing(t, subs[idle], "waiting subscriber")

	// The active subscriber closes: the other takes over after the
	// checkpoint.
	if err := subs[active].Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	later := newEvents(3, "later")
	mustAppend(t, h[active], "x", eventstore.Exact(7), later)
	wantIDs(t, Collect(t, subs[idle], 3, takeover), dataIDs(later), "subscriber that took over")

	// Subscribing again through the first handle waits its turn.
	back := mustSubscribe(t, h[active], opts)
	last := newEvents(1, "last")
	mustAppend(t, h[active], "x", eventstore.Exact(10), last)
	wantIDs(t, Collect(t, subs[idle], 1, eventually), dataIDs(last), "subscriber that took over")
	wantNothing(t, back, "subscriber waiting again")
}

// testPersistentCheckpointBatching checks when checkpoints are stored: not
// on every acknowledgement, but after CheckpointThreshold of them or
// CheckpointInterval after the first one not yet stored.
func testPersistentCheckpointBatching(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	if _, err := s.Checkpoint(t.Context(), "missing"); !errors.Is(err, eventstore.ErrSubscriptionNotFound) {
		t.Fatalf("checkpoint of an unknown subscription: %v, want ErrSubscriptionNotFound", err)
	}
	mustAppend(t, s, "cp", eventstore.NoStream, newEvents(6, "cp"))
	waitCheckpoint := func(name string, want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			cp, err := s.Checkpoint(t.Context(), name)
			if err != nil {
				t.Fatalf("checkpoint: %v", err)
			}
			if cp == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint of %s is %d, want %d within %v", name, cp, want, within)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	byCount := mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: "cp", Name: "by-count", BatchSize: 1,
		CheckpointThreshold: 3, CheckpointInterval: time.Hour})
	var got []eventstore.RecordedEvent
	for len(got) < 3 {
		got = append(got, receive(t, byCount, eventually)...)
	}
	for _, e := range got[:2] {
		if err := byCount.Ack(e); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(quiet)
	if cp, _ := s.Checkpoint(t.Context(), "by-count"); cp != 0 {
		t.Fatalf("checkpoint stored after 2 of 3 acknowledgements: %d", cp)
	}
	if err := byCount.Ack(got[2]); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint("by-count", got[2].StreamVersion, eventually)

	byTime := mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: "cp", Name: "by-time", BatchSize: 1,
		CheckpointThreshold: 1000, CheckpointInterval: 50 * time.Millisecond})
	first := receive(t, byTime, eventually)
	if err := byTime.Ack(first[0]); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint("by-time", first[0].StreamVersion, eventually)
}

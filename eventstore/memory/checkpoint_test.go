package memory

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
)

// stored returns the stored checkpoint of a persistent subscription.
func (s *Store) stored(name string) int64 {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	return s.db.subs[name].cursor
}

func appendN(t *testing.T, s *Store, stream string, n int) {
	t.Helper()
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{Type: "e", Data: []byte(fmt.Sprintf(`{"i": %d}`, i))}
	}
	if _, err := s.Append(t.Context(), stream, eventstore.Any, evs); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointWrites checks when a persistent subscription stores its
// checkpoint: after CheckpointThreshold acknowledged events, after
// CheckpointInterval since the first unstored acknowledgement, and on
// Close. synctest also checks that closing the store stops every
// goroutine.
func TestCheckpointWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New()
		defer s.Close()
		appendN(t, s, "a", 10)
		sub, err := s.Subscribe(t.Context(), eventstore.SubscribeOptions{
			Name:                "cp",
			CheckpointThreshold: 3,
			CheckpointInterval:  time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		batch := <-sub.Events()
		ack := func(i int, want int64) {
			t.Helper()
			if err := sub.Ack(batch[i]); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := s.stored("cp"); got != want {
				t.Fatalf("after acking position %d: stored %d, want %d", batch[i].Position, got, want)
			}
		}
		ack(1, 0) // two unstored
		ack(2, 3) // three: stored
		ack(3, 3)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := s.stored("cp"); got != 3 {
			t.Fatalf("before the interval: stored %d, want 3", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := s.stored("cp"); got != 4 {
			t.Fatalf("after the interval: stored %d, want 4", got)
		}
		ack(5, 4)
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if got := s.stored("cp"); got != 6 {
			t.Fatalf("after Close: stored %d, want 6", got)
		}
	})
}

// TestCloseStopsGoroutines opens subscriptions in every state on two
// handles and closes the handles: synctest fails if a goroutine is left.
func TestCloseStopsGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s1 := New()
		s2 := s1.Connect()
		appendN(t, s1, "a", 5)
		subscribe := func(s *Store, opts eventstore.SubscribeOptions) eventstore.Subscription {
			t.Helper()
			sub, err := s.Subscribe(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			return sub
		}
		subscribe(s1, eventstore.SubscribeOptions{BatchSize: 1}) // blocked sending
		idle := subscribe(s1, eventstore.SubscribeOptions{Stream: "a", StartFrom: eventstore.Current})
		held := subscribe(s1, eventstore.SubscribeOptions{Name: "p", CheckpointInterval: time.Hour})
		synctest.Wait() // held takes the name
		waiting := subscribe(s2, eventstore.SubscribeOptions{Name: "p"})
		if err := held.Ack((<-held.Events())[0]); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case <-idle.Events():
			t.Fatal("idle subscription delivered")
		case <-waiting.Events():
			t.Fatal("both subscribers of p delivered")
		default:
		}

		s1.Close()
		// The waiting subscriber takes over after the stored checkpoint.
		if batch := <-waiting.Events(); batch[0].Position != 2 {
			t.Fatalf("takeover starts at position %d, want 2", batch[0].Position)
		}
		s2.Close()
		if _, ok := <-waiting.Events(); ok {
			t.Fatal("subscription open after its store closed")
		}
	})
}

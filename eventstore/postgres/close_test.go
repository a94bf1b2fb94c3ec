package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// stallingRand is uuid's source of randomness for a test: armed, it
// stalls the next read until released. An Append of events without ids
// reads it while it prepares the append, after it begins and before it
// hands the append to a committer.
type stallingRand struct {
	armed   atomic.Bool
	stalled chan struct{}
	release chan struct{}
}

func (r *stallingRand) Read(p []byte) (int, error) {
	if r.armed.CompareAndSwap(true, false) {
		close(r.stalled)
		<-r.release
	}
	return rand.Read(p)
}

// TestAppendRacingClose closes the store while an Append with a context
// that never ends is half-way: the Append must return ErrClosed once it
// goes on, not wait for ever for a committer that is gone, and Close must
// not wait for it.
func TestAppendRacingClose(t *testing.T) {
	conn := newDatabase(t)
	for round := range 10 {
		r := &stallingRand{stalled: make(chan struct{}), release: make(chan struct{})}
		uuid.SetRand(r)
		t.Cleanup(func() { uuid.SetRand(nil) })
		s := mustOpen(t, conn, postgres.Config{})
		if _, err := s.Append(t.Context(), "before-close", eventstore.Any, events(1)); err != nil {
			t.Fatal(err)
		}

		r.armed.Store(true)
		appended := make(chan error, 1)
		go func() {
			_, err := s.Append(context.Background(), "racing-close", eventstore.Any, events(1))
			appended <- err
		}()
		waitClosed(t, r.stalled, "the append to reach its ids")
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			if err := s.Close(); err != nil {
				t.Errorf("round %d: close: %v", round, err)
			}
		}()
		waitClosed(t, closed, "Close while an append is half-way")
		close(r.release)
		select {
		case err := <-appended:
			if !errors.Is(err, eventstore.ErrClosed) {
				t.Fatalf("round %d: append racing close: got %v, want ErrClosed", round, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the append racing close has not returned 5 s after Close", round)
		}
		if _, err := s.Append(context.Background(), "after-close", eventstore.Any, events(1)); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("round %d: append after close: got %v, want ErrClosed", round, err)
		}
	}
}

// waitClosed fails tb unless ch is closed within 5 s.
func waitClosed(tb testing.TB, ch <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		tb.Fatalf("not within 5 s: %s", what)
	}
}

package actorstest

import (
	"context"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// WaitForEvent waits up to timeout for an event in $all, from position
// after (0 for the origin), that matches, and returns it; it fails the test
// otherwise.
func WaitForEvent(tb testing.TB, store eventstore.Subscriber, reg *actors.Registry, after int64,
	match func(actors.Event) bool, timeout time.Duration) actors.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sub, err := store.Subscribe(ctx, eventstore.SubscribeOptions{StartFrom: eventstore.After(after)})
	if err != nil {
		tb.Fatalf("actorstest: subscribe: %v", err)
	}
	defer sub.Close()
	for {
		select {
		case batch, ok := <-sub.Events():
			if !ok {
				tb.Fatalf("actorstest: subscription ended: %v", sub.Close())
			}
			for _, rec := range batch {
				evs, err := actors.DecodeEvents(reg, rec)
				for _, ev := range evs {
					if err == nil && match(ev) {
						return ev
					}
				}
			}
			if err := sub.Ack(batch[len(batch)-1]); err != nil {
				tb.Fatalf("actorstest: ack: %v", err)
			}
		case <-ctx.Done():
			tb.Fatalf("actorstest: no matching event within %v", timeout)
			return actors.Event{}
		}
	}
}

// Is returns a predicate matching events whose payload is an E.
func Is[E any]() func(actors.Event) bool {
	return func(ev actors.Event) bool {
		_, ok := ev.Payload.(E)
		return ok
	}
}

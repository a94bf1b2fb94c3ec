package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// kinds are the two kinds of subscription: the name of a persistent one,
// or none.
var kinds = []struct{ kind, name string }{{"transient", ""}, {"persistent", "sub"}}

// testSubscribeStartFrom subscribes with each StartFrom, in turn on one
// storage: each case has its own streams and persistent name.
func testSubscribeStartFrom(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	type start int
	const (
		origin start = iota
		current
		after
	)
	for _, k := range kinds {
		for _, target := range []string{"$all", "stream"} {
			for _, st := range []start{origin, current, after} {
				name := fmt.Sprintf("%s/%s/%s", k.kind, target, [...]string{"Origin", "Current", "After"}[st])
				t.Run(name, func(t *testing.T) {
					sn, xn := "s-"+name, "x-"+name
					// Before subscribing: s1 x1 s2 s3 x2 s4. After: s5 x3 s6.
					var recs []eventstore.RecordedEvent
					appendOne := func(stream string) {
						mustAppend(t, s, stream, eventstore.Any, newEvents(1, stream))
						recs = append(recs, mustReadStream(t, s, stream, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})...)
					}
					for _, stream := range []string{sn, xn, sn, sn, xn, sn} {
						appendOne(stream)
					}
					opts := eventstore.SubscribeOptions{Stream: sn, Name: k.name}
					if target == "$all" {
						opts.Stream = eventstore.AllStream
					}
					if k.name != "" {
						opts.Name = name
					}
					switch st {
					case current:
						opts.StartFrom = eventstore.Current
					case after:
						opts.StartFrom = eventstore.After(eventstore.Cursor(opts.Stream, recs[3])) // after s3
					}
					sub := mustSubscribe(t, s, opts)
					for _, stream := range []string{sn, xn, sn} {
						appendOne(stream)
					}

					// The events to deliver: those of the target after the
					// start, including earlier cases' for $all.
					var want []uuid.UUID
					if target == "$all" {
						from := map[start]int64{origin: 0, current: recs[5].Position, after: recs[3].Position}[st]
						for _, e := range mustReadWholeAll(t, s) {
							if e.Position > from {
								want = append(want, e.ID)
							}
						}
					} else {
						first := map[start]int{origin: 0, current: 6, after: 4}[st]
						for _, e := range recs[first:] {
							if e.StreamID == sn {
								want = append(want, e.ID)
							}
						}
					}
					got := Collect(t, sub, len(want), eventually)
					wantIDs(t, got, want, "delivered")
					for i, e := range got {
						if target != "$all" && (e.StreamID != sn || e.StreamVersion < 1) {
							t.Fatalf("event %d located at %q v%d", i, e.StreamID, e.StreamVersion)
						}
					}
					wantIncreasing(t, got, "delivered")
				})
			}
		}
		t.Run(k.kind+"/StreamNotYetCreated", func(t *testing.T) {
			stream := "later-" + k.kind
			opts := eventstore.SubscribeOptions{Stream: stream}
			if k.name != "" {
				opts.Name = stream
			}
			sub := mustSubscribe(t, s, opts)
			evs := newEvents(2, "later")
			mustAppend(t, s, stream, eventstore.NoStream, evs)
			got := Collect(t, sub, 2, eventually)
			wantIDs(t, got, dataIDs(evs), "delivered")
			wantVersions(t, got, span(1, 2), "delivered")
		})
	}
}

// testSubscribeCatchUpThenLive subscribes while events are being appended:
// a subscription delivers what was there, then what comes, in order, with
// no gap and no duplicate.
func testSubscribeCatchUpThenLive(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	// appendSome appends 30 events to "live" and 4 to other streams.
	appendSome := func() error {
		for i := range 15 {
			if _, err := s.Append(t.Context(), "live", eventstore.Any, newEvents(1+i%3, "live")); err != nil {
				return err
			}
			if i%4 == 0 {
				if _, err := s.Append(t.Context(), fmt.Sprintf("noise-%d", i), eventstore.Any, newEvents(1, "noise")); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := appendSome(); err != nil {
		t.Fatal(err)
	}
	all := mustSubscribe(t, s, eventstore.SubscribeOptions{BatchSize: 7})
	stream := mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: "live", BatchSize: 7})

	// Read both while the writer writes.
	var wg sync.WaitGroup
	var errWrite, errAll, errStream error
	var gotAll, gotStream []eventstore.RecordedEvent
	wg.Go(func() { errWrite = appendSome() })
	wg.Go(func() { gotAll, errAll = collect(all, 2*34, eventually) })
	wg.Go(func() { gotStream, errStream = collect(stream, 2*30, eventually) })
	wg.Wait()
	if errWrite != nil || errAll != nil || errStream != nil {
		t.Fatalf("append: %v; collect $all: %v; collect stream: %v", errWrite, errAll, errStream)
	}

	// One more event: the next delivery of each subscription is exactly it.
	mustAppend(t, s, "live", eventstore.Any, newEvents(1, "sentinel"))
	gotAll = append(gotAll, Collect(t, all, 1, eventually)...)
	gotStream = append(gotStream, Collect(t, stream, 1, eventually)...)
	wantAll := mustReadWholeAll(t, s)
	wantStream := mustReadStream(t, s, "live", eventstore.ReadOptions{})
	wantIDs(t, gotAll, eventIDs(wantAll), "$all subscription")
	wantIncreasing(t, gotAll, "$all subscription")
	wantIDs(t, gotStream, eventIDs(wantStream), "stream subscription")
	wantVersions(t, gotStream, span(1, int64(len(wantStream))), "stream subscription")
}

func testSubscribeLinks(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	f := newLinkFixture(t, s)
	var subs []eventstore.Subscription
	for _, k := range kinds {
		subs = append(subs, mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: "lnk", Name: k.name, BatchSize: 3}))
	}
	for i, sub := range subs {
		got := Collect(t, sub, 4, eventually)
		what := kinds[i].kind + " subscription"
		wantIDs(t, got, f.lnk, what)
		wantVersions(t, got, span(1, 4), what)
		wantLinked(t, got[0], f.src[1], "lnk", 1)
		wantLinked(t, got[3], f.src[0], "lnk", 4)
	}
	mustLink(t, s, "lnk", eventstore.Exact(4), f.src[2].ID)
	for i, sub := range subs {
		got := Collect(t, sub, 1, eventually)
		if len(got) != 1 {
			t.Fatalf("%s subscription: delivered %d events, want 1", kinds[i].kind, len(got))
		}
		wantLinked(t, got[0], f.src[2], "lnk", 5)
	}
}

func testSubscribeBatchSize(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	evs := newEvents(25, "b")
	mustAppend(t, s, "b", eventstore.NoStream, evs)
	for _, target := range []string{"$all", "b"} {
		t.Run(target, func(t *testing.T) {
			sub := mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: target, BatchSize: 4})
			var got []eventstore.RecordedEvent
			for len(got) < len(evs) {
				batch := receive(t, sub, eventually)
				if len(batch) > 4 {
					t.Fatalf("batch of %d events, BatchSize 4", len(batch))
				}
				got = append(got, batch...)
				if err := sub.Ack(batch[len(batch)-1]); err != nil {
					t.Fatalf("ack: %v", err)
				}
			}
			wantIDs(t, got, dataIDs(evs), "delivered")
		})
	}
}

func testSubscribeMaxInFlight(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	evs := newEvents(20, "f")
	mustAppend(t, s, "f", eventstore.NoStream, evs)
	for _, tc := range []struct{ kind, name, target string }{
		{"transient", "", "$all"},
		{"persistent", "flow", "f"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			sub := mustSubscribe(t, s, eventstore.SubscribeOptions{Stream: tc.target, Name: tc.name, BatchSize: 3, MaxInFlight: 5})

			var got []eventstore.RecordedEvent
			fill := func(n int) {
				t.Helper()
				for len(got) < n {
					batch := receive(t, sub, eventually)
					if len(batch) > 3 {
						t.Fatalf("batch of %d events, BatchSize 3", len(batch))
					}
					got = append(got, batch...)
				}
				if len(got) != n {
					t.Fatalf("%d events delivered, want %d with MaxInFlight 5", len(got), n)
				}
				wantNothing(t, sub, fmt.Sprintf("with %d events in flight", 5))
			}
			fill(5)
			if err := sub.Ack(got[1]); err != nil { // two of five acknowledged
				t.Fatalf("ack: %v", err)
			}
			fill(7)
			if err := sub.Ack(got[6]); err != nil {
				t.Fatalf("ack: %v", err)
			}
			got = append(got, Collect(t, sub, len(evs)-len(got), eventually)...)
			wantIDs(t, got, dataIDs(evs), "delivered")
		})
	}
}

func testSubscribeInvalidAck(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "a", eventstore.NoStream, newEvents(3, "a"))
	mustAppend(t, s, "b", eventstore.NoStream, newEvents(1, "b"))
	a := mustReadStream(t, s, "a", eventstore.ReadOptions{})
	b := mustReadStream(t, s, "b", eventstore.ReadOptions{})
	one := eventstore.SubscribeOptions{BatchSize: 1, MaxInFlight: 1}

	for _, k := range kinds {
		t.Run(k.kind+"/stream", func(t *testing.T) {
			opts := one
			opts.Stream, opts.Name = "a", k.name
			sub := mustSubscribe(t, s, opts)
			first := receive(t, sub, eventually)
			wantIDs(t, first, []uuid.UUID{a[0].ID}, "first batch")
			wantErr(t, sub.Ack(b[0]), eventstore.ErrInvalidArgument, "ack an event of another stream")
			wantErr(t, sub.Ack(a[2]), eventstore.ErrInvalidArgument, "ack an event not delivered")
			if err := sub.Ack(first[0]); err != nil {
				t.Fatalf("ack: %v", err)
			}
			wantIDs(t, receive(t, sub, eventually), []uuid.UUID{a[1].ID}, "second batch")
		})
		t.Run(k.kind+"/$all", func(t *testing.T) {
			opts := one
			if opts.Name = k.name; opts.Name != "" {
				opts.Name += "-all"
			}
			sub := mustSubscribe(t, s, opts)
			first := receive(t, sub, eventually)
			wantIDs(t, first, []uuid.UUID{a[0].ID}, "first batch")
			wantErr(t, sub.Ack(b[0]), eventstore.ErrInvalidArgument, "ack an event not delivered")
			if err := sub.Ack(first[0]); err != nil {
				t.Fatalf("ack: %v", err)
			}
			wantIDs(t, receive(t, sub, eventually), []uuid.UUID{a[1].ID}, "second batch")
		})
	}
}

func testSubscribeClose(t *testing.T, newStorage func(*testing.T) Opener) {
	s := newStore(t, newStorage)
	mustAppend(t, s, "c", eventstore.NoStream, newEvents(10, "c"))
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			// The subscriber does not read: Close must not wait for it.
			sub := mustSubscribe(t, s, eventstore.SubscribeOptions{Name: k.name, BatchSize: 1})
			done := make(chan error, 2)
			go func() {
				time.Sleep(quiet) // let delivery start
				done <- sub.Close()
				done <- sub.Close()
			}()
			for range 2 {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("close: %v", err)
					}
				case <-time.After(eventually):
					t.Fatal("close blocked")
				}
			}
			wantEnded(t, sub, eventually, "closed subscription")
		})
	}
}

// testSubscribeStoreClose closes one of two handles: its subscriptions end,
// the other's go on, and its persistent subscription can be taken over.
func testSubscribeStoreClose(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	h1, h2 := mustOpen(t, open), mustOpen(t, open)
	first := newEvents(1, "first")
	mustAppend(t, h1, "sc", eventstore.NoStream, first)
	transient := mustSubscribe(t, h1, eventstore.SubscribeOptions{})
	persistent := mustSubscribe(t, h1, eventstore.SubscribeOptions{Name: "held"})
	other := mustSubscribe(t, h2, eventstore.SubscribeOptions{})
	wantIDs(t, Collect(t, persistent, 1, eventually), dataIDs(first), "persistent before close")

	if err := h1.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	wantEnded(t, transient, eventually, "transient subscription of the closed store")
	wantEnded(t, persistent, eventually, "persistent subscription of the closed store")

	second := newEvents(1, "second")
	mustAppend(t, h2, "sc", eventstore.Exact(1), second)
	wantIDs(t, Collect(t, other, 2, eventually), dataIDs(first, second), "subscription of the other store")
	// The first event was acknowledged: it may be delivered again, but
	// nothing may be skipped.
	takeover := mustSubscribe(t, h2, eventstore.SubscribeOptions{Name: "held"})
	got := Collect(t, takeover, 1, eventually)
	if got[0].ID == first[0].ID && len(got) == 1 {
		got = append(got, Collect(t, takeover, 1, eventually)...)
	}
	if got[0].ID == first[0].ID {
		got = got[1:]
	}
	wantIDs(t, got, dataIDs(second), "persistent subscription taken over")
}

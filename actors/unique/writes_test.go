package unique_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// appendWrite appends a claim's or a release's StreamWrite as the
// runtime does.
func appendWrite(t *testing.T, store eventstore.Appender, typ string, claim func() (string, eventstore.ExpectedVersion, any)) {
	t.Helper()
	stream, expected, ev := claim()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), stream, expected, []eventstore.EventData{{Type: typ, Data: data}}); err != nil {
		t.Fatal(err)
	}
}

// TestStateAfterWrites: a value released by a ReleaseWrite is free at its
// stream's version, and Claim (slugs) claims it there; ReleaseAt leaves a
// claim made again since alone.
func TestStateAfterWrites(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	streams := mustStreams(t, testKey)
	c := unique.New(store, streams)
	write := func(typ string, w func(ns, v, o string, at int64) (string, eventstore.ExpectedVersion, any), owner string, at int64) {
		appendWrite(t, store, typ, func() (string, eventstore.ExpectedVersion, any) { return w("username", "jake", owner, at) })
	}
	claimW := func(ns, v, o string, at int64) (string, eventstore.ExpectedVersion, any) {
		w, err := streams.ClaimWrite(ns, v, o, at)
		if err != nil {
			t.Fatal(err)
		}
		return w.Stream, w.Expected, w.Events[0]
	}
	releaseW := func(ns, v, o string, at int64) (string, eventstore.ExpectedVersion, any) {
		w, err := streams.ReleaseWrite(ns, v, o, at)
		if err != nil {
			t.Fatal(err)
		}
		return w.Stream, w.Expected, w.Events[0]
	}
	state := func(want unique.ClaimState) {
		t.Helper()
		if got, err := c.State(ctx, "username", "jake"); err != nil || got != want {
			t.Fatalf("state %+v (%v), want %+v", got, err, want)
		}
	}
	state(unique.ClaimState{})
	write(unique.ClaimedEvent, claimW, "u1", 0)
	state(unique.ClaimState{Owner: "u1", Version: 1})
	write(unique.ReleasedEvent, releaseW, "u1", 1)
	state(unique.ClaimState{Version: 2})
	if created, err := c.Claim(ctx, "username", "jake", "u2"); err != nil || !created {
		t.Fatalf("claim a released value: %v, %v", created, err)
	}
	state(unique.ClaimState{Owner: "u2", Version: 3})
	if err := c.ReleaseAt(ctx, "username", "jake", "u2", 1); err != nil {
		t.Fatal(err)
	}
	state(unique.ClaimState{Owner: "u2", Version: 3})
	if err := c.ReleaseAt(ctx, "username", "jake", "u2", 3); err != nil {
		t.Fatal(err)
	}
	state(unique.ClaimState{})
}

package unique_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// legacyClaim appends to a claim stream named as before values were
// hashed ("unique-<namespace>-<value>") the events claims wrote there:
// a Claimed or Released per owner, "" for a release of the one before.
func legacyClaim(t *testing.T, store eventstore.Appender, namespace, value string, owners ...string) {
	t.Helper()
	var evs []eventstore.EventData
	last := ""
	for _, o := range owners {
		typ, owner := unique.ClaimedEvent, o
		if o == "" {
			typ, owner = unique.ReleasedEvent, last
		}
		data, err := json.Marshal(unique.Claimed{Namespace: namespace, Value: value, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, eventstore.EventData{Type: typ, Data: data})
		last = o
	}
	if _, err := store.Append(context.Background(), "unique-"+namespace+"-"+value, eventstore.NoStream, evs); err != nil {
		t.Fatal(err)
	}
}

// TestUpgrade: the claims made under the plain stream ids are moved to
// keyed ones at the same versions (which the owners' events recorded),
// free values stay free, the plain ids and values are gone from the
// store, a second upgrade does nothing, and another key is refused.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	if _, err := store.Append(ctx, "accounts.User-u1", eventstore.NoStream, []eventstore.EventData{{Type: "x", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	legacyClaim(t, store, "username", "jake", "u1")
	legacyClaim(t, store, "email", "jake@jake.jake", "u1", "", "u2")
	legacyClaim(t, store, "slug", "gone", "a1", "")
	streams := mustStreams(t, testKey)
	c := unique.New(store, streams)

	moved, err := unique.Upgrade(ctx, store, streams)
	if err != nil || moved != 3 {
		t.Fatalf("Upgrade = %d, %v; want 3 claims moved", moved, err)
	}
	for _, tt := range []struct {
		namespace, value string
		want             unique.ClaimState
	}{
		{"username", "jake", unique.ClaimState{Owner: "u1", Version: 1}},
		{"email", "jake@jake.jake", unique.ClaimState{Owner: "u2", Version: 3}},
		{"slug", "gone", unique.ClaimState{Version: 2}},
		{"username", "jacob", unique.ClaimState{}},
	} {
		if got, err := c.State(ctx, tt.namespace, tt.value); err != nil || got != tt.want {
			t.Errorf("State(%s, %s) = %+v, %v; want %+v", tt.namespace, tt.value, got, err, tt.want)
		}
	}
	for _, s := range []string{"unique-username-jake", "unique-email-jake@jake.jake", "unique-slug-gone"} {
		if _, err := store.ReadStream(ctx, s, eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("%s after the upgrade: %v, want ErrStreamNotFound", s, err)
		}
	}
	assertNoTrace(t, store, "jake@jake.jake")
	if _, err := c.Claim(ctx, "username", "jake", "u3"); !errors.Is(err, unique.ErrTaken) {
		t.Fatalf("claim of a moved claim's value by another owner: %v, want ErrTaken", err)
	}

	if moved, err := unique.Upgrade(ctx, store, streams); err != nil || moved != 0 {
		t.Fatalf("second Upgrade = %d, %v; want 0, nil", moved, err)
	}
	other := mustStreams(t, []byte("another key, as long as the first"))
	if _, err := unique.Upgrade(ctx, store, other); !errors.Is(err, unique.ErrWrongKey) {
		t.Fatalf("Upgrade with another key: %v, want ErrWrongKey", err)
	}
}

// TestUpgradeResumes: a claim copied to its keyed stream by an upgrade
// that stopped before it removed the plain one is not copied again; a
// keyed stream at another version than the plain one (both written to)
// stops the upgrade, which moves nothing of it and records nothing.
func TestUpgradeResumes(t *testing.T) {
	ctx := context.Background()
	streams := mustStreams(t, testKey)
	copied := func(t *testing.T, store eventstore.Appender, owner string, at int64) {
		t.Helper()
		w, err := streams.ClaimWrite("username", "jake", owner, at)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(w.Events[0])
		if _, err := store.Append(ctx, w.Stream, w.Expected, []eventstore.EventData{{Type: unique.ClaimedEvent, Data: data}}); err != nil {
			t.Fatal(err)
		}
	}

	store := memory.New()
	legacyClaim(t, store, "username", "jake", "u1")
	copied(t, store, "u1", 0)
	if moved, err := unique.Upgrade(ctx, store, streams); err != nil || moved != 1 {
		t.Fatalf("Upgrade = %d, %v; want 1, nil", moved, err)
	}
	if st, err := unique.New(store, streams).State(ctx, "username", "jake"); err != nil || st != (unique.ClaimState{Owner: "u1", Version: 1}) {
		t.Fatalf("State = %+v, %v", st, err)
	}

	store = memory.New()
	legacyClaim(t, store, "username", "jake", "u1", "", "u2")
	copied(t, store, "u3", 0)
	if _, err := unique.Upgrade(ctx, store, streams); !errors.Is(err, unique.ErrUpgradeConflict) {
		t.Fatalf("Upgrade over a diverged claim: %v, want ErrUpgradeConflict", err)
	}
	if _, err := store.ReadStream(ctx, "unique-username-jake", eventstore.ReadOptions{}); err != nil {
		t.Fatalf("the diverged plain claim was removed: %v", err)
	}
}

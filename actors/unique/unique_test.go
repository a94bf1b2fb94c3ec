package unique_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

func TestClaimRelease(t *testing.T) {
	ctx := context.Background()
	c := unique.New(memory.New(), mustStreams(t, testKey))

	created, err := c.Claim(ctx, "username", "jake", "u1")
	if err != nil || !created {
		t.Fatalf("first claim: created=%v err=%v", created, err)
	}
	created, err = c.Claim(ctx, "username", "jake", "u1")
	if err != nil || created {
		t.Fatalf("claim again by the owner: created=%v err=%v, want false, nil", created, err)
	}
	_, err = c.Claim(ctx, "username", "jake", "u2")
	var taken *unique.TakenError
	if !errors.As(err, &taken) || !errors.Is(err, unique.ErrTaken) || taken.Owner != "u1" {
		t.Fatalf("claim by another: %v, want a TakenError naming u1", err)
	}
	if _, err := c.Claim(ctx, "email", "jake", "u2"); err != nil {
		t.Fatalf("same value in another namespace: %v", err)
	}

	if err := c.Release(ctx, "username", "jake", "u2"); err != nil {
		t.Fatalf("release by a non-owner: %v", err)
	}
	if owner, err := c.Owner(ctx, "username", "jake"); err != nil || owner != "u1" {
		t.Fatalf("a non-owner's release freed the value: owner=%q err=%v", owner, err)
	}
	if err := c.Release(ctx, "username", "jake", "u1"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := c.Owner(ctx, "username", "jake"); !errors.Is(err, unique.ErrNotClaimed) {
		t.Fatalf("owner after release: %v, want ErrNotClaimed", err)
	}
	if err := c.Release(ctx, "username", "jake", "u1"); err != nil {
		t.Fatalf("release twice: %v", err)
	}
	if created, err := c.Claim(ctx, "username", "jake", "u2"); err != nil || !created {
		t.Fatalf("claim after release: created=%v err=%v", created, err)
	}
}

func TestReleaseLeavesNoEvents(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	c := unique.New(store, mustStreams(t, testKey))
	if _, err := c.Claim(ctx, "slug", "a-b", "x1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx, "slug", "a-b", "x1"); err != nil {
		t.Fatal(err)
	}
	all, err := store.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Fatalf("%d events remain after release", len(all))
	}
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	ctx := context.Background()
	c := unique.New(memory.New(), mustStreams(t, testKey))
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Claim(ctx, "username", "race", fmt.Sprint("u", i)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, unique.ErrTaken):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want 1", won)
	}
}

func TestStreamID(t *testing.T) {
	streams := mustStreams(t, testKey)
	tests := []struct {
		namespace, value string
		wantErr          bool
	}{
		{"username", "jake", false},
		{"slug", "how-to-train-your-dragon", false},
		{"username", strings.Repeat("x", 1000), false},
		{"username", "a\x00b", false},
		{"email", "\xff", false},
		{"user-name", "jake", true},
		{"", "jake", true},
		{"user\x00name", "jake", true},
		{"username", "", true},
	}
	for _, tt := range tests {
		id, err := streams.Stream(tt.namespace, tt.value)
		if (err != nil) != tt.wantErr {
			t.Errorf("Stream(%q, %.20q) err = %v", tt.namespace, tt.value, err)
			continue
		}
		if err != nil {
			continue
		}
		if want := "claim-" + tt.namespace + "-"; !strings.HasPrefix(id, want) || len(id) != len(want)+64 {
			t.Errorf("Stream(%q, %.20q) = %q, want %s and 64 hex digits", tt.namespace, tt.value, id, want)
		}
		if err := eventstore.ValidateStreamID(id); err != nil {
			t.Errorf("Stream(%q, %.20q) = %q: %v", tt.namespace, tt.value, id, err)
		}
	}
}

package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
)

// keyStore returns s as a KeyStore, skipping the test for a store without
// keys.
func keyStore(tb testing.TB, s eventstore.Store) eventstore.KeyStore {
	tb.Helper()
	if c, ok := s.(*closeOnce); ok {
		s = c.Store
	}
	ks, ok := s.(eventstore.KeyStore)
	if !ok {
		tb.Skipf("%T is not an eventstore.KeyStore", s)
	}
	return ks
}

// testKeysLifecycle: a key is created once, read back, and deleted for
// good: a deleted key is neither read nor created again.
func testKeysLifecycle(t *testing.T, newStorage func(*testing.T) Opener) {
	ks := keyStore(t, newStore(t, newStorage))
	ctx := t.Context()

	_, err := ks.Key(ctx, "alice")
	wantErr(t, err, eventstore.ErrKeyNotFound, "key of a new subject")
	got, err := ks.CreateKey(ctx, "alice", []byte("wrapped-1"))
	if err != nil || string(got) != "wrapped-1" {
		t.Fatalf("create: %q, %v", got, err)
	}
	got, err = ks.CreateKey(ctx, "alice", []byte("wrapped-2"))
	if err != nil || string(got) != "wrapped-1" {
		t.Fatalf("create again: %q, %v; want the first key", got, err)
	}
	if got, err = ks.Key(ctx, "alice"); err != nil || string(got) != "wrapped-1" {
		t.Fatalf("key: %q, %v", got, err)
	}
	if _, err = ks.CreateKey(ctx, "bob", nil); err == nil {
		t.Fatal("create an empty key: no error")
	}
	wantErr(t, err, eventstore.ErrInvalidArgument, "empty key")
	_, err = ks.Key(ctx, string(bytes.Repeat([]byte("s"), eventstore.MaxKeySubject+1)))
	wantErr(t, err, eventstore.ErrInvalidArgument, "long subject")

	for range 2 { // idempotent
		if err := ks.DeleteKey(ctx, "alice"); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	_, err = ks.Key(ctx, "alice")
	wantErr(t, err, eventstore.ErrKeyForgotten, "key after delete")
	_, err = ks.CreateKey(ctx, "alice", []byte("wrapped-3"))
	wantErr(t, err, eventstore.ErrKeyForgotten, "create after delete")

	// A subject that never had a key can be forgotten, for good too.
	if err := ks.DeleteKey(ctx, "carol"); err != nil {
		t.Fatalf("delete a missing key: %v", err)
	}
	_, err = ks.CreateKey(ctx, "carol", []byte("wrapped-4"))
	wantErr(t, err, eventstore.ErrKeyForgotten, "create after deleting a missing key")
}

// testKeysCreateRace: handles creating one subject's key at once all get
// the one key stored.
func testKeysCreateRace(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	const n = 8
	stores := make([]eventstore.KeyStore, n)
	for i := range stores {
		stores[i] = keyStore(t, mustOpen(t, open))
	}
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, ks := range stores {
		wg.Go(func() { got[i], errs[i] = ks.CreateKey(t.Context(), "dave", fmt.Appendf(nil, "wrapped-%d", i)) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("create %d: %q, %v; create 0 got %q", i, got[i], errs[i], got[0])
		}
	}
}

// testKeysWatch: a key deleted through one handle is told to the key
// watchers of every handle, until they stop watching.
func testKeysWatch(t *testing.T, newStorage func(*testing.T) Opener) {
	open := newStorage(t)
	deleter, watcher := keyStore(t, mustOpen(t, open)), keyStore(t, mustOpen(t, open))
	seen := make(chan string, 16)
	stop := watcher.WatchKeys(func(subject string) {
		if subject != "" { // "" only says deletions may have been missed
			seen <- subject
		}
	})
	// A store's watchers may start listening after WatchKeys returns (they
	// are told "" then): delete again until the deletion is seen.
	deadline := time.After(eventually)
	for told := false; !told; {
		if err := deleter.DeleteKey(t.Context(), "erin"); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-seen:
			if s != "erin" {
				t.Fatalf("watcher told %q, want erin", s)
			}
			told = true
		case <-time.After(quiet):
		case <-deadline:
			t.Fatal("the other handle's watcher was not told of the deletion")
		}
	}
	stop()
	stop()
	for len(seen) > 0 { // repeated deletions, told before stop
		<-seen
	}
	if err := deleter.DeleteKey(t.Context(), "frank"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-seen:
		t.Fatalf("stopped watcher told %q", s)
	case <-time.After(quiet):
	}
}

package processmanagers_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/processmanagers"
)

func TestAuthorFromUserHandle(t *testing.T) {
	tests := []struct {
		name string
		ev   any
		want []any
	}{
		{"registered", accounts.UserRegistered{UserID: "u1", Username: "jake"},
			[]any{blog.CreateAuthor{AuthorID: "u1", UserID: "u1", Username: "jake"}}},
		{"renamed", accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake"},
			[]any{blog.ChangeAuthorUsername{AuthorID: "u1", Username: "jacob"}}},
		{"other", accounts.UserBioChanged{UserID: "u1", Bio: "hi"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&processmanagers.AuthorFromUser{}).Handle(actors.Event{Payload: tt.ev})
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Handle = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// TestAuthorFollowsUser runs the workflow in an application: once a
// strongly consistent registration or rename returns, the author exists
// and carries the new username.
func TestAuthorFollowsUser(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	app := startAuthorApp(t, store)
	strong := actors.WithConsistency(actors.Strong)
	if _, err := app.Dispatch(ctx, accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h"}, strong); err != nil {
		t.Fatal(err)
	}
	author := func() blog.Author {
		t.Helper()
		var a blog.Author
		evs, err := store.ReadStream(ctx, "blog.Author-u1", eventstore.ReadOptions{})
		if err != nil {
			t.Fatalf("author of u1: %v", err)
		}
		for _, rec := range evs {
			ev, err := actors.DecodeEvent(app.Registry(), rec)
			if err != nil {
				t.Fatal(err)
			}
			a.Apply(ev.Payload)
		}
		return a
	}
	if a := author(); a.Username != "jake" || a.UserID != "u1" {
		t.Fatalf("author after registration: %+v", a)
	}
	if _, err := app.Dispatch(ctx, accounts.UpdateUser{UserID: "u1", Username: new("jacob")}, strong); err != nil {
		t.Fatal(err)
	}
	if a := author(); a.Username != "jacob" {
		t.Fatalf("author after rename: %+v", a)
	}
}

// stateSaves wraps a store to count the process states it is asked to
// write.
type stateSaves struct {
	*memory.Store
	saved atomic.Int64
}

// SaveSnapshots counts the states among record, then saves.
func (s *stateSaves) SaveSnapshots(ctx context.Context, record []eventstore.Snapshot, del []string) error {
	for _, snap := range record {
		if strings.HasPrefix(snap.SourceID, "$process-") {
			s.saved.Add(1)
		}
	}
	return s.Store.SaveSnapshots(ctx, record, del)
}

// startAuthorApp starts an application running the accounts, the blog and
// the author workflow on store.
func startAuthorApp(t *testing.T, store actors.EventStore) *actors.App {
	t.Helper()
	// The users' personal fields are encrypted: the test's master key.
	key := bytes.Repeat([]byte{1}, actors.MasterKeySize)
	app, err := actors.New(actors.Config{Store: store, Personal: actors.Personal{MasterKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	streams, err := unique.NewStreams(unique.Config{Key: []byte("the processmanagers tests' key...")})
	if err != nil {
		t.Fatal(err)
	}
	registerAccounts := func(app *actors.App) error { return accounts.Register(app, streams) }
	for _, register := range []func(*actors.App) error{registerAccounts, blog.Register, processmanagers.Register} {
		if err := register(app); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	return app
}

// TestAuthorRenamesWriteNoState: a rename leaves the workflow's state as
// it was, so the workflow writes no state for it (one write, at the
// registration); after a restart that delivers every event again, each
// rename's command is recognised by its id and the author ends with the
// last username, with no event twice.
func TestAuthorRenamesWriteNoState(t *testing.T) {
	ctx := context.Background()
	store := &stateSaves{Store: memory.New()}
	app := startAuthorApp(t, store)
	strong := actors.WithConsistency(actors.Strong)
	if _, err := app.Dispatch(ctx, accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h"}, strong); err != nil {
		t.Fatal(err)
	}
	var last int64
	for _, name := range []string{"jacob", "jay", "jj"} {
		res, err := app.Dispatch(ctx, accounts.UpdateUser{UserID: "u1", Username: new(name)}, strong)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	if err := app.WaitFor(ctx, processmanagers.AuthorFromUserName, last); err != nil {
		t.Fatal(err)
	}
	if got := store.saved.Load(); got != 1 {
		t.Errorf("%d process states written for a registration and three renames, want 1", got)
	}
	authorEvents := func() []eventstore.RecordedEvent {
		t.Helper()
		evs, err := store.ReadStream(ctx, "blog.Author-u1", eventstore.ReadOptions{})
		if err != nil {
			t.Fatalf("author of u1: %v", err)
		}
		return evs
	}
	before := len(authorEvents())
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Every event again, from the origin.
	if err := store.DeleteSubscription(ctx, actors.ProcessManagerSubscription(processmanagers.AuthorFromUserName)); err != nil {
		t.Fatal(err)
	}
	app = startAuthorApp(t, store)
	if err := app.WaitFor(ctx, processmanagers.AuthorFromUserName, last); err != nil {
		t.Fatal(err)
	}
	evs := authorEvents()
	if len(evs) != before {
		t.Errorf("%d author events after the redelivery, %d before", len(evs), before)
	}
	var a blog.Author
	for _, rec := range evs {
		ev, err := actors.DecodeEvent(app.Registry(), rec)
		if err != nil {
			t.Fatal(err)
		}
		a.Apply(ev.Payload)
	}
	if a.Username != "jj" {
		t.Errorf("author after the redelivery: %+v, want username jj", a)
	}
}

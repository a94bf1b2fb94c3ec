package conduit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// TestRenameOneCommit: a rename claims the new username and releases the
// old one in the same commit as the user's event, so the old name is free
// as the rename returns, with no claims handler running.
func TestRenameOneCommit(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app, err := conduit.NewTool(ctx, conduit.Config{Store: conduittest.NewStore(t, db), DB: db, ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey, Password: conduittest.FastPasswords},
		conduit.ToolOptions{Handlers: []string{"users"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })

	jake, celeb := register(t, app, "jake"), register(t, app, "celeb")
	head, err := app.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("jacob")}); err != nil {
		t.Fatal(err)
	}
	var events, commits int
	err = db.QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM cohort.events
		WHERE position > $1`, head).Scan(&events, &commits)
	if err != nil {
		t.Fatal(err)
	}
	if events != 3 || commits != 1 {
		t.Fatalf("the rename wrote %d events in %d commits, want 3 (change, claim, release) in 1", events, commits)
	}
	// The old name is free at once; a released name is claimed again.
	if _, err := app.UpdateUser(ctx, celeb.ID, conduit.UserUpdate{Username: new("jake")}); err != nil {
		t.Fatalf("take the name jake gave up: %v", err)
	}
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("celeb")}); err != nil {
		t.Fatalf("take the name celeb gave up: %v", err)
	}
	_, err = app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("JAKE")})
	wantField(t, err, "username", validation.Taken)
	if _, err := app.RegisterUser(ctx, conduit.Registration{Username: "jacob", Email: "jacob@example.com", Password: "password"}); err != nil {
		t.Fatalf("register with a released name: %v", err)
	}

	// A claim of the earlier kind (a stream of one unique.Claimed, freed
	// by removing it) is honoured.
	store, err := postgres.New(ctx, db, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := unique.New(store, claimStreams(t)).Claim(ctx, accounts.UsernameNamespace, accounts.UsernameKey("Elder"), "someone"); err != nil {
		t.Fatal(err)
	}
	_, err = app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("elder")})
	wantField(t, err, "username", validation.Taken)
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "elder", Email: "elder@example.com", Password: "password"})
	wantField(t, err, "username", validation.Taken)
	if err := unique.New(store, claimStreams(t)).Release(ctx, accounts.UsernameNamespace, accounts.UsernameKey("Elder"), "someone"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("elder")}); err != nil {
		t.Fatalf("take a name released the earlier way: %v", err)
	}
}

// TestConcurrentRenames: of many users renaming themselves to the same
// name at once, exactly one succeeds; the others are told it is taken.
func TestConcurrentRenames(t *testing.T) {
	ctx := context.Background()
	app, _ := newApp(t)
	const n = 12
	users := make([]conduit.User, n)
	for i := range users {
		users[i] = register(t, app, fmt.Sprintf("racer%d", i))
	}
	// The name was held and released before: every claim is refused once
	// as a new stream, then made at the released stream's version.
	holder := register(t, app, "prize")
	if _, err := app.UpdateUser(ctx, holder.ID, conduit.UserUpdate{Username: new("holder")}); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			_, errs[i] = app.UpdateUser(ctx, users[i].ID, conduit.UserUpdate{Username: new("Prize")})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantField(t, err, "username", validation.Taken)
	}
	if won != 1 {
		t.Fatalf("%d renames won, want 1", won)
	}
	// The losers keep their names.
	for i, u := range users {
		if errs[i] == nil {
			continue
		}
		if got, err := app.User(ctx, u.ID); err != nil || got.Username != u.Username {
			t.Fatalf("loser %d is %+v (%v), want unchanged", i, got, err)
		}
	}
}

// claimStreams returns the claim streams Conduit names with
// conduittest.ClaimsKey.
func claimStreams(tb testing.TB) *unique.Streams {
	tb.Helper()
	s, err := unique.NewStreams(unique.Config{Key: conduittest.ClaimsKey})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

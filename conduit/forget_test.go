package conduit_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/internal/pglocal"
	"github.com/cohort-dev/cohort/projectors"
)

// TestDeleteUserLeavesNothingInDump: Conduit forgets a deleted user with
// its own runtime (no Config.Forgetter): a dump of the whole database,
// event store and read model, then holds neither their email, bio,
// image nor password hash in any form a grep finds; their events still
// load (the aggregate answers as deleted, a rebuild from the first event
// decodes every one of them) and the rebuilt projections show the
// placeholder author.
func TestDeleteUserLeavesNothingInDump(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := startWith(t, db, nil, nil)
	const (
		email = "jake.the.keeper@dragons.example"
		bio   = "I keep dragons in Zanzibar"
		image = "https://i.example/jake-the-keeper.png"
	)
	jake, err := app.RegisterUser(ctx, conduit.Registration{Username: "jake", Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Bio: new(bio), Image: new(image)}); err != nil {
		t.Fatal(err)
	}
	art, err := app.PublishArticle(ctx, jake.ID, conduit.NewArticle{Title: "Dragons", Description: "d", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddComment(ctx, jake.ID, art.Slug, "mine"); err != nil {
		t.Fatal(err)
	}
	if err := app.DeleteUser(ctx, jake.ID); err != nil {
		t.Fatal(err)
	}

	dump := pgDump(t, db)
	for _, secret := range []string{email, bio, image, "$argon2id$"} {
		for _, form := range []string{secret, strings.ToLower(secret), hex.EncodeToString([]byte(secret)), strings.ReplaceAll(secret, "@", `\u0040`)} {
			if bytes.Contains(dump, []byte(form)) {
				t.Fatalf("the dump holds %q (as %q)", secret, form)
			}
		}
	}
	if !bytes.Contains(dump, []byte("cohort:pd1:")) {
		t.Fatal("the dump holds no sealed fields: not the right database?")
	}

	if err := app.DeleteUser(ctx, jake.ID); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("delete again: %v, want ErrNotFound", err)
	}
	caughtUp(t, db, app)
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt := startWith(t, db, nil, func(a *conduit.App) error { return a.Rebuild(ctx) })
	caughtUp(t, db, rebuilt)
	got, err := rebuilt.Article(ctx, "", art.Slug)
	if err != nil || got.Author.Username != projectors.DeletedUsername {
		t.Fatalf("the rebuilt article's author: %+v (%v)", got.Author, err)
	}
	assertNoTraceInReadModel(t, db, email, bio, image)
}

// pgDump returns a plain-text dump of db's whole database.
func pgDump(t *testing.T, db *pgxpool.Pool) []byte {
	t.Helper()
	bin, err := pglocal.FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), filepath.Join(bin, "pg_dump"), "--dbname="+db.Config().ConnString()).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return out
}

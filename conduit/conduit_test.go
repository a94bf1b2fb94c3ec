package conduit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/processmanagers"
)

func TestMain(m *testing.M) {
	conduittest.RegisterTemplate()
	pgtest.Main(m)
}

// newApp starts Conduit on a fresh migrated database.
func newApp(t *testing.T) (*conduit.App, *pgxpool.Pool) {
	t.Helper()
	db := conduittest.NewDatabase(t)
	return conduittest.Start(t, db, nil), db
}

func register(t *testing.T, app *conduit.App, name string) conduit.User {
	t.Helper()
	u, err := app.RegisterUser(context.Background(), conduit.Registration{Username: name, Email: name + "@example.com", Password: "password"})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return u
}

// wantField asserts that err is a validation error naming field with msg.
func wantField(t *testing.T, err error, field, msg string) {
	t.Helper()
	var verr validation.Errors
	if !errors.As(err, &verr) || !slices.Contains(verr[field], msg) {
		t.Fatalf("err = %v, want %s %q", err, field, msg)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	app, _ := newApp(t)
	jake := register(t, app, "jake")
	if jake.Username != "jake" || jake.Email != "jake@example.com" || jake.Bio != "" {
		t.Fatalf("registered %+v", jake)
	}

	_, err := app.RegisterUser(ctx, conduit.Registration{Username: "JAKE", Email: "other@example.com", Password: "password"})
	wantField(t, err, "username", validation.Taken)
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "other", Email: "Jake@Example.com", Password: "password"})
	wantField(t, err, "email", validation.Taken)
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "", Email: "x", Password: "short"})
	wantField(t, err, "username", validation.Blank)
	wantField(t, err, "email", validation.Invalid)

	if _, err := app.Login(ctx, "JAKE@example.com", "password"); err != nil {
		t.Fatalf("login: %v", err)
	}
	for _, tc := range []struct{ email, pass string }{{"jake@example.com", "wrong-password"}, {"nobody@example.com", "password"}} {
		if _, err := app.Login(ctx, tc.email, tc.pass); !errors.Is(err, conduit.ErrInvalidCredentials) {
			t.Fatalf("login %s/%s: %v", tc.email, tc.pass, err)
		}
	}

	// A rename frees the old username at once; the password changes.
	u, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("jacob"), Email: new("jacob@example.com"),
		Bio: new("I like to skateboard"), Password: new("new-password")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "jacob" || u.Bio != "I like to skateboard" {
		t.Fatalf("updated %+v", u)
	}
	if p, err := app.Profile(ctx, "", "jacob"); err != nil || p.Bio != "I like to skateboard" {
		t.Fatalf("profile after rename: %+v %v", p, err)
	}
	if _, err := app.Profile(ctx, "", "jake"); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("old profile: %v", err)
	}
	register(t, app, "jake") // the old username and email are free
	if _, err := app.Login(ctx, "jacob@example.com", "new-password"); err != nil {
		t.Fatalf("login with the new email and password: %v", err)
	}

	// Taking someone's username, or changing only its case.
	_, err = app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("Jake")})
	wantField(t, err, "username", validation.Taken)
	if u, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("Jacob")}); err != nil || u.Username != "Jacob" {
		t.Fatalf("case change: %+v %v", u, err)
	}
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "jacob", Email: "j2@example.com", Password: "password"})
	wantField(t, err, "username", validation.Taken)
	// An empty password in an update leaves the password alone.
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Password: new("")}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Login(ctx, "jacob@example.com", "new-password"); err != nil {
		t.Fatal(err)
	}
}

// TestAccountAnswers: RegisterUser and UpdateUser answer with the user
// as the read model shows them once they return (their answer is the
// aggregate's state, not a read); UpdateUser starts from the request's
// current user (WithCurrentUser) only when that is the user it updates.
func TestAccountAnswers(t *testing.T) {
	ctx := context.Background()
	app, _ := newApp(t)
	jake, amy := register(t, app, "jake"), register(t, app, "amy")
	readBack := func(got conduit.User) {
		t.Helper()
		want, err := app.User(ctx, got.ID)
		if err != nil || got != want {
			t.Fatalf("answered %+v, the read model shows %+v (%v)", got, want, err)
		}
	}
	readBack(jake)

	u, err := app.UpdateUser(conduit.WithCurrentUser(ctx, jake), jake.ID, conduit.UserUpdate{
		Username: new("jacob"), Bio: new("bio"), Image: new("https://example.com/j.png"), Password: new("new-password")})
	if err != nil || u.Username != "jacob" || u.Bio != "bio" || u.PasswordHash == jake.PasswordHash {
		t.Fatalf("updated %+v %v", u, err)
	}
	readBack(u)
	// A no-op answers with the user as they are.
	if u2, err := app.UpdateUser(conduit.WithCurrentUser(ctx, u), u.ID, conduit.UserUpdate{Bio: new("bio")}); err != nil || u2 != u {
		t.Fatalf("no-op update %+v %v, want %+v", u2, err, u)
	}
	// Another user in the context is not amy: amy's update reads amy.
	if _, err := app.UpdateUser(conduit.WithCurrentUser(ctx, u), amy.ID, conduit.UserUpdate{Username: new("jacob")}); err == nil {
		t.Fatal("amy took jacob's username: UpdateUser took jacob for amy")
	}
	a2, err := app.UpdateUser(conduit.WithCurrentUser(ctx, u), amy.ID, conduit.UserUpdate{Bio: new("amy's")})
	if err != nil || a2.Username != "amy" || a2.Bio != "amy's" {
		t.Fatalf("amy updated %+v %v", a2, err)
	}
	readBack(a2)
}

// TestConcurrentRegistrations: of many concurrent registrations of one
// username, exactly one succeeds, the others fail with "has already been
// taken", and no event of the losers remains.
func TestConcurrentRegistrations(t *testing.T) {
	ctx := context.Background()
	app, db := newApp(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = app.RegisterUser(ctx, conduit.Registration{
				Username: "race", Email: fmt.Sprintf("race%d@example.com", i), Password: "password"})
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
		t.Fatalf("%d registrations won, want 1", won)
	}
	var users, claims int
	err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE type = 'accounts.UserRegistered'),
		count(*) FILTER (WHERE type = 'unique.Claimed') FROM cohort.events`).Scan(&users, &claims)
	if err != nil {
		t.Fatal(err)
	}
	if users != 1 || claims != 2 {
		t.Fatalf("events: %d registrations and %d claims, want 1 and 2 (username, email)", users, claims)
	}
}

func TestArticles(t *testing.T) {
	ctx := context.Background()
	app, _ := newApp(t)
	jake, celeb := register(t, app, "jake"), register(t, app, "celeb")

	dragon := conduit.NewArticle{Title: "How to train your dragon", Description: "Ever wonder how?",
		Body: "Very carefully.", TagList: []string{"training", "dragons"}}
	a1, err := app.PublishArticle(ctx, jake.ID, dragon)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Slug != "how-to-train-your-dragon" || !slices.Equal(a1.TagList, []string{"dragons", "training"}) ||
		a1.Author.Username != "jake" || a1.CreatedAt.IsZero() {
		t.Fatalf("published %+v", a1)
	}
	a2, err := app.PublishArticle(ctx, celeb.ID, dragon)
	if err != nil || a2.Slug != "how-to-train-your-dragon-2" {
		t.Fatalf("same title: %q %v", a2.Slug, err)
	}

	// Only the author changes or deletes an article.
	if _, err := app.UpdateArticle(ctx, celeb.ID, a1.Slug, conduit.ArticleUpdate{Body: new("mine now")}); !errors.Is(err, conduit.ErrForbidden) {
		t.Fatalf("update by another: %v", err)
	}
	if err := app.DeleteArticle(ctx, celeb.ID, a1.Slug); !errors.Is(err, conduit.ErrForbidden) {
		t.Fatalf("delete by another: %v", err)
	}
	if _, err := app.UpdateArticle(ctx, jake.ID, "no-such-article", conduit.ArticleUpdate{}); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}

	// A new title makes a new slug and frees the old one.
	a1, err = app.UpdateArticle(ctx, jake.ID, a1.Slug, conduit.ArticleUpdate{Title: new("Dragons"), Body: new("With two hands")})
	if err != nil || a1.Slug != "dragons" || a1.Body != "With two hands" || !a1.UpdatedAt.After(a1.CreatedAt) {
		t.Fatalf("updated %+v %v", a1, err)
	}
	a3, err := app.PublishArticle(ctx, celeb.ID, dragon)
	if err != nil || a3.Slug != "how-to-train-your-dragon" {
		t.Fatalf("freed slug: %q %v", a3.Slug, err)
	}

	// Favorites and the feed.
	fav, err := app.FavoriteArticle(ctx, jake.ID, a2.Slug)
	if err != nil || !fav.Favorited || fav.FavoritesCount != 1 {
		t.Fatalf("favorite: %+v %v", fav, err)
	}
	if _, err := app.FavoriteArticle(ctx, jake.ID, a2.Slug); err != nil {
		t.Fatal(err)
	}
	list, n, err := app.Articles(ctx, "", conduit.ArticleFilter{FavoritedBy: "jake"}, conduit.Page{Limit: 20})
	if err != nil || n != 1 || list[0].Slug != a2.Slug || list[0].FavoritesCount != 1 {
		t.Fatalf("favorited by jake: %+v %d %v", list, n, err)
	}
	if _, err := app.Follow(ctx, jake.ID, "celeb"); err != nil {
		t.Fatal(err)
	}
	feed, n, err := app.Feed(ctx, jake.ID, conduit.Page{Limit: 20})
	if err != nil || n != 2 || feed[0].Slug != a3.Slug || feed[1].Slug != a2.Slug || !feed[0].Author.Following {
		t.Fatalf("feed: %+v %d %v", feed, n, err)
	}
	if _, err := app.Follow(ctx, jake.ID, "jake"); err == nil {
		t.Fatal("followed yourself")
	}
	if p, err := app.Unfollow(ctx, jake.ID, "celeb"); err != nil || p.Following {
		t.Fatalf("unfollow: %+v %v", p, err)
	}

	// Deleting frees the slug and removes the tags nobody uses.
	if err := app.DeleteArticle(ctx, jake.ID, "dragons"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Article(ctx, "", "dragons"); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("deleted article: %v", err)
	}
	if a, err := app.PublishArticle(ctx, celeb.ID, conduit.NewArticle{Title: "Dragons", Description: "d", Body: "b"}); err != nil || a.Slug != "dragons" {
		t.Fatalf("slug of a deleted article: %q %v", a.Slug, err)
	}
	tags, err := app.Tags(ctx)
	if err != nil || !slices.Equal(tags, []string{"dragons", "training"}) {
		t.Fatalf("tags %v %v", tags, err)
	}
}

func TestComments(t *testing.T) {
	ctx := context.Background()
	app, _ := newApp(t)
	jake, celeb := register(t, app, "jake"), register(t, app, "celeb")
	art, err := app.PublishArticle(ctx, jake.ID, conduit.NewArticle{Title: "T", Description: "d", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.AddComment(ctx, celeb.ID, art.Slug, "Thank you so much!")
	if err != nil || c.ID <= 0 || c.Body != "Thank you so much!" || c.Author.Username != "celeb" {
		t.Fatalf("comment %+v %v", c, err)
	}
	if _, err := app.AddComment(ctx, celeb.ID, "nope", "x"); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("comment on unknown: %v", err)
	}
	if err := app.DeleteComment(ctx, jake.ID, art.Slug, c.ID); !errors.Is(err, conduit.ErrForbidden) {
		t.Fatalf("delete another's comment: %v", err)
	}
	other, _ := app.PublishArticle(ctx, celeb.ID, conduit.NewArticle{Title: "Other", Description: "d", Body: "b"})
	if err := app.DeleteComment(ctx, celeb.ID, other.Slug, c.ID); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("delete through another article: %v", err)
	}
	if err := app.DeleteComment(ctx, celeb.ID, art.Slug, c.ID); err != nil {
		t.Fatal(err)
	}
	if cs, err := app.Comments(ctx, "", art.Slug, conduit.Page{}); err != nil || len(cs) != 0 {
		t.Fatalf("comments after delete: %+v %v", cs, err)
	}
	if err := app.DeleteComment(ctx, celeb.ID, art.Slug, c.ID); !errors.Is(err, conduit.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestRebuild: rebuilt projections, replayed from the origin when the
// application starts again, equal the originals.
func TestRebuild(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	jake, celeb := register(t, app, "jake"), register(t, app, "celeb")
	art, err := app.PublishArticle(ctx, jake.ID, conduit.NewArticle{Title: "T", Description: "d", Body: "b", TagList: []string{"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.FavoriteArticle(ctx, celeb.ID, art.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Follow(ctx, celeb.ID, "jake"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddComment(ctx, celeb.ID, art.Slug, "nice"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("jacob")}); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, db, app)
	before := dumpReadModel(t, db)
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}

	rebuilt := conduittest.Start(t, db, func(a *conduit.App) error { return a.Rebuild(ctx) })
	caughtUp(t, db, rebuilt)
	if after := dumpReadModel(t, db); after != before {
		t.Fatalf("rebuilt read model differs:\n got %s\nwant %s", after, before)
	}
	if _, err := rebuilt.Profile(ctx, "", "jacob"); err != nil {
		t.Fatal(err)
	}
}

// dumpReadModel returns the read model's rows as text, for comparing.
func dumpReadModel(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := db.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT string_agg(concat_ws(',', id, username, email, bio, created_at, updated_at), ';' ORDER BY id) FROM conduit.users),
		(SELECT string_agg(concat_ws(',', id, username), ';' ORDER BY id) FROM conduit.authors),
		(SELECT string_agg(concat_ws(',', id, seq, slug, favorites_count, tag_list, created_at), ';' ORDER BY id) FROM conduit.articles),
		(SELECT string_agg(concat_ws(',', name, article_count), ';' ORDER BY name) FROM conduit.tags),
		(SELECT string_agg(concat_ws(',', follower_id, article_id), ';' ORDER BY article_id) FROM conduit.feed),
		(SELECT string_agg(concat_ws(',', id, body), ';' ORDER BY id) FROM conduit.comments))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// caughtUp waits until the workflow has seen every event, then every
// projection every event, the workflow's commands' included. (The
// author's rename comes from the workflow, after the command returned.)
func caughtUp(t *testing.T, db *pgxpool.Pool, app *conduit.App) {
	t.Helper()
	ctx := context.Background()
	for _, names := range [][]string{{processmanagers.AuthorFromUserName}, app.ProjectionNames()} {
		var last int64
		if err := db.QueryRow(ctx, "SELECT max(position) FROM cohort.events").Scan(&last); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if err := app.Runtime().WaitFor(ctx, name, last); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestEventualAccountsAndHandlers: an application that runs some handlers
// only, with eventually consistent account use cases, keeps usernames
// unique, returns users as their commands left them, and leaves the
// handlers it does not run where they were.
func TestEventualAccountsAndHandlers(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	cfg := conduit.Config{Store: conduittest.NewStore(t, db), DB: db, ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey, Password: conduittest.FastPasswords}
	if _, err := conduit.NewTool(ctx, cfg, conduit.ToolOptions{Handlers: []string{"no-such-handler"}}); err == nil {
		t.Fatal("NewTool accepted an unknown handler")
	}
	app, err := conduit.NewTool(ctx, cfg, conduit.ToolOptions{EventualAccounts: true,
		Handlers: []string{"users", conduit.ClaimsHandler}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })

	jake := register(t, app, "jake")
	if jake.ID == "" || jake.Username != "jake" || jake.PasswordHash == "" {
		t.Fatalf("registered %+v", jake)
	}
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "Jake", Email: "other@example.com", Password: "password"})
	wantField(t, err, "username", validation.Taken)

	caughtUp := func() {
		t.Helper()
		head, err := app.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Runtime().WaitFor(ctx, "users", head); err != nil {
			t.Fatal(err)
		}
	}
	caughtUp()
	u, err := app.UpdateUser(ctx, jake.ID, conduit.UserUpdate{Username: new("jacob"), Bio: new("hi")})
	if err != nil || u.Username != "jacob" || u.Bio != "hi" || u.Email != jake.Email {
		t.Fatalf("updated %+v %v", u, err)
	}
	caughtUp()
	if p, err := app.Profile(ctx, "", "jacob"); err != nil || p.Bio != "hi" {
		t.Fatalf("profile %+v %v", p, err)
	}
	if err := app.Runtime().WaitFor(ctx, "blog", 1); err == nil {
		t.Fatal("the blog projection runs")
	}
	var authors int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM conduit.authors").Scan(&authors); err != nil || authors != 0 {
		t.Fatalf("%d authors (%v): the workflow runs", authors, err)
	}
}

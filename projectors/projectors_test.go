package projectors_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/projectors"
)

const schema = "conduit_test"

func TestMain(m *testing.M) {
	pgtest.RegisterTemplate("readmodel", func(ctx context.Context, connString string) error {
		pool, err := pgxpool.New(ctx, connString)
		if err != nil {
			return err
		}
		defer pool.Close()
		return projectors.Migrate(ctx, pool, schema)
	})
	pgtest.Main(m)
}

// fixture feeds synthetic events to the three projectors.
type fixture struct {
	t     *testing.T
	db    *pgxpool.Pool
	q     *projectors.Queries
	procs []*projectors.Projector
	log   []actors.Event
	pos   int64
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.NewPool(t, pgtest.NewDatabase(t, pgtest.FromTemplate("readmodel")))
	q, err := projectors.NewQueries(db, schema)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, q: q, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, p := range projectors.All(schema) {
		pr, err := projectors.NewProjector(db, schema, p)
		if err != nil {
			t.Fatal(err)
		}
		f.procs = append(f.procs, pr)
	}
	return f
}

// given projects events as one batch per projector.
func (f *fixture) given(payloads ...any) {
	f.t.Helper()
	var batch []actors.Event
	for _, p := range payloads {
		f.pos++
		f.now = f.now.Add(time.Second)
		batch = append(batch, actors.Event{Payload: p, Position: f.pos, CreatedAt: f.now})
	}
	f.log = append(f.log, batch...)
	f.project(batch)
}

func (f *fixture) project(batch []actors.Event) {
	f.t.Helper()
	for _, p := range f.procs {
		if err := p.HandleEvents(context.Background(), batch); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) articles(viewer string, filter projectors.ArticleFilter) ([]string, int) {
	f.t.Helper()
	as, n, err := f.q.Articles(context.Background(), viewer, filter, projectors.Page{Limit: 20})
	if err != nil {
		f.t.Fatal(err)
	}
	var slugs []string
	for _, a := range as {
		slugs = append(slugs, a.Slug)
	}
	return slugs, n
}

func (f *fixture) feed(viewer string) []string {
	f.t.Helper()
	as, n, err := f.q.Feed(context.Background(), viewer, projectors.Page{Limit: 20})
	if err != nil {
		f.t.Fatal(err)
	}
	var slugs []string
	for _, a := range as {
		slugs = append(slugs, a.Slug)
	}
	if n != len(slugs) {
		f.t.Fatalf("feed count %d, listed %d", n, len(slugs))
	}
	return slugs
}

func (f *fixture) tags() []string {
	f.t.Helper()
	tags, err := f.q.Tags(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return tags
}

// snapshot sums up the read model's tags, articles, feed and users.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var s string
	err := f.db.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT string_agg(name || ':' || article_count, ',' ORDER BY name) FROM conduit_test.tags),
		(SELECT string_agg(slug || ':' || favorites_count, ',' ORDER BY slug) FROM conduit_test.articles),
		(SELECT string_agg(follower_id || ':' || article_id, ',' ORDER BY article_id) FROM conduit_test.feed),
		(SELECT string_agg(username, ',' ORDER BY username) FROM conduit_test.users))`).Scan(&s)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func users() []any {
	return []any{
		accounts.UserRegistered{UserID: "u1", Username: "jake", Email: "Jake@Jake.jake", HashedPassword: "h1"},
		accounts.UserRegistered{UserID: "u2", Username: "celeb", Email: "celeb@jake.jake", HashedPassword: "h2"},
		blog.AuthorCreated{AuthorID: "u1", UserID: "u1", Username: "jake"},
		blog.AuthorCreated{AuthorID: "u2", UserID: "u2", Username: "celeb"},
	}
}

func publish(id, author, slug string, tags ...string) blog.ArticlePublished {
	return blog.ArticlePublished{ArticleID: id, AuthorID: author, Slug: slug, Title: slug, Description: "d", Body: "b", TagList: tags}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.given(users()...)
	f.given(
		accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake"},
		accounts.UserEmailChanged{UserID: "u1", Email: "jacob@jake.jake", Previous: "Jake@Jake.jake"},
		accounts.UserBioChanged{UserID: "u1", Bio: "I work at statefarm"},
		accounts.UserImageChanged{UserID: "u1", Image: "https://i.example/j.png"},
		accounts.UserPasswordChanged{UserID: "u1", HashedPassword: "h3"},
	)
	u, err := f.q.UserByEmailKey(ctx, accounts.EmailKey("JACOB@jake.jake"))
	if err != nil {
		t.Fatal(err)
	}
	want := projectors.User{ID: "u1", Username: "jacob", Email: "jacob@jake.jake", PasswordHash: "h3",
		Bio: "I work at statefarm", Image: "https://i.example/j.png"}
	if u != want {
		t.Fatalf("user %+v, want %+v", u, want)
	}
	if _, err := f.q.Profile(ctx, "", "jake"); err != projectors.ErrNotFound {
		t.Fatalf("old username: %v, want ErrNotFound", err)
	}
	f.given(blog.AuthorFollowed{AuthorID: "u1", FollowerID: "u2"})
	p, err := f.q.Profile(ctx, "u2", "jacob")
	if err != nil || !p.Following || p.Bio != "I work at statefarm" {
		t.Fatalf("profile %+v, %v", p, err)
	}
	if p, _ := f.q.Profile(ctx, "", "jacob"); p.Following {
		t.Fatal("an anonymous viewer follows")
	}
}

func TestArticlesTagsFavoritesFeed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.given(users()...)
	f.given(publish("a1", "u2", "dragons", "training", "dragons"), publish("a2", "u2", "cats", "cats"))
	f.given(blog.AuthorFollowed{AuthorID: "u2", FollowerID: "u1"})
	if got := f.feed("u1"); !slices.Equal(got, []string{"cats", "dragons"}) {
		t.Fatalf("feed after follow %v", got)
	}
	f.given(publish("a3", "u2", "birds", "birds"), publish("a4", "u1", "mine", "cats"))
	if got := f.feed("u1"); !slices.Equal(got, []string{"birds", "cats", "dragons"}) {
		t.Fatalf("feed after publish %v", got)
	}
	if got := f.tags(); !slices.Equal(got, []string{"birds", "cats", "dragons", "training"}) {
		t.Fatalf("tags %v", got)
	}
	if got, n := f.articles("", projectors.ArticleFilter{Tag: "cats"}); !slices.Equal(got, []string{"mine", "cats"}) || n != 2 {
		t.Fatalf("by tag %v %d", got, n)
	}
	if got, n := f.articles("", projectors.ArticleFilter{Author: "celeb"}); !slices.Equal(got, []string{"birds", "cats", "dragons"}) || n != 3 {
		t.Fatalf("by author %v %d", got, n)
	}

	f.given(blog.ArticleFavorited{ArticleID: "a1", FavoritedBy: "u1", FavoriteCount: 1})
	if got, n := f.articles("", projectors.ArticleFilter{FavoritedBy: "jake"}); !slices.Equal(got, []string{"dragons"}) || n != 1 {
		t.Fatalf("favorited by %v %d", got, n)
	}
	a, err := f.q.ArticleBySlug(ctx, "u1", "dragons")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Favorited || a.FavoritesCount != 1 || !a.Author.Following || a.Author.Username != "celeb" ||
		!slices.Equal(a.TagList, []string{"training", "dragons"}) || a.Body != "b" {
		t.Fatalf("article %+v", a)
	}
	if a, _ := f.q.ArticleBySlug(ctx, "", "dragons"); a.Favorited || a.Author.Following {
		t.Fatal("an anonymous viewer favorited or follows")
	}

	// Retag, rename, and delete.
	f.given(blog.ArticleUpdated{ArticleID: "a2", Slug: "kittens", PreviousSlug: "cats", Title: "Kittens",
		Description: "d", Body: "b", TagList: []string{"kittens"}})
	if _, err := f.q.ArticleBySlug(ctx, "", "cats"); err != projectors.ErrNotFound {
		t.Fatalf("old slug: %v", err)
	}
	if got := f.tags(); !slices.Equal(got, []string{"birds", "cats", "dragons", "kittens", "training"}) {
		t.Fatalf("tags after retag %v", got)
	}
	f.given(blog.ArticleDeleted{ArticleID: "a4", AuthorID: "u1", Slug: "mine"}, blog.ArticleDeleted{ArticleID: "a1", AuthorID: "u2", Slug: "dragons"})
	if got := f.tags(); !slices.Equal(got, []string{"birds", "kittens"}) {
		t.Fatalf("tags after delete %v", got)
	}
	if got, n := f.articles("", projectors.ArticleFilter{FavoritedBy: "jake"}); len(got) != 0 || n != 0 {
		t.Fatalf("favorites of a deleted article remain: %v", got)
	}
	f.given(blog.AuthorUnfollowed{AuthorID: "u2", FollowerID: "u1"})
	if got := f.feed("u1"); len(got) != 0 {
		t.Fatalf("feed after unfollow %v", got)
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	f.given(users()...)
	var evs []any
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		evs = append(evs, publish(s, "u1", s))
	}
	f.given(evs...)
	as, n, err := f.q.Articles(context.Background(), "", projectors.ArticleFilter{}, projectors.Page{Limit: 2, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 || len(as) != 2 || as[0].Slug != "d" || as[1].Slug != "c" {
		t.Fatalf("page %+v of %d", as, n)
	}
	as, n, _ = f.q.Articles(context.Background(), "", projectors.ArticleFilter{}, projectors.Page{Limit: 2, Offset: 10})
	if n != 5 || len(as) != 0 {
		t.Fatalf("past the end: %d articles of %d", len(as), n)
	}
}

func TestComments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.given(users()...)
	f.given(publish("a1", "u2", "dragons"))
	f.given(blog.ArticleCommented{CommentID: "c1", ArticleID: "a1", AuthorID: "u1", Body: "first"},
		blog.ArticleCommented{CommentID: "c2", ArticleID: "a1", AuthorID: "u2", Body: "second"})
	cs, err := f.q.Comments(ctx, "u2", "a1", projectors.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Body != "second" || cs[1].Author.Username != "jake" || cs[0].ID <= cs[1].ID {
		t.Fatalf("comments %+v", cs)
	}
	c, err := f.q.Comment(ctx, "", cs[1].ID)
	if err != nil || c.CommentID != "c1" || c.ArticleID != "a1" {
		t.Fatalf("comment %+v %v", c, err)
	}
	f.given(blog.CommentDeleted{CommentID: "c1", ArticleID: "a1", AuthorID: "u1"})
	if _, err := f.q.Comment(ctx, "", cs[1].ID); err != projectors.ErrNotFound {
		t.Fatalf("deleted comment: %v", err)
	}
	f.given(blog.ArticleDeleted{ArticleID: "a1", AuthorID: "u2", Slug: "dragons"})
	if cs, _ := f.q.Comments(ctx, "", "a1", projectors.Page{}); len(cs) != 0 {
		t.Fatalf("comments of a deleted article remain: %+v", cs)
	}
}

// TestRedeliveryAndRebuild: a batch delivered again changes nothing, and a
// rebuilt projection replayed from the origin equals the original.
func TestRedeliveryAndRebuild(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.given(users()...)
	f.given(publish("a1", "u2", "dragons", "dragons"), publish("a2", "u1", "cats", "dragons"),
		blog.ArticleFavorited{ArticleID: "a1", FavoritedBy: "u1", FavoriteCount: 1},
		blog.AuthorFollowed{AuthorID: "u2", FollowerID: "u1"})
	snapshot := f.snapshot
	before := snapshot()
	f.project(f.log) // everything again
	if after := snapshot(); after != before {
		t.Fatalf("redelivery changed the read model:\n%s\n%s", before, after)
	}

	if err := projectors.Rebuild(ctx, f.db, memory.New(), schema, projectors.All(schema)...); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); got != "" {
		t.Fatalf("rebuild left rows: %s", got)
	}
	f.project(f.log)
	if after := snapshot(); after != before {
		t.Fatalf("replay differs:\n%s\n%s", before, after)
	}
}

// failingAfter is a projection whose batch fails after n events, as a
// batch does when its process dies in the middle of it.
type failingAfter struct {
	projectors.Projection
	n int
}

func (p *failingAfter) Project(b *pgx.Batch, ev actors.Event) {
	if p.n--; p.n < 0 {
		b.Queue("SELECT 1/0")
		return
	}
	p.Projection.Project(b, ev)
}

// TestBatchCrashMidway: a batch that fails after some of its events leaves
// neither rows nor checkpoint; delivered again, in other batches that
// overlap, every event shows once, as in a read model that never failed.
func TestBatchCrashMidway(t *testing.T) {
	ctx := context.Background()
	evs := []any{publish("a1", "u2", "dragons", "dragons"), publish("a2", "u1", "cats", "dragons"),
		blog.ArticleFavorited{ArticleID: "a1", FavoritedBy: "u1", FavoriteCount: 1},
		blog.AuthorFollowed{AuthorID: "u2", FollowerID: "u1"}, publish("a3", "u2", "birds", "dragons")}
	want := newFixture(t)
	want.given(users()...)
	want.given(evs...)

	f := newFixture(t)
	f.given(users()...)
	before := f.snapshot()
	var batch []actors.Event
	for _, p := range evs {
		f.pos++
		f.now = f.now.Add(time.Second)
		batch = append(batch, actors.Event{Payload: p, Position: f.pos, CreatedAt: f.now})
	}
	crashing, err := projectors.NewProjector(f.db, schema, &failingAfter{Projection: projectors.NewBlogProjection(schema), n: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := crashing.HandleEvents(ctx, batch); err == nil {
		t.Fatal("the failing batch succeeded")
	}
	if got := f.snapshot(); got != before {
		t.Fatalf("a failed batch left rows:\n%s\n%s", before, got)
	}
	// Delivered again from the checkpoint, in overlapping batches.
	f.project(batch[:2])
	f.project(batch[1:4])
	f.project(batch)
	if got, w := f.snapshot(), want.snapshot(); got != w {
		t.Fatalf("after the redelivery:\n%s\nwant\n%s", got, w)
	}
}

// TestBatchOfNoConcern: a batch none of whose events concerns a projection
// advances its checkpoint (storing it if it was not yet: a rebuild
// compares its own with it), never back, and changes no row.
func TestBatchOfNoConcern(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.given(users()...) // nothing for the comments
	comments := func() int64 {
		t.Helper()
		var pos int64
		err := f.db.QueryRow(ctx, `SELECT position FROM conduit_test.projection_checkpoints WHERE name = $1`,
			projectors.CommentsName).Scan(&pos)
		if err != nil {
			t.Fatalf("comments checkpoint: %v", err)
		}
		return pos
	}
	if got := comments(); got != f.pos {
		t.Errorf("comments checkpoint %d after its first batch, of no concern, want %d", got, f.pos)
	}
	f.given(blog.ArticleCommented{CommentID: "c1", ArticleID: "a1", AuthorID: "u1", Body: "hi"})
	before := f.snapshot()
	f.given(accounts.UserBioChanged{UserID: "u1", Bio: "b"}, accounts.UserBioChanged{UserID: "u2", Bio: "c"})
	if got := comments(); got != f.pos {
		t.Errorf("comments checkpoint %d after a batch of no concern, want %d", got, f.pos)
	}
	f.project(f.log[:3]) // an older batch again
	if got := comments(); got != f.pos {
		t.Errorf("comments checkpoint %d after an older batch, want %d", got, f.pos)
	}
	if got := f.snapshot(); got != before {
		t.Errorf("read model:\n%s\nwant\n%s", got, before)
	}
}

// TestTagsCapped: the tag list is capped at MaxTags, keeping the most used
// tags, sorted by name.
func TestTagsCapped(t *testing.T) {
	f := newFixture(t)
	f.given(users()...)
	var many []string
	for i := range projectors.MaxTags + 10 {
		many = append(many, fmt.Sprintf("t%04d", i))
	}
	f.given(publish("a1", "u1", "many", many...), publish("a2", "u1", "popular", "t9999"), publish("a3", "u2", "popular-2", "t9999"))
	tags := f.tags()
	if len(tags) != projectors.MaxTags || !slices.IsSorted(tags) || !slices.Contains(tags, "t9999") {
		t.Fatalf("%d tags (sorted: %v, with the most used: %v), want %d sorted with the most used",
			len(tags), slices.IsSorted(tags), slices.Contains(tags, "t9999"), projectors.MaxTags)
	}
}

// TestCommentsCapped: a page of comments never exceeds MaxComments,
// whatever limit is asked for.
func TestCommentsCapped(t *testing.T) {
	f := newFixture(t)
	f.given(users()...)
	f.given(publish("a1", "u2", "dragons"))
	var evs []any
	for i := range projectors.MaxComments + 5 {
		evs = append(evs, blog.ArticleCommented{CommentID: fmt.Sprint("c", i), ArticleID: "a1", AuthorID: "u1", Body: fmt.Sprint(i)})
	}
	f.given(evs...)
	for _, limit := range []int{0, projectors.MaxComments + 5, 1 << 30} {
		cs, err := f.q.Comments(context.Background(), "", "a1", projectors.Page{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != projectors.MaxComments || cs[0].Body != fmt.Sprint(projectors.MaxComments+4) {
			t.Fatalf("limit %d: %d comments, newest %q; want the %d newest", limit, len(cs), cs[0].Body, projectors.MaxComments)
		}
	}
}

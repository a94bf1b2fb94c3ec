package blog_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

func ptr[T any](v T) *T { return &v }

// scenario is one given/when/then case for an aggregate.
type scenario struct {
	name      string
	given     []any
	when      any
	then      []any
	wantErr   error
	wantField string
}

// run plays each scenario with the test kit, on a case newCase starts:
// given events, when a command, then the events, the error, or a
// validation error on a field.
func run[A actors.Applier](t *testing.T, newCase func(testing.TB) *actorstest.AggregateCase[A], tests []scenario) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCase(t).Given(tt.given...).When(tt.when)
			switch {
			case tt.wantErr != nil:
				c.ThenError(tt.wantErr)
			case tt.wantField != "":
				var verr validation.Errors
				c.ThenErrorAs(&verr)
				if len(verr[tt.wantField]) == 0 {
					t.Fatalf("validation error %v names no %s", verr, tt.wantField)
				}
			default:
				c.Then(tt.then...)
			}
		})
	}
}

// aggregate starts cases on an aggregate that implements actors.Aggregate.
func aggregate[A actors.Aggregate](newAgg func() A) func(testing.TB) *actorstest.AggregateCase[A] {
	return func(tb testing.TB) *actorstest.AggregateCase[A] { return actorstest.Aggregate(tb, newAgg) }
}

// defined starts cases on an aggregate defined with actors.Define.
func defined[A actors.Applier](d *actors.Definition[A]) func(testing.TB) *actorstest.AggregateCase[A] {
	return func(tb testing.TB) *actorstest.AggregateCase[A] { return actorstest.Defined(tb, d) }
}

var created = blog.AuthorCreated{AuthorID: "a1", UserID: "a1", Username: "jake"}

func TestAuthor(t *testing.T) {
	run(t, aggregate(func() *blog.Author { return &blog.Author{} }), []scenario{
		{name: "create", when: blog.CreateAuthor{AuthorID: "a1", UserID: "a1", Username: "jake"}, then: []any{created}},
		{name: "create twice", given: []any{created}, when: blog.CreateAuthor{AuthorID: "a1", UserID: "a1", Username: "jake"}},
		{name: "rename", given: []any{created}, when: blog.ChangeAuthorUsername{AuthorID: "a1", Username: "jacob"},
			then: []any{blog.AuthorUsernameChanged{AuthorID: "a1", Username: "jacob"}}},
		{name: "rename to same", given: []any{created}, when: blog.ChangeAuthorUsername{AuthorID: "a1", Username: "jake"}},
		{name: "rename unknown", when: blog.ChangeAuthorUsername{AuthorID: "a1", Username: "x"}, wantErr: blog.ErrAuthorNotFound},
		{name: "follow", given: []any{created}, when: blog.FollowAuthor{AuthorID: "a1", FollowerID: "a2"},
			then: []any{blog.AuthorFollowed{AuthorID: "a1", FollowerID: "a2"}}},
		{name: "follow twice", given: []any{created, blog.AuthorFollowed{AuthorID: "a1", FollowerID: "a2"}},
			when: blog.FollowAuthor{AuthorID: "a1", FollowerID: "a2"}},
		{name: "follow yourself", given: []any{created}, when: blog.FollowAuthor{AuthorID: "a1", FollowerID: "a1"}, wantField: "profile"},
		{name: "follow unknown", when: blog.FollowAuthor{AuthorID: "a1", FollowerID: "a2"}, wantErr: blog.ErrAuthorNotFound},
		{name: "unfollow", given: []any{created, blog.AuthorFollowed{AuthorID: "a1", FollowerID: "a2"}},
			when: blog.UnfollowAuthor{AuthorID: "a1", FollowerID: "a2"},
			then: []any{blog.AuthorUnfollowed{AuthorID: "a1", FollowerID: "a2"}}},
		{name: "unfollow not followed", given: []any{created}, when: blog.UnfollowAuthor{AuthorID: "a1", FollowerID: "a2"}},
	})
}

var published = blog.ArticlePublished{ArticleID: "x1", AuthorID: "a1", Slug: "how-to-train-your-dragon",
	Title: "How to train your dragon", Description: "Ever wonder how?", Body: "Very carefully.", TagList: []string{"dragons", "training"}}

func TestArticle(t *testing.T) {
	run(t, aggregate(func() *blog.Article { return &blog.Article{} }), []scenario{
		{name: "publish normalizes tags",
			when: blog.PublishArticle{ArticleID: "x1", AuthorID: "a1", Slug: "how-to-train-your-dragon", Title: "How to train your dragon",
				Description: "Ever wonder how?", Body: "Very carefully.", TagList: []string{" training", "dragons", "training", ""}},
			then: []any{published}},
		{name: "publish without title", when: blog.PublishArticle{ArticleID: "x1", AuthorID: "a1", Slug: "s", Description: "d", Body: "b"},
			wantField: "title"},
		{name: "publish twice", given: []any{published}, when: blog.PublishArticle{ArticleID: "x1"}, wantErr: blog.ErrArticleExists},
		{name: "update body", given: []any{published}, when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a1", Body: ptr("With two hands")},
			then: []any{blog.ArticleUpdated{ArticleID: "x1", Slug: published.Slug, Title: published.Title,
				Description: published.Description, Body: "With two hands", TagList: published.TagList}}},
		{name: "update title and slug", given: []any{published},
			when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a1", Slug: "dragons", Title: ptr("Dragons")},
			then: []any{blog.ArticleUpdated{ArticleID: "x1", Slug: "dragons", PreviousSlug: published.Slug, Title: "Dragons",
				Description: published.Description, Body: published.Body, TagList: published.TagList}}},
		{name: "update nothing", given: []any{published}, when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a1", Body: ptr(published.Body)}},
		{name: "update to blank body", given: []any{published}, when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a1", Body: ptr(" ")},
			wantField: "body"},
		{name: "update by another", given: []any{published}, when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a2", Body: ptr("x")},
			wantErr: blog.ErrNotAuthor},
		{name: "update unknown", when: blog.UpdateArticle{ArticleID: "x1", UpdatedBy: "a1"}, wantErr: blog.ErrArticleNotFound},
		{name: "delete", given: []any{published}, when: blog.DeleteArticle{ArticleID: "x1", DeletedBy: "a1"},
			then: []any{blog.ArticleDeleted{ArticleID: "x1", AuthorID: "a1", Slug: published.Slug}}},
		{name: "delete by another", given: []any{published}, when: blog.DeleteArticle{ArticleID: "x1", DeletedBy: "a2"}, wantErr: blog.ErrNotAuthor},
		{name: "favorite deleted", given: []any{published, blog.ArticleDeleted{ArticleID: "x1"}},
			when: blog.FavoriteArticle{ArticleID: "x1", AuthorID: "a2"}, wantErr: blog.ErrArticleNotFound},
		{name: "favorite", given: []any{published}, when: blog.FavoriteArticle{ArticleID: "x1", AuthorID: "a2"},
			then: []any{blog.ArticleFavorited{ArticleID: "x1", FavoritedBy: "a2", FavoriteCount: 1}}},
		{name: "favorite twice", given: []any{published, blog.ArticleFavorited{ArticleID: "x1", FavoritedBy: "a2", FavoriteCount: 1}},
			when: blog.FavoriteArticle{ArticleID: "x1", AuthorID: "a2"}},
		{name: "second favorite counts", given: []any{published, blog.ArticleFavorited{ArticleID: "x1", FavoritedBy: "a2", FavoriteCount: 1}},
			when: blog.FavoriteArticle{ArticleID: "x1", AuthorID: "a1"},
			then: []any{blog.ArticleFavorited{ArticleID: "x1", FavoritedBy: "a1", FavoriteCount: 2}}},
		{name: "unfavorite", given: []any{published, blog.ArticleFavorited{ArticleID: "x1", FavoritedBy: "a2", FavoriteCount: 1}},
			when: blog.UnfavoriteArticle{ArticleID: "x1", AuthorID: "a2"},
			then: []any{blog.ArticleUnfavorited{ArticleID: "x1", UnfavoritedBy: "a2", FavoriteCount: 0}}},
		{name: "unfavorite not favorited", given: []any{published}, when: blog.UnfavoriteArticle{ArticleID: "x1", AuthorID: "a2"}},
	})
}

func TestComment(t *testing.T) {
	commented := blog.ArticleCommented{CommentID: "c1", ArticleID: "x1", AuthorID: "a2", Body: "Thank you so much!"}
	run(t, defined(blog.Comments()), []scenario{
		{name: "comment", when: blog.CommentOnArticle{CommentID: "c1", ArticleID: "x1", AuthorID: "a2", Body: "Thank you so much!"},
			then: []any{commented}},
		{name: "blank comment", when: blog.CommentOnArticle{CommentID: "c1", ArticleID: "x1", AuthorID: "a2", Body: ""}, wantField: "body"},
		{name: "delete", given: []any{commented}, when: blog.DeleteComment{CommentID: "c1", DeletedBy: "a2"},
			then: []any{blog.CommentDeleted{CommentID: "c1", ArticleID: "x1", AuthorID: "a2"}}},
		{name: "delete by another", given: []any{commented}, when: blog.DeleteComment{CommentID: "c1", DeletedBy: "a1"}, wantErr: blog.ErrNotAuthor},
		{name: "delete twice", given: []any{commented, blog.CommentDeleted{CommentID: "c1"}},
			when: blog.DeleteComment{CommentID: "c1", DeletedBy: "a2"}, wantErr: blog.ErrCommentNotFound},
		{name: "delete unknown", when: blog.DeleteComment{CommentID: "c1", DeletedBy: "a2"}, wantErr: blog.ErrCommentNotFound},
	})
}

func TestSlugify(t *testing.T) {
	tests := []struct{ title, want string }{
		{"How to train your dragon", "how-to-train-your-dragon"},
		{"  Crème brûlée: a how-to!  ", "creme-brulee-a-how-to"},
		{"C'est la vie", "c-est-la-vie"},
		{"日本語", ""},
		{"日本語 and Go 1.26", "and-go-1-26"},
		{"'; DROP TABLE articles;--", "drop-table-articles"},
		{strings.Repeat("word ", 40), strings.TrimSuffix(strings.Repeat("word-", 19), "-")},
	}
	for _, tt := range tests {
		if got := blog.Slugify(tt.title); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.title, got, tt.want)
		}
		if got := blog.Slugify(tt.title); len(got) > blog.MaxSlugLength {
			t.Errorf("Slugify(%q) is %d bytes", tt.title, len(got))
		}
	}
}

func TestTags(t *testing.T) {
	if got := blog.NormalizeTags(nil); got == nil || len(got) != 0 {
		t.Fatalf("NormalizeTags(nil) = %#v, want an empty list", got)
	}
	if got := blog.NormalizeTags([]string{"b", " a ", "b", "  "}); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("NormalizeTags = %q", got)
	}
	var errs validation.Errors
	blog.ValidateTags(&errs, []string{strings.Repeat("t", blog.MaxTagLength+1)})
	blog.ValidateTags(&errs, []string{"a\x00"})
	if len(errs["tagList"]) != 2 {
		t.Fatalf("ValidateTags: %v", errs)
	}
}

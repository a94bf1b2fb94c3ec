package blog

import (
	"errors"
	"slices"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// ArticleAggregate names the Article aggregate; streams "blog.Article-<id>".
const ArticleAggregate = "blog.Article"

// Domain errors about articles and comments.
var (
	// ErrArticleNotFound: no such article, or it was deleted.
	ErrArticleNotFound = errors.New("blog: article not found")
	// ErrArticleExists: PublishArticle for an article that exists.
	ErrArticleExists = errors.New("blog: article already exists")
	// ErrNotAuthor: only the author of an article or comment may change
	// or delete it.
	ErrNotAuthor = errors.New("blog: only the author may do this")
)

// Article is the Article aggregate's state.
type Article struct {
	ID          string          `json:"id"`
	AuthorID    string          `json:"author_id"`
	Slug        string          `json:"slug"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Body        string          `json:"body"`
	TagList     []string        `json:"tag_list"`
	FavoritedBy map[string]bool `json:"favorited_by,omitempty"`
	Deleted     bool            `json:"deleted,omitempty"`
}

// Execute implements actors.Aggregate.
func (a *Article) Execute(cmd any) ([]any, error) {
	if c, ok := cmd.(PublishArticle); ok {
		return a.publish(c)
	}
	if a.ID == "" || a.Deleted {
		return nil, ErrArticleNotFound
	}
	switch c := cmd.(type) {
	case UpdateArticle:
		return a.update(c)
	case DeleteArticle:
		if c.DeletedBy != a.AuthorID {
			return nil, ErrNotAuthor
		}
		return []any{ArticleDeleted{ArticleID: a.ID, AuthorID: a.AuthorID, Slug: a.Slug}}, nil
	case FavoriteArticle:
		if a.FavoritedBy[c.AuthorID] {
			return nil, nil
		}
		return []any{ArticleFavorited{ArticleID: a.ID, FavoritedBy: c.AuthorID, FavoriteCount: len(a.FavoritedBy) + 1}}, nil
	case UnfavoriteArticle:
		if !a.FavoritedBy[c.AuthorID] {
			return nil, nil
		}
		return []any{ArticleUnfavorited{ArticleID: a.ID, UnfavoritedBy: c.AuthorID, FavoriteCount: len(a.FavoritedBy) - 1}}, nil
	}
	return nil, &actors.UnregisteredCommandError{Type: commandName(cmd)}
}

func (a *Article) publish(c PublishArticle) ([]any, error) {
	if a.ID != "" {
		return nil, ErrArticleExists
	}
	tags := NormalizeTags(c.TagList)
	var errs validation.Errors
	ValidateArticle(&errs, c.Title, c.Description, c.Body, tags)
	if c.Slug == "" {
		errs.Add("slug", validation.Blank)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []any{ArticlePublished{
		ArticleID: c.ArticleID, AuthorID: c.AuthorID, Slug: c.Slug,
		Title: c.Title, Description: c.Description, Body: c.Body, TagList: tags,
	}}, nil
}

func (a *Article) update(c UpdateArticle) ([]any, error) {
	if c.UpdatedBy != a.AuthorID {
		return nil, ErrNotAuthor
	}
	next := ArticleUpdated{
		ArticleID: a.ID, Slug: a.Slug, Title: a.Title, Description: a.Description, Body: a.Body, TagList: a.TagList,
	}
	if c.Slug != "" && c.Slug != a.Slug {
		next.Slug, next.PreviousSlug = c.Slug, a.Slug
	}
	if c.Title != nil {
		next.Title = *c.Title
	}
	if c.Description != nil {
		next.Description = *c.Description
	}
	if c.Body != nil {
		next.Body = *c.Body
	}
	if c.TagList != nil {
		next.TagList = NormalizeTags(*c.TagList)
	}
	var errs validation.Errors
	ValidateArticle(&errs, next.Title, next.Description, next.Body, next.TagList)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if next.Slug == a.Slug && next.Title == a.Title && next.Description == a.Description &&
		next.Body == a.Body && slices.Equal(next.TagList, a.TagList) {
		return nil, nil
	}
	return []any{next}, nil
}

// Apply implements actors.Aggregate.
func (a *Article) Apply(ev any) {
	switch e := ev.(type) {
	case ArticlePublished:
		a.ID, a.AuthorID, a.Slug = e.ArticleID, e.AuthorID, e.Slug
		a.Title, a.Description, a.Body, a.TagList = e.Title, e.Description, e.Body, e.TagList
	case ArticleUpdated:
		a.Slug, a.Title, a.Description, a.Body, a.TagList = e.Slug, e.Title, e.Description, e.Body, e.TagList
	case ArticleDeleted:
		a.Deleted = true
	case ArticleFavorited:
		if a.FavoritedBy == nil {
			a.FavoritedBy = make(map[string]bool)
		}
		a.FavoritedBy[e.FavoritedBy] = true
	case ArticleUnfavorited:
		delete(a.FavoritedBy, e.UnfavoritedBy)
	}
}

package conduit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/projectors"
)

// Article is an article as a viewer sees it.
type Article = projectors.Article

// ArticleFilter selects articles; empty fields do not filter.
type ArticleFilter = projectors.ArticleFilter

// Page bounds a list.
type Page = projectors.Page

// NewArticle is the input of PublishArticle.
type NewArticle struct {
	Title       string
	Description string
	Body        string
	TagList     []string
}

// ArticleUpdate is the input of UpdateArticle; nil fields stay as they are.
type ArticleUpdate struct {
	Title       *string
	Description *string
	Body        *string
	TagList     *[]string
}

// Articles returns a page of the articles that match f, newest first, and
// how many match in all.
func (a *App) Articles(ctx context.Context, viewer string, f ArticleFilter, p Page) ([]Article, int, error) {
	arts, n, err := a.read.Articles(ctx, viewer, f, p)
	return arts, n, classify(err)
}

// Feed returns a page of the articles by the authors the viewer follows,
// newest first, and how many there are in all.
func (a *App) Feed(ctx context.Context, viewer string, p Page) ([]Article, int, error) {
	arts, n, err := a.read.Feed(ctx, viewer, p)
	return arts, n, classify(err)
}

// Article returns the article with the slug, or ErrNotFound.
func (a *App) Article(ctx context.Context, viewer, slug string) (Article, error) {
	art, err := a.read.ArticleBySlug(ctx, viewer, slug)
	return art, classify(err)
}

// PublishArticle publishes an article by author under a unique slug made
// from its title.
func (a *App) PublishArticle(ctx context.Context, author string, n NewArticle) (Article, error) {
	tags := blog.NormalizeTags(n.TagList)
	var errs validation.Errors
	blog.ValidateArticle(&errs, n.Title, n.Description, n.Body, tags)
	if err := errs.Err(); err != nil {
		return Article{}, err
	}
	id := newID()
	slug, claimed, err := a.claimSlug(ctx, id, n.Title)
	if err != nil {
		return Article{}, err
	}
	cmd := blog.PublishArticle{ArticleID: id, AuthorID: author, Slug: slug,
		Title: n.Title, Description: n.Description, Body: n.Body, TagList: tags}
	if _, err := a.dispatch(ctx, cmd, claimed); err != nil {
		return Article{}, err
	}
	return a.articleByID(ctx, author, id)
}

// UpdateArticle changes the user's article; a new title gives it a new
// slug.
func (a *App) UpdateArticle(ctx context.Context, user, slug string, u ArticleUpdate) (Article, error) {
	art, err := a.ownArticle(ctx, user, slug)
	if err != nil {
		return Article{}, err
	}
	var errs validation.Errors
	if u.Title != nil {
		validation.Text(&errs, "title", *u.Title, true, blog.MaxTitleLength)
	}
	if u.Description != nil {
		validation.Text(&errs, "description", *u.Description, true, blog.MaxDescriptionLength)
	}
	if u.Body != nil {
		validation.Text(&errs, "body", *u.Body, true, blog.MaxBodyLength)
	}
	if u.TagList != nil {
		tags := blog.NormalizeTags(*u.TagList)
		blog.ValidateTags(&errs, tags)
		u.TagList = &tags
	}
	if err := errs.Err(); err != nil {
		return Article{}, err
	}
	cmd := blog.UpdateArticle{ArticleID: art.ID, UpdatedBy: user,
		Title: u.Title, Description: u.Description, Body: u.Body, TagList: u.TagList}
	var claimed *claimed
	if u.Title != nil && blog.Slugify(*u.Title) != blog.Slugify(art.Title) {
		if cmd.Slug, claimed, err = a.claimSlug(ctx, art.ID, *u.Title); err != nil {
			return Article{}, err
		}
	}
	if _, err := a.dispatch(ctx, cmd, claimed); err != nil {
		return Article{}, err
	}
	return a.articleByID(ctx, user, art.ID)
}

// DeleteArticle deletes the user's article.
func (a *App) DeleteArticle(ctx context.Context, user, slug string) error {
	art, err := a.ownArticle(ctx, user, slug)
	if err != nil {
		return err
	}
	_, err = a.dispatch(ctx, blog.DeleteArticle{ArticleID: art.ID, DeletedBy: user}, nil)
	return err
}

// FavoriteArticle makes the article one of the user's favorites.
func (a *App) FavoriteArticle(ctx context.Context, user, slug string) (Article, error) {
	return a.favorite(ctx, user, slug, func(id string) any { return blog.FavoriteArticle{ArticleID: id, AuthorID: user} })
}

// UnfavoriteArticle removes the article from the user's favorites.
func (a *App) UnfavoriteArticle(ctx context.Context, user, slug string) (Article, error) {
	return a.favorite(ctx, user, slug, func(id string) any { return blog.UnfavoriteArticle{ArticleID: id, AuthorID: user} })
}

func (a *App) favorite(ctx context.Context, user, slug string, cmd func(article string) any) (Article, error) {
	art, err := a.Article(ctx, user, slug)
	if err != nil {
		return Article{}, err
	}
	if _, err := a.dispatch(ctx, cmd(art.ID), nil); err != nil {
		return Article{}, err
	}
	return a.articleByID(ctx, user, art.ID)
}

// Tags returns the tags of existing articles, sorted: the
// projectors.MaxTags most used ones.
func (a *App) Tags(ctx context.Context) ([]string, error) {
	tags, err := a.read.Tags(ctx)
	return tags, classify(err)
}

// ownArticle returns the article with the slug if user wrote it:
// ErrNotFound or ErrForbidden otherwise.
func (a *App) ownArticle(ctx context.Context, user, slug string) (Article, error) {
	art, err := a.Article(ctx, user, slug)
	if err != nil {
		return Article{}, err
	}
	if art.Author.ID != user {
		return Article{}, fmt.Errorf("%w: article %s is another user's", ErrForbidden, slug)
	}
	return art, nil
}

func (a *App) articleByID(ctx context.Context, viewer, id string) (Article, error) {
	art, err := a.read.ArticleByID(ctx, viewer, id)
	return art, classify(err)
}

// maxNumberedSlugs bounds the numbered slugs ("title-2", "title-3", ...)
// tried before a slug gets a random suffix.
const maxNumberedSlugs = 10

// claimSlug claims a unique slug for the article with a title: the
// title's slug, else the slug numbered from 2, else with a suffix from the
// article's id, which is unique.
func (a *App) claimSlug(ctx context.Context, article, title string) (string, *claimed, error) {
	suffix := strings.ReplaceAll(article, "-", "")
	suffix = suffix[len(suffix)-12:]
	base := blog.Slugify(title)
	if base == "" {
		base = "article"
	}
	for n := 1; ; n++ {
		slug := base
		switch {
		case n > maxNumberedSlugs:
			slug = base + "-" + suffix
		case n > 1:
			slug = fmt.Sprintf("%s-%d", base, n)
		}
		c, err := a.claim(ctx, article, claim{"title", slugs, slug})
		var verr validation.Errors
		switch {
		case err == nil:
			return slug, c, nil
		case errors.As(err, &verr) && n <= maxNumberedSlugs:
			continue // taken: try the next
		case errors.As(err, &verr):
			return "", nil, fmt.Errorf("conduit: no free slug for %q: %w", title, unique.ErrTaken)
		}
		return "", nil, err
	}
}

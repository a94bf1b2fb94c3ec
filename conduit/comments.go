package conduit

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/projectors"
)

// Comment is a comment as a viewer sees it.
type Comment = projectors.Comment

// AddComment comments on the article with the slug.
func (a *App) AddComment(ctx context.Context, author, slug, body string) (Comment, error) {
	var errs validation.Errors
	blog.ValidateComment(&errs, body)
	if err := errs.Err(); err != nil {
		return Comment{}, err
	}
	art, err := a.Article(ctx, author, slug)
	if err != nil {
		return Comment{}, err
	}
	res, err := a.dispatch(ctx, blog.CommentOnArticle{CommentID: newID(), ArticleID: art.ID, AuthorID: author, Body: body}, nil)
	if err != nil {
		return Comment{}, err
	}
	// The comment's integer id is the position of its event.
	c, err := a.read.Comment(ctx, author, res.Position)
	return c, classify(err)
}

// Comments returns a page of the comments on the article with the slug,
// newest first (at most projectors.MaxComments).
func (a *App) Comments(ctx context.Context, viewer, slug string, p Page) ([]Comment, error) {
	art, err := a.Article(ctx, viewer, slug)
	if err != nil {
		return nil, err
	}
	cs, err := a.read.Comments(ctx, viewer, art.ID, p)
	return cs, classify(err)
}

// DeleteComment deletes the user's comment with the id on the article
// with the slug.
func (a *App) DeleteComment(ctx context.Context, user, slug string, id int64) error {
	art, err := a.Article(ctx, user, slug)
	if err != nil {
		return err
	}
	c, err := a.read.Comment(ctx, user, id)
	switch {
	case errors.Is(err, projectors.ErrNotFound) || (err == nil && c.ArticleID != art.ID):
		return fmt.Errorf("%w: comment %d on %s", ErrNotFound, id, slug)
	case err != nil:
		return classify(err)
	}
	if c.Author.ID != user {
		return fmt.Errorf("%w: comment %d is another user's", ErrForbidden, id)
	}
	_, err = a.dispatch(ctx, blog.DeleteComment{CommentID: c.CommentID, DeletedBy: user}, nil)
	return err
}

package blog

import (
	"errors"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// CommentAggregate names the Comment aggregate; streams "blog.Comment-<id>".
const CommentAggregate = "blog.Comment"

// Domain errors about comments.
var (
	// ErrCommentNotFound: no such comment, or it was deleted.
	ErrCommentNotFound = errors.New("blog: comment not found")
	// ErrCommentExists: CommentOnArticle for a comment that exists.
	ErrCommentExists = errors.New("blog: comment already exists")
)

// Comment is the Comment aggregate's state. It only applies events; the
// functions Comments binds to each command decide them.
type Comment struct {
	ID        string `json:"id"`
	ArticleID string `json:"article_id"`
	AuthorID  string `json:"author_id"`
	Body      string `json:"body"`
	Deleted   bool   `json:"deleted,omitempty"`
}

// Comments defines the Comment aggregate with the runtime's typed API:
// its events, and for each command the function that decides it and the
// comment it goes to. Commenting starts a new comment, so its stream is
// not read first.
func Comments() *actors.Definition[*Comment] {
	comments := actors.Define[*Comment](actors.AggregateType{Name: CommentAggregate, Lifespan: commentLifespan{}},
		ArticleCommented{}, CommentDeleted{})
	actors.Handle(comments, func(m CommentOnArticle) string { return m.CommentID }, (*Comment).comment, actors.Creating())
	actors.Handle(comments, func(m DeleteComment) string { return m.CommentID }, (*Comment).delete)
	return comments
}

// comment decides CommentOnArticle.
func (c *Comment) comment(m CommentOnArticle) ([]any, error) {
	if c.ID != "" {
		return nil, ErrCommentExists
	}
	var errs validation.Errors
	ValidateComment(&errs, m.Body)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []any{ArticleCommented{CommentID: m.CommentID, ArticleID: m.ArticleID, AuthorID: m.AuthorID, Body: m.Body}}, nil
}

// delete decides DeleteComment: only its author deletes a comment.
func (c *Comment) delete(m DeleteComment) ([]any, error) {
	switch {
	case c.ID == "" || c.Deleted:
		return nil, ErrCommentNotFound
	case m.DeletedBy != c.AuthorID:
		return nil, ErrNotAuthor
	}
	return []any{CommentDeleted{CommentID: c.ID, ArticleID: c.ArticleID, AuthorID: c.AuthorID}}, nil
}

// Apply implements actors.Applier.
func (c *Comment) Apply(ev any) {
	switch e := ev.(type) {
	case ArticleCommented:
		c.ID, c.ArticleID, c.AuthorID, c.Body = e.CommentID, e.ArticleID, e.AuthorID, e.Body
	case CommentDeleted:
		c.Deleted = true
	}
}

// commentLifespan stops a comment's actor once it is deleted; otherwise
// it stays within the runtime's live-aggregate bound.
type commentLifespan struct{}

func (commentLifespan) AfterEvent(ev any) time.Duration {
	if _, ok := ev.(CommentDeleted); ok {
		return actors.StopNow
	}
	return time.Hour
}

func (commentLifespan) AfterCommand(any) time.Duration { return time.Hour }
func (commentLifespan) AfterError(error) time.Duration { return time.Hour }

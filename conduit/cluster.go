package conduit

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// registerDomainErrors names the errors Conduit's aggregates refuse
// commands with, so that a command that ran on another member of a cluster
// fails with errors that classify (and map to HTTP statuses) as they do
// when it ran here.
func registerDomainErrors(r *actors.Registry) error {
	sentinels := []struct {
		name string
		err  error
	}{
		{"conduit.accounts.UserNotFound", accounts.ErrUserNotFound},
		{"conduit.accounts.AlreadyRegistered", accounts.ErrAlreadyRegistered},
		{"conduit.blog.ArticleNotFound", blog.ErrArticleNotFound},
		{"conduit.blog.ArticleExists", blog.ErrArticleExists},
		{"conduit.blog.NotAuthor", blog.ErrNotAuthor},
		{"conduit.blog.AuthorNotFound", blog.ErrAuthorNotFound},
		{"conduit.blog.CommentNotFound", blog.ErrCommentNotFound},
		{"conduit.blog.CommentExists", blog.ErrCommentExists},
		{"conduit.unique.Taken", unique.ErrTaken},
		{"conduit.unique.NotClaimed", unique.ErrNotClaimed},
	}
	errs := []error{actors.RegisterErrorType[validation.Errors](r, "conduit.validation.Errors")}
	for _, s := range sentinels {
		errs = append(errs, r.RegisterError(s.name, s.err))
	}
	return errors.Join(errs...)
}

package conduit

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/projectors"
)

// Errors of the use cases, besides validation.Errors.
var (
	// ErrNotFound: no such user, profile, article or comment.
	ErrNotFound = errors.New("conduit: not found")
	// ErrForbidden: the resource belongs to another user.
	ErrForbidden = errors.New("conduit: forbidden")
	// ErrInvalidCredentials: no user has this email and password.
	ErrInvalidCredentials = errors.New("conduit: invalid email or password")
	// ErrOverloaded: too many password hashes are running or waiting (see
	// Config.MaxHashes); try again in a moment.
	ErrOverloaded = errors.New("conduit: overloaded: too many password hashes waiting")

	// ErrConflict: other writes to the same resource (an article, a
	// user) kept overtaking this one, through other processes that are not
	// members of one cluster, until the runtime's retries ran out. Nothing
	// was written; trying again is safe and will likely succeed.
	ErrConflict = errors.New("conduit: conflict: the resource was changed concurrently")

	// ErrUnavailable: the database is unreachable or restarting, or the
	// application did not answer in time or is stopping; trying again a
	// little later may succeed. The error's message says which.
	ErrUnavailable = errors.New("conduit: unavailable")
)

// classify turns errors of the runtime, the aggregates, the event store
// and the read model into the use cases' errors; other errors are returned
// as they are. A database that is unreachable or restarting becomes
// ErrUnavailable, recognised by SQLSTATE and error type.
func classify(err error) error {
	var verr validation.Errors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		return verr
	case errors.Is(err, projectors.ErrNotFound),
		errors.Is(err, accounts.ErrUserNotFound),
		errors.Is(err, blog.ErrAuthorNotFound),
		errors.Is(err, blog.ErrArticleNotFound),
		errors.Is(err, blog.ErrCommentNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, blog.ErrNotAuthor):
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, actors.ErrVersionConflict):
		// The aggregate's append kept losing to other writers past its
		// ConflictRetries (see actors.AggregateType), or a command's
		// expected version was not the aggregate's: refused, nothing
		// written.
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, actors.ErrTimeout), errors.Is(err, actors.ErrStopped), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := postgres.ClassifyUnavailable(err); errors.Is(err, eventstore.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// failedForSure reports whether a dispatch error means that the command
// appended nothing, so that the values claimed for it can be released. A
// timeout or a lost connection may hide a command that was stored: its
// claims are kept.
func failedForSure(err error) bool {
	return errors.Is(err, actors.ErrValidation) ||
		errors.Is(err, actors.ErrVersionConflict) ||
		errors.Is(err, actors.ErrStopped) ||
		errors.Is(err, actors.ErrUnregisteredCommand) ||
		errors.Is(err, actors.ErrMissingIdentity)
}

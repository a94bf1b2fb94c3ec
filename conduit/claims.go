package conduit

import (
	"context"
	"errors"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// slugs is the namespace of article slugs, owned by article ids.
// Usernames and emails are claimed by the accounts aggregate's own
// commands (see dispatchClaiming).
const slugs = "slug"

// claim is a unique value a use case needs, and the input field it came
// from.
type claim struct {
	field, namespace, value string
}

// claimed holds the claims one use case made, to release them if its
// command fails. A nil *claimed holds none.
type claimed struct {
	app   *App
	owner string
	made  []claim
}

// claim claims every value for owner. If any is taken it releases the
// claims it made and returns a validation.Errors naming each taken field.
func (a *App) claim(ctx context.Context, owner string, cs ...claim) (*claimed, error) {
	c := &claimed{app: a, owner: owner}
	var errs validation.Errors
	for _, cl := range cs {
		created, err := a.claims.Claim(ctx, cl.namespace, cl.value, owner)
		switch {
		case errors.Is(err, unique.ErrTaken):
			errs.Add(cl.field, validation.Taken)
		case err != nil:
			c.release(ctx)
			return nil, classify(err)
		case created:
			c.made = append(c.made, cl)
		}
	}
	if err := errs.Err(); err != nil {
		c.release(ctx)
		return nil, err
	}
	return c, nil
}

// release releases the claims, even when ctx is done.
func (c *claimed) release(ctx context.Context) {
	if c == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, cl := range c.made {
		if err := c.app.claims.Release(ctx, cl.namespace, cl.value, c.owner); err != nil {
			c.app.log.Error("releasing a claim failed; the value stays taken",
				"namespace", cl.namespace, "owner", c.owner, "err", err)
		}
	}
	c.made = nil
}

// releaser is the claims handler: it releases the slugs that events say
// are no longer used. It runs with strong consistency, so a slug is free
// again when the command that freed it returns.
//
// It also releases the usernames and emails that account events stored
// before claims were written with them (Claim 0) gave up, in a database
// upgraded with such releases pending: only a claim still at its first
// version, as those were made, so that a value its owner claimed again
// since, with a StreamWrite, stays claimed.
type releaser struct {
	claims *unique.Claims
}

// HandleEvent implements actors.EventHandler.
func (r *releaser) HandleEvent(ctx context.Context, ev actors.Event) error {
	switch e := ev.Payload.(type) {
	case accounts.UsernameChanged:
		if old := accounts.UsernameKey(e.Previous); e.Claim == 0 && old != "" && old != accounts.UsernameKey(e.Username) {
			return r.claims.ReleaseAt(ctx, accounts.UsernameNamespace, old, e.UserID, 1)
		}
	case accounts.UserEmailChanged:
		if old := accounts.EmailKey(e.Previous); e.Claim == 0 && old != "" && old != accounts.EmailKey(e.Email) {
			return r.claims.ReleaseAt(ctx, accounts.EmailNamespace, old, e.UserID, 1)
		}
	case blog.ArticleUpdated:
		if e.PreviousSlug != "" && e.PreviousSlug != e.Slug {
			return r.claims.Release(ctx, slugs, e.PreviousSlug, e.ArticleID)
		}
	case blog.ArticleDeleted:
		if e.Slug == "" {
			return nil
		}
		return r.claims.Release(ctx, slugs, e.Slug, e.ArticleID)
	}
	return nil
}

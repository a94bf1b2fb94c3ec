package conduit

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// keyClaim is a unique key an accounts command claims in the same append
// as its events, the input field it comes from, and the command's field
// holding the version to claim it at.
type keyClaim struct {
	field, namespace, key string
	at                    *int64
}

// maxClaimTries bounds how often an accounts command is dispatched again
// after a claim of a value released in the meantime was refused.
const maxClaimTries = 4

// dispatchClaiming dispatches the accounts command cmd returns, whose
// events claim the keys in claims (see accounts.RegisterUser), for owner.
// A claim refused because the value was released since, or is held by
// owner itself (a release of an earlier owner's events still pending), is
// tried again at the claim stream's version; a value another user holds
// is a validation error naming its field as taken.
func (a *App) dispatchClaiming(ctx context.Context, owner string, cmd func() any, claims []keyClaim, waits []string) (actors.Result, error) {
	for try := 1; ; try++ {
		res, err := a.dispatchAccount(ctx, cmd(), nil, waits) // the claims are the command's own
		var refused *actors.StreamWriteError
		if !errors.As(err, &refused) {
			return res, err
		}
		if !a.claiming(refused.Stream, claims) {
			// A release refused: the user's claim stream is not at the
			// version its events say it holds.
			return actors.Result{}, fmt.Errorf("conduit: %w", refused)
		}
		if err := a.claimVersions(ctx, owner, claims); err != nil {
			return actors.Result{}, err
		}
		if try == maxClaimTries {
			return actors.Result{}, fmt.Errorf("%w: claims refused %d times, the last on %s: %w", ErrUnavailable, try, refused.Stream, refused)
		}
	}
}

// claiming reports whether stream holds the claims of one of claims.
func (a *App) claiming(stream string, claims []keyClaim) bool {
	for _, c := range claims {
		if s, err := a.streams.Stream(c.namespace, c.key); err == nil && s == stream {
			return true
		}
	}
	return false
}

// claimVersions reads who holds each claim's value: it sets the version
// of the free ones (and of owner's own), and returns a validation.Errors
// naming the fields whose values another user holds.
func (a *App) claimVersions(ctx context.Context, owner string, claims []keyClaim) error {
	var errs validation.Errors
	for _, c := range claims {
		st, err := a.claims.State(ctx, c.namespace, c.key)
		switch {
		case err != nil:
			return classify(err)
		case st.Owner == "" || st.Owner == owner:
			*c.at = st.Version
		default:
			errs.Add(c.field, validation.Taken)
		}
	}
	return errs.Err()
}

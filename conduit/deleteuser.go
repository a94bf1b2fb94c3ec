package conduit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/projectors"
)

// Forgetter forgets a subject's personal data: once Forget returns, the
// events that carried it read with it replaced by a placeholder. Forget
// must be idempotent: it may be called again for a subject it forgot.
// The runtime's *actors.App, with encryption of personal fields, is one.
type Forgetter interface {
	Forget(ctx context.Context, subject string) error
}

// ForgetHandler names the handler that calls Config.Forgetter for each
// deleted user (see DeleteUser).
const ForgetHandler = "conduit.ForgetUsers"

// DeleteUser deletes the user with the id and forgets them: their
// username and email are released in the same atomic append as the
// UserDeleted event (anyone may register them again as it returns), the
// read model removes their row (their tokens stop working, their profile
// is gone) and their follows, and their articles and comments stay,
// shown by projectors.DeletedUsername. It returns once the forgetter
// (Config.Forgetter) has forgotten them (see ForgetHandler).
func (a *App) DeleteUser(ctx context.Context, id string) error {
	if _, err := a.currentUser(ctx, id); err != nil {
		return err
	}
	// It waits for the users projection (the user's row, so their tokens
	// stop working and their profile is gone) and the blog projection
	// (their follows and their author's name).
	res, err := a.dispatchWith(ctx, accounts.DeleteUser{UserID: id}, nil,
		actors.WithConsistency(actors.Strong, a.tool.running([]string{projectors.UsersName, projectors.BlogName})...))
	if err != nil || !a.tool.runs(ForgetHandler) {
		return err
	}
	// Bounded as a dispatch is: a Forgetter failing for long answers
	// ErrUnavailable while its handler keeps trying.
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DispatchTimeout)
	defer cancel()
	if err := a.runtime.WaitFor(ctx, ForgetHandler, res.Position); err != nil {
		return classify(fmt.Errorf("conduit: user %s is deleted; forgetting them is under way: %w", id, err))
	}
	return nil
}

// forgetter is the forget handler: it calls the Forgetter with the id of
// each deleted user, retried until it succeeds, so that a user whose
// deletion is stored is forgotten even if the process stops between the
// deletion and the forgetting. It is eventually consistent: other writes
// do not wait for it (DeleteUser does, with WaitFor).
type forgetter struct {
	f Forgetter
}

// HandleEvent implements actors.EventHandler.
func (f forgetter) HandleEvent(ctx context.Context, ev actors.Event) error {
	if e, ok := ev.Payload.(accounts.UserDeleted); ok {
		return f.f.Forget(ctx, e.UserID)
	}
	return nil
}

// forgetHandler returns the forget handler's configuration.
func forgetHandler(f Forgetter) actors.HandlerConfig {
	return actors.HandlerConfig{
		Name:    ForgetHandler,
		Handler: forgetter{f: f},
		OnError: actors.RetryPolicy(math.MaxInt, 50*time.Millisecond, time.Second),
	}
}

package processmanagers

import (
	"math"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
)

// AuthorFromUserName names the author workflow and its subscription.
const AuthorFromUserName = "blog.AuthorFromUser"

// AuthorFromUser is one user's author workflow: one instance per user.
type AuthorFromUser struct {
	// AuthorID is the author created for the user (the user's id).
	AuthorID string `json:"author_id"`
}

// Handle implements actors.ProcessManager.
func (p *AuthorFromUser) Handle(ev actors.Event) ([]any, error) {
	switch e := ev.Payload.(type) {
	case accounts.UserRegistered:
		return []any{blog.CreateAuthor{AuthorID: e.UserID, UserID: e.UserID, Username: e.Username}}, nil
	case accounts.UsernameChanged:
		return []any{blog.ChangeAuthorUsername{AuthorID: e.UserID, Username: e.Username}}, nil
	}
	return nil, nil
}

// Apply implements actors.ProcessManager.
func (p *AuthorFromUser) Apply(event any) {
	if e, ok := event.(accounts.UserRegistered); ok {
		p.AuthorID = e.UserID
	}
}

// authorInterest routes the events that concern the workflow to the
// instance of their user.
func authorInterest(ev actors.Event) []actors.Interest {
	switch e := ev.Payload.(type) {
	case accounts.UserRegistered:
		return []actors.Interest{actors.StartProcess(e.UserID)}
	case accounts.UsernameChanged:
		return []actors.Interest{actors.ContinueProcess(e.UserID)}
	}
	return nil
}

// AuthorFromUserConfig returns the workflow's registration, strongly
// consistent. A command its aggregate refuses cannot succeed later and is
// skipped (the runtime logs it); other failures, such as a database
// outage, are retried until they pass, at most a second apart, since
// strongly consistent dispatches wait for the workflow.
func AuthorFromUserConfig() actors.ProcessManagerConfig {
	return actors.ProcessManagerConfig{
		Name:        AuthorFromUserName,
		New:         func() actors.ProcessManager { return &AuthorFromUser{} },
		Interested:  authorInterest,
		Consistency: actors.Strong,
		OnError:     actors.RetryThenSkip(math.MaxInt, 50*time.Millisecond, time.Second),
	}
}

// Register registers Conduit's process managers with app.
func Register(app *actors.App) error {
	return app.RegisterProcessManager(AuthorFromUserConfig())
}

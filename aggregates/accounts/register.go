package accounts

import (
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
)

// Register registers the context's events, the User aggregate and its
// command routes with app; the users claim their usernames and emails in
// the claim streams streams names.
func Register(app *actors.App, streams *unique.Streams) error {
	if streams == nil {
		return errors.New("accounts: Register: no claim streams")
	}
	if err := RegisterEvents(app.Registry()); err != nil {
		return err
	}
	if err := app.RegisterAggregate(actors.AggregateType{
		Name:          AggregateType,
		New:           func() actors.Aggregate { return NewUser(streams) },
		SnapshotEvery: 50,
	}); err != nil {
		return err
	}
	// A registration starts a new user: no need to read its stream first.
	if err := actors.Route(app, AggregateType, func(c RegisterUser) string { return c.UserID }, actors.Creating()); err != nil {
		return err
	}
	if err := actors.Route(app, AggregateType, func(c UpdateUser) string { return c.UserID }); err != nil {
		return err
	}
	return actors.Route(app, AggregateType, func(c DeleteUser) string { return c.UserID })
}

func commandName(cmd any) string { return fmt.Sprintf("%T", cmd) }

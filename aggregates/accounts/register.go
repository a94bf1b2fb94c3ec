package accounts

import (
	"fmt"

	"github.com/cohort-dev/cohort/actors"
)

// Register registers the context's events, the User aggregate and its
// command routes with app.
func Register(app *actors.App) error {
	if err := RegisterEvents(app.Registry()); err != nil {
		return err
	}
	if err := app.RegisterAggregate(actors.AggregateType{
		Name:          AggregateType,
		New:           func() actors.Aggregate { return &User{} },
		SnapshotEvery: 50,
	}); err != nil {
		return err
	}
	// A registration starts a new user: no need to read its stream first.
	if err := actors.Route(app, AggregateType, func(c RegisterUser) string { return c.UserID }, actors.Creating()); err != nil {
		return err
	}
	return actors.Route(app, AggregateType, func(c UpdateUser) string { return c.UserID })
}

func commandName(cmd any) string { return fmt.Sprintf("%T", cmd) }

package accounts

import (
	"github.com/cohort-dev/cohort/actors"
)

// Users defines the User aggregate: its events, and the function that
// decides each of its commands.
func Users() *actors.Definition[*User] {
	users := actors.Define[*User](actors.AggregateType{Name: AggregateType, SnapshotEvery: 50}, events...)
	// A registration starts a new user: no need to read its stream first.
	actors.Handle(users, func(c RegisterUser) string { return c.UserID }, (*User).register, actors.Creating())
	actors.Handle(users, func(c UpdateUser) string { return c.UserID }, (*User).update)
	return users
}

// Register registers the context's events, the User aggregate and its
// command routes with app.
func Register(app *actors.App) error { return app.Register(Users()) }

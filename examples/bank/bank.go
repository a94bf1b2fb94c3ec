// Package bank is a small bank on Cohort: an Account aggregate (open,
// deposit, withdraw, refused on insufficient funds), a Transfer aggregate
// that records transfers, a TransferProcess that moves the money between
// accounts and compensates when an account refuses, and a Balances read
// model. Register wires them into an application.
package bank

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
)

// Register registers the bank's aggregates (with their events and
// routes), read model and process manager with app, before app.Start.
func Register(app *actors.App, balances *Balances) error {
	return errors.Join(
		app.Register(Accounts(), Transfers()),
		app.RegisterHandler(actors.HandlerConfig{Name: "balances", Handler: balances,
			Consistency: actors.Strong, Transient: true}),
		app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name:    "transfers",
			New:     func() actors.ProcessManager { return &TransferProcess{} },
			OnError: TransferErrorPolicy,
		}),
	)
}

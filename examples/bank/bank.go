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

// Register registers the bank's events, aggregates, routes, read model and
// process manager with app, before app.Start.
func Register(app *actors.App, balances *Balances) error {
	reg := app.Registry()
	return errors.Join(
		actors.RegisterEvent[AccountOpened](reg, "bank.AccountOpened"),
		actors.RegisterEvent[MoneyDeposited](reg, "bank.MoneyDeposited"),
		actors.RegisterEvent[MoneyWithdrawn](reg, "bank.MoneyWithdrawn"),
		actors.RegisterEvent[TransferRequested](reg, "bank.TransferRequested"),
		actors.RegisterEvent[TransferCompleted](reg, "bank.TransferCompleted"),
		actors.RegisterEvent[TransferFailed](reg, "bank.TransferFailed"),

		app.RegisterAggregate(actors.AggregateType{Name: "account", New: func() actors.Aggregate { return &Account{} }}),
		actors.Route(app, "account", func(c OpenAccount) string { return c.AccountID }, actors.Creating()),
		actors.Route(app, "account", func(c DepositMoney) string { return c.AccountID }),
		actors.Route(app, "account", func(c WithdrawMoney) string { return c.AccountID }),

		app.RegisterAggregate(actors.AggregateType{Name: "transfer", New: func() actors.Aggregate { return &Transfer{} }}),
		actors.Route(app, "transfer", func(c RequestTransfer) string { return c.TransferID }, actors.Creating()),
		actors.Route(app, "transfer", func(c CompleteTransfer) string { return c.TransferID }),
		actors.Route(app, "transfer", func(c FailTransfer) string { return c.TransferID }),

		app.RegisterHandler(actors.HandlerConfig{Name: "balances", Handler: balances, Consistency: actors.Strong}),
		app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name:       "transfers",
			New:        func() actors.ProcessManager { return &TransferProcess{} },
			Interested: TransferInterest,
			OnError:    TransferErrorPolicy,
		}),
	)
}

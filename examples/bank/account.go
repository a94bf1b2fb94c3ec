package bank

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
)

// Commands to an account. Amounts are in cents.
type (
	// OpenAccount opens the account AccountID for Owner.
	OpenAccount struct{ AccountID, Owner string }
	// DepositMoney adds Amount to the account; TransferID is set when a
	// transfer deposits.
	DepositMoney struct {
		AccountID  string
		Amount     int64
		TransferID string
	}
	// WithdrawMoney takes Amount from the account; TransferID is set when a
	// transfer withdraws.
	WithdrawMoney struct {
		AccountID  string
		Amount     int64
		TransferID string
	}
)

// Events of an account.
type (
	// AccountOpened records that an account was opened.
	AccountOpened struct{ AccountID, Owner string }
	// MoneyDeposited records a deposit.
	MoneyDeposited struct {
		AccountID  string
		Amount     int64
		TransferID string
	}
	// MoneyWithdrawn records a withdrawal.
	MoneyWithdrawn struct {
		AccountID  string
		Amount     int64
		TransferID string
	}
)

// Errors an account refuses commands with.
var (
	ErrAccountExists     = errors.New("bank: account already open")
	ErrAccountNotOpen    = errors.New("bank: account not open")
	ErrInvalidAmount     = errors.New("bank: amount must be positive")
	ErrInsufficientFunds = errors.New("bank: insufficient funds")
)

// Account is the account aggregate's state: whether it is open, and its
// balance. It only applies events; the functions Accounts binds to each
// command decide them.
type Account struct {
	Open    bool
	Balance int64
}

// Accounts defines the account aggregate: its events, and for each
// command the function that decides it and the account it goes to (the
// stream is account-<AccountID>).
func Accounts() *actors.Definition[*Account] {
	accounts := actors.Define[*Account](actors.AggregateType{Name: "account"},
		AccountOpened{}, MoneyDeposited{}, MoneyWithdrawn{})
	actors.Handle(accounts, func(c OpenAccount) string { return c.AccountID }, (*Account).open, actors.Creating())
	actors.Handle(accounts, func(c DepositMoney) string { return c.AccountID }, (*Account).deposit)
	actors.Handle(accounts, func(c WithdrawMoney) string { return c.AccountID }, (*Account).withdraw)
	return accounts
}

// open decides OpenAccount: it returns the events the command causes or
// the reason it is refused, and does not change the account.
func (a *Account) open(c OpenAccount) ([]any, error) {
	if a.Open {
		return nil, ErrAccountExists
	}
	return []any{AccountOpened(c)}, nil
}

func (a *Account) deposit(c DepositMoney) ([]any, error) {
	if err := a.canMove(c.Amount); err != nil {
		return nil, err
	}
	return []any{MoneyDeposited(c)}, nil
}

func (a *Account) withdraw(c WithdrawMoney) ([]any, error) {
	if err := a.canMove(c.Amount); err != nil {
		return nil, err
	}
	if c.Amount > a.Balance {
		return nil, ErrInsufficientFunds
	}
	return []any{MoneyWithdrawn(c)}, nil
}

// canMove checks what deposits and withdrawals have in common.
func (a *Account) canMove(amount int64) error {
	switch {
	case !a.Open:
		return ErrAccountNotOpen
	case amount <= 0:
		return ErrInvalidAmount
	}
	return nil
}

// Apply changes the account by one of its events.
func (a *Account) Apply(event any) {
	switch e := event.(type) {
	case AccountOpened:
		a.Open = true
	case MoneyDeposited:
		a.Balance += e.Amount
	case MoneyWithdrawn:
		a.Balance -= e.Amount
	}
}

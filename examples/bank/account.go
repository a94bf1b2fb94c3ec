package bank

import (
	"errors"
	"fmt"
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

// Account is the account aggregate: it decides on commands against its
// balance.
type Account struct {
	Open    bool
	Balance int64
}

// Execute decides on a command: it returns the events the command causes or
// the reason it is refused, and does not change the account.
func (a *Account) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case OpenAccount:
		if a.Open {
			return nil, ErrAccountExists
		}
		return []any{AccountOpened(c)}, nil
	case DepositMoney:
		if err := a.canMove(c.Amount); err != nil {
			return nil, err
		}
		return []any{MoneyDeposited(c)}, nil
	case WithdrawMoney:
		if err := a.canMove(c.Amount); err != nil {
			return nil, err
		}
		if c.Amount > a.Balance {
			return nil, ErrInsufficientFunds
		}
		return []any{MoneyWithdrawn(c)}, nil
	}
	return nil, fmt.Errorf("bank: account: unknown command %T", cmd)
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

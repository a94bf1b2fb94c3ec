package bank_test

import (
	"testing"

	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/examples/bank"
)

func TestAccount(t *testing.T) {
	opened := bank.AccountOpened{AccountID: "a", Owner: "Ann"}
	tests := []struct {
		name  string
		given []any
		when  any
		then  []any // the events, when err is nil
		err   error
	}{
		{"open", nil, bank.OpenAccount{AccountID: "a", Owner: "Ann"}, []any{opened}, nil},
		{"open twice", []any{opened}, bank.OpenAccount{AccountID: "a"}, nil, bank.ErrAccountExists},
		{"deposit", []any{opened}, bank.DepositMoney{AccountID: "a", Amount: 5},
			[]any{bank.MoneyDeposited{AccountID: "a", Amount: 5}}, nil},
		{"deposit before open", nil, bank.DepositMoney{AccountID: "a", Amount: 5}, nil, bank.ErrAccountNotOpen},
		{"deposit nothing", []any{opened}, bank.DepositMoney{AccountID: "a"}, nil, bank.ErrInvalidAmount},
		{"withdraw", []any{opened, bank.MoneyDeposited{Amount: 5}}, bank.WithdrawMoney{AccountID: "a", Amount: 5},
			[]any{bank.MoneyWithdrawn{AccountID: "a", Amount: 5}}, nil},
		{"withdraw too much", []any{opened, bank.MoneyDeposited{Amount: 5}}, bank.WithdrawMoney{AccountID: "a", Amount: 6},
			nil, bank.ErrInsufficientFunds},
		{"withdraw after withdrawals", []any{opened, bank.MoneyDeposited{Amount: 5}, bank.MoneyWithdrawn{Amount: 4}},
			bank.WithdrawMoney{AccountID: "a", Amount: 2}, nil, bank.ErrInsufficientFunds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := actorstest.Defined(t, bank.Accounts()).Given(tt.given...).When(tt.when)
			if tt.err != nil {
				c.ThenError(tt.err)
			} else {
				c.Then(tt.then...)
			}
		})
	}
}

func TestAccountBalance(t *testing.T) {
	c := actorstest.Defined(t, bank.Accounts()).
		When(bank.OpenAccount{AccountID: "a"}).
		When(bank.DepositMoney{AccountID: "a", Amount: 10}).
		When(bank.WithdrawMoney{AccountID: "a", Amount: 3})
	if got := c.State().Balance; got != 7 {
		t.Errorf("balance %d, want 7", got)
	}
}

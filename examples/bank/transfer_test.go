package bank_test

import (
	"fmt"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/examples/bank"
)

func newTransfer() actors.Aggregate { return &bank.Transfer{} }

func newTransferProcess() actors.ProcessManager { return &bank.TransferProcess{} }

var requested = bank.TransferRequested{TransferID: "t", From: "a", To: "b", Amount: 5}

func TestTransfer(t *testing.T) {
	actorstest.Aggregate(t, newTransfer).
		When(bank.RequestTransfer(requested)).
		Then(requested).
		When(bank.RequestTransfer(requested)).
		ThenError(bank.ErrTransferExists).
		When(bank.CompleteTransfer{TransferID: "t"}).
		Then(bank.TransferCompleted{TransferID: "t"}).
		When(bank.FailTransfer{TransferID: "t"}).
		ThenError(bank.ErrTransferNotPending)

	for _, req := range []bank.RequestTransfer{
		{TransferID: "t", From: "a", To: "a", Amount: 5},
		{TransferID: "t", From: "a", To: "b"},
		{TransferID: "t", To: "b", Amount: 5},
	} {
		actorstest.Aggregate(t, newTransfer).When(req).ThenError(bank.ErrTransferInvalid)
	}
}

func TestTransferProcess(t *testing.T) {
	withdrawn := bank.MoneyWithdrawn{AccountID: "a", Amount: 5, TransferID: "t"}
	actorstest.Process(t, newTransferProcess).
		When(requested).
		Then(bank.WithdrawMoney{AccountID: "a", Amount: 5, TransferID: "t"}).
		When(withdrawn).
		Then(bank.DepositMoney{AccountID: "b", Amount: 5, TransferID: "t"}).
		When(bank.MoneyDeposited{AccountID: "b", Amount: 5, TransferID: "t"}).
		Then(bank.CompleteTransfer{TransferID: "t"})

	// The deposit was refused and the policy refunded a.
	actorstest.Process(t, newTransferProcess).
		Given(requested, withdrawn).
		When(bank.MoneyDeposited{AccountID: "a", Amount: 5, TransferID: "t"}).
		Then(bank.FailTransfer{TransferID: "t", Reason: "deposit refused, refunded"})
}

// TestTransferErrorPolicy calls the policy directly: actorstest.Process
// does not run a process manager's error policy.
func TestTransferErrorPolicy(t *testing.T) {
	refused := func(err error) error {
		return &actors.ValidationError{Aggregate: "account", ID: "a", Err: err}
	}
	withdraw := bank.WithdrawMoney{AccountID: "a", Amount: 5, TransferID: "t"}
	deposit := bank.DepositMoney{AccountID: "b", Amount: 5, TransferID: "t"}
	withdrawn := actors.Event{Payload: bank.MoneyWithdrawn{AccountID: "a", Amount: 5, TransferID: "t"}}
	tests := []struct {
		name string
		f    actors.Failure
		want actors.Decision
	}{
		{"withdrawal refused", actors.Failure{Err: refused(bank.ErrInsufficientFunds), Command: withdraw, Attempts: 1},
			actors.Compensate(bank.FailTransfer{TransferID: "t", Reason: "bank: insufficient funds"})},
		{"deposit refused", actors.Failure{Err: refused(bank.ErrAccountNotOpen), Command: deposit, Event: withdrawn, Attempts: 1},
			actors.Compensate(bank.DepositMoney{AccountID: "a", Amount: 5, TransferID: "t"})},
		{"other failure", actors.Failure{Err: fmt.Errorf("store down"), Command: deposit, Event: withdrawn, Attempts: 1},
			actors.DefaultErrorPolicy(actors.Failure{Attempts: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A Decision's fields are unexported, but it compares with ==.
			if got := bank.TransferErrorPolicy(tt.f); got != tt.want {
				t.Errorf("decision %v, want %v", got, tt.want)
			}
		})
	}
}

package bank_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/examples/bank"
)

func newTransferProcess() *bank.TransferProcess { return &bank.TransferProcess{} }

var requested = bank.TransferRequested{TransferID: "t", From: "a", To: "b", Amount: 5}

func TestTransfer(t *testing.T) {
	actorstest.Defined(t, bank.Transfers()).
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
		actorstest.Defined(t, bank.Transfers()).When(req).ThenError(bank.ErrTransferInvalid)
	}
}

func TestTransferProcess(t *testing.T) {
	withdrawn := bank.MoneyWithdrawn{AccountID: "a", Amount: 5, TransferID: "t"}
	actorstest.Process(t, newTransferProcess).
		Routes(requested, actors.StartProcess("t")).
		Routes(withdrawn, actors.ContinueProcess("t")).
		Routes(bank.MoneyDeposited{AccountID: "b", Amount: 5}). // outside transfers
		Routes(bank.TransferFailed{TransferID: "t"}, actors.StopProcess("t")).
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

// TestTransferErrorPolicy: a refusal is compensated at once, from the
// process's state; any other failure is retried, then skipped, by the
// default policy, which never stops the process manager.
func TestTransferErrorPolicy(t *testing.T) {
	withdraw := bank.WithdrawMoney{AccountID: "a", Amount: 5, TransferID: "t"}
	deposit := bank.DepositMoney{AccountID: "b", Amount: 5, TransferID: "t"}
	withdrawn := bank.MoneyWithdrawn{AccountID: "a", Amount: 5, TransferID: "t"}

	actorstest.Process(t, newTransferProcess).WithPolicy(bank.TransferErrorPolicy).
		When(requested).
		CommandFails(withdraw, actorstest.Refusal(bank.ErrInsufficientFunds)).
		ThenDecision(actors.Compensate(bank.FailTransfer{TransferID: "t", Reason: bank.ErrInsufficientFunds.Error()}))

	actorstest.Process(t, newTransferProcess).WithPolicy(bank.TransferErrorPolicy).
		Given(requested).
		When(withdrawn).
		CommandFails(deposit, actorstest.Refusal(bank.ErrAccountNotOpen)).
		ThenDecision(actors.Compensate(bank.DepositMoney{AccountID: "a", Amount: 5, TransferID: "t"}))

	errDown := errors.New("store down")
	other := actorstest.Process(t, newTransferProcess).WithPolicy(bank.TransferErrorPolicy).
		Given(requested).
		When(withdrawn).
		CommandFails(deposit, errDown).
		ThenDecision(actors.Retry(100 * time.Millisecond))
	for range 8 {
		other.CommandFails(deposit, errDown)
	}
	other.CommandFails(deposit, errDown).ThenDecision(actors.SkipEvent)
}

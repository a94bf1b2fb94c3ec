package bank

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
)

// TransferProcess carries out one transfer: it withdraws from the paying
// account, deposits into the receiving one, and completes the transfer.
// When an account refuses, TransferErrorPolicy compensates: a refused
// withdrawal fails the transfer; a refused deposit refunds the paying
// account, and the refund fails the transfer.
type TransferProcess struct {
	TransferID string
	From, To   string
}

// TransferInterest routes the events of a transfer to its process: a
// request starts it, and its withdrawal, deposits and outcome continue or
// end it. Deposits and withdrawals outside transfers do not concern it.
func TransferInterest(ev actors.Event) []actors.Interest {
	switch e := ev.Payload.(type) {
	case TransferRequested:
		return []actors.Interest{actors.StartProcess(e.TransferID)}
	case MoneyWithdrawn:
		if e.TransferID != "" {
			return []actors.Interest{actors.ContinueProcess(e.TransferID)}
		}
	case MoneyDeposited:
		if e.TransferID != "" {
			return []actors.Interest{actors.ContinueProcess(e.TransferID)}
		}
	case TransferCompleted:
		return []actors.Interest{actors.StopProcess(e.TransferID)}
	case TransferFailed:
		return []actors.Interest{actors.StopProcess(e.TransferID)}
	}
	return nil
}

// Handle returns the commands an event of the transfer causes.
func (p *TransferProcess) Handle(ev actors.Event) ([]any, error) {
	switch e := ev.Payload.(type) {
	case TransferRequested:
		return []any{WithdrawMoney{AccountID: e.From, Amount: e.Amount, TransferID: e.TransferID}}, nil
	case MoneyWithdrawn:
		return []any{DepositMoney{AccountID: p.To, Amount: e.Amount, TransferID: e.TransferID}}, nil
	case MoneyDeposited:
		if e.AccountID == p.From { // the refund of a refused deposit
			return []any{FailTransfer{TransferID: e.TransferID, Reason: "deposit refused, refunded"}}, nil
		}
		return []any{CompleteTransfer{TransferID: e.TransferID}}, nil
	}
	return nil, nil
}

// Apply records the transfer's accounts from its request.
func (p *TransferProcess) Apply(ev actors.Event) {
	if e, ok := ev.Payload.(TransferRequested); ok {
		p.TransferID, p.From, p.To = e.TransferID, e.From, e.To
	}
}

// TransferErrorPolicy compensates a command an account refused; it leaves
// every other failure to actors.DefaultErrorPolicy, which retries.
func TransferErrorPolicy(f actors.Failure) actors.Decision {
	if !errors.Is(f.Err, actors.ErrValidation) {
		return actors.DefaultErrorPolicy(f)
	}
	switch c := f.Command.(type) {
	case WithdrawMoney:
		return actors.Compensate(FailTransfer{TransferID: c.TransferID, Reason: f.Err.Error()})
	case DepositMoney:
		// The failure carries the event, not the process's state: the
		// account to refund is the one the withdrawal names.
		if w, ok := f.Event.Payload.(MoneyWithdrawn); ok {
			return actors.Compensate(DepositMoney{AccountID: w.AccountID, Amount: w.Amount, TransferID: w.TransferID})
		}
	}
	return actors.DefaultErrorPolicy(f)
}

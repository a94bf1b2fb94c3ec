package bank

import (
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
	Amount     int64
}

// Interested routes the events of a transfer to its process: a request
// starts it, and its withdrawal, deposits and outcome continue or end it.
// Deposits and withdrawals outside transfers do not concern it.
func (*TransferProcess) Interested(ev actors.Event) []actors.Interest {
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

// Apply records the transfer from its request.
func (p *TransferProcess) Apply(event any) {
	if e, ok := event.(TransferRequested); ok {
		p.TransferID, p.From, p.To, p.Amount = e.TransferID, e.From, e.To, e.Amount
	}
}

// TransferErrorPolicy compensates a command an account refused: a refused
// withdrawal fails the transfer, a refused deposit refunds the paying
// account, named by the process's state. Every other failure it leaves to
// actors.DefaultProcessErrorPolicy, which retries it, then skips it.
func TransferErrorPolicy(f actors.Failure) actors.Decision {
	if f.Refused {
		switch c := f.Command.(type) {
		case WithdrawMoney:
			return actors.Compensate(FailTransfer{TransferID: c.TransferID, Reason: f.Err.Error()})
		case DepositMoney:
			if p, ok := f.State.(*TransferProcess); ok {
				return actors.Compensate(DepositMoney{AccountID: p.From, Amount: p.Amount, TransferID: p.TransferID})
			}
		}
	}
	return actors.DefaultProcessErrorPolicy(f)
}

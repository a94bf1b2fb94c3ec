package bank

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
)

// Commands to a transfer.
type (
	// RequestTransfer asks to move Amount cents from account From to
	// account To.
	RequestTransfer struct {
		TransferID string
		From, To   string
		Amount     int64
	}
	// CompleteTransfer records that the money reached To.
	CompleteTransfer struct{ TransferID string }
	// FailTransfer records that the transfer did not happen, and why.
	FailTransfer struct{ TransferID, Reason string }
)

// Events of a transfer.
type (
	// TransferRequested starts a transfer; the TransferProcess carries it
	// out.
	TransferRequested struct {
		TransferID string
		From, To   string
		Amount     int64
	}
	// TransferCompleted ends a transfer that moved the money.
	TransferCompleted struct{ TransferID string }
	// TransferFailed ends a transfer that moved nothing.
	TransferFailed struct{ TransferID, Reason string }
)

// Errors a transfer refuses commands with.
var (
	ErrTransferExists     = errors.New("bank: transfer already requested")
	ErrTransferInvalid    = errors.New("bank: transfer needs two accounts and a positive amount")
	ErrTransferNotPending = errors.New("bank: transfer not pending")
)

// TransferStatus is where a transfer stands.
type TransferStatus string

// A transfer's statuses.
const (
	StatusNone      TransferStatus = ""
	StatusPending   TransferStatus = "pending"
	StatusCompleted TransferStatus = "completed"
	StatusFailed    TransferStatus = "failed"
)

// Transfer is the transfer aggregate's state: it records a transfer's
// request and outcome; the TransferProcess moves the money.
type Transfer struct {
	Status TransferStatus
}

// Transfers defines the transfer aggregate: its events and commands.
func Transfers() *actors.Definition[*Transfer] {
	transfers := actors.Define[*Transfer](actors.AggregateType{Name: "transfer"},
		TransferRequested{}, TransferCompleted{}, TransferFailed{})
	actors.Handle(transfers, func(c RequestTransfer) string { return c.TransferID }, (*Transfer).request, actors.Creating())
	actors.Handle(transfers, func(c CompleteTransfer) string { return c.TransferID }, (*Transfer).complete)
	actors.Handle(transfers, func(c FailTransfer) string { return c.TransferID }, (*Transfer).fail)
	return transfers
}

func (t *Transfer) request(c RequestTransfer) ([]any, error) {
	if t.Status != StatusNone {
		return nil, ErrTransferExists
	}
	if c.From == "" || c.To == "" || c.From == c.To || c.Amount <= 0 {
		return nil, ErrTransferInvalid
	}
	return []any{TransferRequested(c)}, nil
}

func (t *Transfer) complete(c CompleteTransfer) ([]any, error) {
	if t.Status != StatusPending {
		return nil, ErrTransferNotPending
	}
	return []any{TransferCompleted(c)}, nil
}

func (t *Transfer) fail(c FailTransfer) ([]any, error) {
	if t.Status != StatusPending {
		return nil, ErrTransferNotPending
	}
	return []any{TransferFailed(c)}, nil
}

// Apply changes the transfer by one of its events.
func (t *Transfer) Apply(event any) {
	switch event.(type) {
	case TransferRequested:
		t.Status = StatusPending
	case TransferCompleted:
		t.Status = StatusCompleted
	case TransferFailed:
		t.Status = StatusFailed
	}
}

package bank

import (
	"context"
	"sync"

	"github.com/cohort-dev/cohort/actors"
)

// Balances is a read model kept in memory: every account's balance and
// every transfer's status. It is an actors.EventHandler; being in memory,
// it must see every event from the first on every start, so Register
// registers its handler as transient (actors.HandlerConfig.Transient): it
// keeps no checkpoint, which a restart would resume after.
type Balances struct {
	mu        sync.Mutex
	balances  map[string]int64
	transfers map[string]TransferStatus
	changed   chan struct{} // closed and replaced on every change
}

// NewBalances returns an empty read model.
func NewBalances() *Balances {
	return &Balances{
		balances:  make(map[string]int64),
		transfers: make(map[string]TransferStatus),
		changed:   make(chan struct{}),
	}
}

// HandleEvent updates the read model with one event.
func (b *Balances) HandleEvent(_ context.Context, ev actors.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.Payload.(type) {
	case AccountOpened:
		b.balances[e.AccountID] = 0
	case MoneyDeposited:
		b.balances[e.AccountID] += e.Amount
	case MoneyWithdrawn:
		b.balances[e.AccountID] -= e.Amount
	case TransferRequested:
		b.transfers[e.TransferID] = StatusPending
	case TransferCompleted:
		b.transfers[e.TransferID] = StatusCompleted
	case TransferFailed:
		b.transfers[e.TransferID] = StatusFailed
	default:
		return nil
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return nil
}

// Balance returns an account's balance, and whether the account is open.
func (b *Balances) Balance(account string) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.balances[account]
	return n, ok
}

// WaitTransfer waits until the transfer has completed or failed and returns
// its status, or ctx's error.
func (b *Balances) WaitTransfer(ctx context.Context, transfer string) (TransferStatus, error) {
	for {
		b.mu.Lock()
		status, changed := b.transfers[transfer], b.changed
		b.mu.Unlock()
		if status == StatusCompleted || status == StatusFailed {
			return status, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return status, ctx.Err()
		}
	}
}

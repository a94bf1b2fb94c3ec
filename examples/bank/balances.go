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
}

// NewBalances returns an empty read model.
func NewBalances() *Balances {
	return &Balances{
		balances:  make(map[string]int64),
		transfers: make(map[string]TransferStatus),
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
	}
	return nil
}

// Balance returns an account's balance, and whether the account is open.
func (b *Balances) Balance(account string) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.balances[account]
	return n, ok
}

// Transfer returns a transfer's status (StatusNone for one never
// requested).
func (b *Balances) Transfer(transfer string) TransferStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.transfers[transfer]
}

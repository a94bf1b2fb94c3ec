package bank_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/examples/bank"
)

// startBank starts the bank on a new in-memory store with alice (100) and
// bob (0), closed at the test's cleanup.
func startBank(t *testing.T) (*actors.App, *memory.Store, *bank.Balances) {
	t.Helper()
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() }) // after the app's Close: cleanups run last-in first-out
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	balances := bank.NewBalances()
	if err := bank.Register(app, balances); err != nil {
		t.Fatal(err)
	}
	actorstest.Start(t, app)
	actorstest.Dispatch(t, app, bank.OpenAccount{AccountID: "alice", Owner: "Alice"})
	actorstest.Dispatch(t, app, bank.DepositMoney{AccountID: "alice", Amount: 100})
	actorstest.Dispatch(t, app, bank.OpenAccount{AccountID: "bob", Owner: "Bob"})
	return app, store, balances
}

func TestTransfers(t *testing.T) {
	tests := []struct {
		name       string
		to         string
		amount     int64
		status     bank.TransferStatus
		alice, bob int64
	}{
		{"completed", "bob", 30, bank.StatusCompleted, 70, 30},
		{"insufficient funds", "bob", 101, bank.StatusFailed, 100, 0},
		{"no such account: refunded", "carol", 30, bank.StatusFailed, 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, _, balances := startBank(t)
			actorstest.Dispatch(t, app, bank.RequestTransfer{TransferID: "t", From: "alice", To: tt.to, Amount: tt.amount})

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			status, err := balances.WaitTransfer(ctx, "t")
			if err != nil || status != tt.status {
				t.Fatalf("transfer %q, %v; want %q", status, err, tt.status)
			}
			for account, want := range map[string]int64{"alice": tt.alice, "bob": tt.bob} {
				if got, _ := balances.Balance(account); got != want {
					t.Errorf("%s: balance %d, want %d", account, got, want)
				}
			}
		})
	}
}

// TestTransferEvents follows a refused transfer in the store: the process
// manager's policy compensates the refused withdrawal with FailTransfer
// (actors.DefaultErrorPolicy would retry it for about 20 s, then stop the
// process manager).
func TestTransferEvents(t *testing.T) {
	app, store, _ := startBank(t)
	res := actorstest.Dispatch(t, app, bank.RequestTransfer{TransferID: "t", From: "alice", To: "bob", Amount: 101})
	ev := actorstest.WaitForEvent(t, store, app.Registry(), res.Position, actorstest.Is[bank.TransferFailed](), 10*time.Second)
	if want := (bank.TransferFailed{TransferID: "t", Reason: "bank: insufficient funds"}); ev.Payload != want {
		t.Errorf("got %+v, want %+v", ev.Payload, want)
	}
	_, err := app.Dispatch(t.Context(), bank.WithdrawMoney{AccountID: "alice", Amount: 101})
	if !errors.Is(err, bank.ErrInsufficientFunds) || !errors.Is(err, actors.ErrValidation) {
		t.Errorf("withdraw: %v, want ErrInsufficientFunds and ErrValidation", err)
	}
}

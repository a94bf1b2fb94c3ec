package bank_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/examples/bank"
)

// startBank starts the bank on store, stopped at the test's cleanup.
func startBank(t *testing.T, store actors.EventStore) (*actors.App, *bank.Balances) {
	t.Helper()
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	balances := bank.NewBalances()
	if err := bank.Register(app, balances); err != nil {
		t.Fatal(err)
	}
	actorstest.Start(t, app)
	return app, balances
}

// openAccounts opens alice (100) and bob (0).
func openAccounts(t *testing.T, app *actors.App) {
	t.Helper()
	actorstest.Dispatch(t, app, bank.OpenAccount{AccountID: "alice", Owner: "Alice"})
	actorstest.Dispatch(t, app, bank.DepositMoney{AccountID: "alice", Amount: 100})
	actorstest.Dispatch(t, app, bank.OpenAccount{AccountID: "bob", Owner: "Bob"})
}

// transfer requests a transfer and waits until its workflow is at rest:
// the process manager has dispatched all it will, and the read model has
// handled every event. It returns the transfer's status in the read model.
func transfer(t *testing.T, app *actors.App, balances *bank.Balances, cmd bank.RequestTransfer) bank.TransferStatus {
	t.Helper()
	workflow := uuid.New()
	res := actorstest.Dispatch(t, app, cmd, actors.WithCorrelationID(workflow))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := app.WaitForCausal(ctx, workflow, res.Position, "balances"); err != nil {
		t.Fatalf("transfer %s: %v", cmd.TransferID, err)
	}
	return balances.Transfer(cmd.TransferID)
}

func checkBalances(t *testing.T, balances *bank.Balances, want map[string]int64) {
	t.Helper()
	for account, want := range want {
		if got, _ := balances.Balance(account); got != want {
			t.Errorf("%s: balance %d, want %d", account, got, want)
		}
	}
}

// TestTransfers runs a transfer to its end on the in-memory store and on
// PostgreSQL.
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
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				app, balances := startBank(t, store)
				openAccounts(t, app)
				cmd := bank.RequestTransfer{TransferID: "t", From: "alice", To: tt.to, Amount: tt.amount}
				if status := transfer(t, app, balances, cmd); status != tt.status {
					t.Fatalf("transfer %q, want %q", status, tt.status)
				}
				checkBalances(t, balances, map[string]int64{"alice": tt.alice, "bob": tt.bob})
			})
		})
	}
}

// TestTransferEvents follows a refused transfer in the store: the process
// manager's policy compensates the refused withdrawal with FailTransfer at
// once.
func TestTransferEvents(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app, _ := startBank(t, store)
		openAccounts(t, app)
		res := actorstest.Dispatch(t, app, bank.RequestTransfer{TransferID: "t", From: "alice", To: "bob", Amount: 101})
		ev := actorstest.WaitForEvent(t, store, app.Registry(), res.Position, actorstest.Is[bank.TransferFailed](), 10*time.Second)
		if want := (bank.TransferFailed{TransferID: "t", Reason: "bank: insufficient funds"}); ev.Payload != want {
			t.Errorf("got %+v, want %+v", ev.Payload, want)
		}
		_, err := app.Dispatch(t.Context(), bank.WithdrawMoney{AccountID: "alice", Amount: 101})
		if !errors.Is(err, bank.ErrInsufficientFunds) || !errors.Is(err, actors.ErrValidation) {
			t.Errorf("withdraw: %v, want ErrInsufficientFunds and ErrValidation", err)
		}
	})
}

// TestRestart: the read model lives in memory, so its handler is
// transient: a new application on the same store (a restarted process)
// rebuilds it from the first event, on PostgreSQL as in memory.
func TestRestart(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app, balances := startBank(t, store)
		openAccounts(t, app)
		transfer(t, app, balances, bank.RequestTransfer{TransferID: "t1", From: "alice", To: "bob", Amount: 30})
		if err := app.Close(t.Context()); err != nil {
			t.Fatal(err)
		}

		app, balances = startBank(t, store)
		cmd := bank.RequestTransfer{TransferID: "t2", From: "alice", To: "bob", Amount: 20}
		if status := transfer(t, app, balances, cmd); status != bank.StatusCompleted {
			t.Fatalf("transfer t2 %q", status)
		}
		checkBalances(t, balances, map[string]int64{"alice": 50, "bob": 50})
	})
}

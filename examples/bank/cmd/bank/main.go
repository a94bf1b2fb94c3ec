// Command bank runs three transfers on the in-memory event store and prints
// how each ended and the balances: one that succeeds, one the paying account
// refuses (insufficient funds), and one to an account that does not exist,
// which is refunded.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/examples/bank"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run runs the transfers and writes the outcome to w.
func run(ctx context.Context, w io.Writer) (err error) {
	store := memory.New()
	defer func() { err = errors.Join(err, store.Close()) }()
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		return err
	}
	balances := bank.NewBalances()
	if err := bank.Register(app, balances); err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, app.Close(context.WithoutCancel(ctx))) }()

	// One correlation id for every command below: the events they cause,
	// and the commands and events of the transfers' workflows, carry it.
	workflow := uuid.New()
	var res actors.Result
	for _, cmd := range []any{
		bank.OpenAccount{AccountID: "alice", Owner: "Alice"},
		bank.DepositMoney{AccountID: "alice", Amount: 100_00},
		bank.OpenAccount{AccountID: "bob", Owner: "Bob"},
		bank.RequestTransfer{TransferID: "t1", From: "alice", To: "bob", Amount: 30_00},
		bank.RequestTransfer{TransferID: "t2", From: "alice", To: "bob", Amount: 500_00},
		bank.RequestTransfer{TransferID: "t3", From: "alice", To: "carol", Amount: 20_00},
	} {
		if res, err = app.Dispatch(ctx, cmd, actors.WithCorrelationID(workflow)); err != nil {
			return fmt.Errorf("%T: %w", cmd, err)
		}
	}

	// Wait until the workflows are at rest: the process manager has
	// dispatched all it will, and balances has handled every event.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := app.WaitForCausal(ctx, workflow, res.Position, "balances"); err != nil {
		return fmt.Errorf("transfers: %w", err)
	}
	for _, id := range []string{"t1", "t2", "t3"} {
		fmt.Fprintf(w, "transfer %s: %s\n", id, balances.Transfer(id))
	}
	for _, id := range []string{"alice", "bob"} {
		cents, _ := balances.Balance(id)
		fmt.Fprintf(w, "%s: %d.%02d\n", id, cents/100, cents%100)
	}
	return nil
}

package conduit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/conduit/password"
)

// TestHashingQueueBounded: beyond Config.MaxHashes hashes running or
// waiting, registrations fail at once with ErrOverloaded instead of
// queueing, and free what they claimed: the same registration succeeds
// later.
func TestHashingQueueBounded(t *testing.T) {
	ctx := context.Background()
	cfg := conduittest.Config(t, conduittest.NewDatabase(t))
	cfg.Password, cfg.MaxHashes = password.DefaultParams, 1
	app := conduittest.StartWith(t, cfg, nil)

	const n = 20
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = app.RegisterUser(ctx, conduit.Registration{
				Username: fmt.Sprint("user", i), Email: fmt.Sprintf("user%d@example.com", i), Password: "password"})
		})
	}
	close(start)
	wg.Wait()
	var refused []int
	for i, err := range errs {
		switch {
		case errors.Is(err, conduit.ErrOverloaded):
			refused = append(refused, i)
		case err != nil:
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	if len(refused) == 0 || len(refused) == n {
		t.Fatalf("%d of %d concurrent registrations refused with one hash slot, want some", len(refused), n)
	}
	for _, i := range refused {
		if _, err := app.RegisterUser(ctx, conduit.Registration{
			Username: fmt.Sprint("user", i), Email: fmt.Sprintf("user%d@example.com", i), Password: "password"}); err != nil {
			t.Fatalf("registration %d again, alone: %v", i, err)
		}
	}
}

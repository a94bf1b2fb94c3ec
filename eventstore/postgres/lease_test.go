package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// leaseHolderEnv makes the test binary run as a holder that acknowledges
// what it receives (see TestMain) instead of running tests.
const leaseHolderEnv = "COHORT_TEST_LEASE_HOLDER"

// runLeaseHolder subscribes persistently on conn as "frozen", prints READY
// once it receives its first batch, then GOT and the position of every
// event it receives, acknowledging each batch (its checkpoint is stored
// after every acknowledgement). It logs the store's warnings to stderr.
func runLeaseHolder(conn string) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sub := holderSubscribe(conn, postgres.Config{Logger: log}, eventstore.SubscribeOptions{Name: "frozen", CheckpointThreshold: 1})
	fmt.Println("READY")
	for b := range sub.Events() {
		for _, ev := range b {
			fmt.Println("GOT", ev.Position)
		}
		if err := sub.Ack(b[len(b)-1]); err != nil {
			holderFail(err)
		}
	}
	holderFail(fmt.Errorf("subscription ended: %v", sub.Close()))
}

// receive collects the events sub delivers until it has n, failing after
// timeout; it acknowledges each batch.
func receive(t *testing.T, sub eventstore.Subscription, n int, timeout time.Duration) []eventstore.RecordedEvent {
	t.Helper()
	var got []eventstore.RecordedEvent
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case b, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, sub.Close())
			}
			got = append(got, b...)
			if err := sub.Ack(b[len(b)-1]); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("received %d of %d events within %v", len(got), n, timeout)
		}
	}
	return got
}

// checkPositions fails unless got holds exactly the positions from first
// to last, in order.
func checkPositions(t *testing.T, got []eventstore.RecordedEvent, first, last int64) {
	t.Helper()
	var ps []int64
	for _, ev := range got {
		ps = append(ps, ev.Position)
	}
	if len(ps) != int(last-first+1) || ps[0] != first || ps[len(ps)-1] != last {
		t.Fatalf("delivered %v, want %d..%d in order", ps, first, last)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i] != ps[i-1]+1 {
			t.Fatalf("delivered %v, want %d..%d in order", ps, first, last)
		}
	}
}

// waitCheckpoint waits until the subscription's stored checkpoint reaches
// want.
func waitCheckpoint(t *testing.T, s *postgres.Store, name string, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := s.Checkpoint(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if cp >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint of %s is %d, want %d", name, cp, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTakeoverFromFrozenHolder freezes the process holding a persistent
// subscription with SIGSTOP (its sessions stay open): a waiting process
// takes over once the holder's lease expires, and delivers from the
// holder's checkpoint; when the frozen process resumes it delivers nothing
// more.
func TestTakeoverFromFrozenHolder(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	first, err := s.Append(ctx, "before", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	holder, lines := startHolder(t, leaseHolderEnv, conn)
	waitCheckpoint(t, s, "frozen", first.LastPosition)

	if err := holder.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "frozen"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	during, err := s.Append(ctx, "during", eventstore.Any, events(3))
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, sub, 1, 30*time.Second)
	took := time.Since(frozen)
	t.Logf("took over %v after the holder was frozen (default LeaseTTL 5s, LeaseRenewInterval 1s)", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("took over after %v, want within about TTL + renew interval", took)
	}
	got = append(got, receive(t, sub, 3-len(got), 10*time.Second)...)
	checkPositions(t, got, during.FirstPosition, during.LastPosition)
	waitCheckpoint(t, s, "frozen", during.LastPosition)

	if err := holder.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The resumed holder finds its lease gone at its first turn, a few
	// milliseconds after it runs again; meanwhile it may deliver what it
	// read before (at least once), but its checkpoint writes are refused.
	time.Sleep(3 * time.Second)
	after, err := s.Append(ctx, "after", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	checkPositions(t, receive(t, sub, 1, 10*time.Second), after.FirstPosition, after.LastPosition)
	waitCheckpoint(t, s, "frozen", after.LastPosition)
	time.Sleep(time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the resumed holder ended")
			}
			if p, ok := strings.CutPrefix(line, "GOT "); ok {
				if n, _ := strconv.ParseInt(p, 10, 64); n >= after.FirstPosition {
					t.Errorf("the resumed holder delivered %d, appended after it lost its lease", n)
				}
			}
			continue
		default:
		}
		return
	}
}

// TestLeaseFencesStaleHolder stops a holder's lease renewals while its
// subscription goes on, as in a process that was frozen and has just
// resumed: another store takes the subscription over once the lease
// expires; the stale holder's checkpoint writes and fenced transactions
// are refused with a *LeaseLostError, and it stops delivering.
func TestLeaseFencesStaleHolder(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	cfg := postgres.Config{LeaseTTL: time.Second, LeaseRenewInterval: 200 * time.Millisecond, LockPollInterval: 50 * time.Millisecond}
	a, b := mustOpen(t, conn, cfg), mustOpen(t, conn, cfg)
	opts := eventstore.SubscribeOptions{Name: "fenced", CheckpointThreshold: 1}
	evs, err := a.Append(ctx, "s", eventstore.Any, events(2))
	if err != nil {
		t.Fatal(err)
	}
	subA, err := a.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	var delivered []eventstore.RecordedEvent
	for len(delivered) < 2 {
		delivered = append(delivered, <-subA.Events()...)
	}
	if err := subA.Ack(delivered[0]); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, a, "fenced", evs.FirstPosition)
	stale, ok := subA.(eventstore.Leased).Lease()
	if !ok || stale.Token == 0 {
		t.Fatalf("holder's lease: %+v, %v", stale, ok)
	}

	thaw := postgres.FreezeLeases(a)
	defer thaw()
	frozen := time.Now()
	subB, err := b.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	got := receive(t, subB, 1, 20*time.Second)
	t.Logf("took over %v after renewals stopped (LeaseTTL 1s, LeaseRenewInterval 200ms)", time.Since(frozen).Round(time.Millisecond))
	fresh, ok := subB.(eventstore.Leased).Lease()
	if !ok || fresh.Token <= stale.Token {
		t.Fatalf("new holder's lease %+v, stale %+v", fresh, stale)
	}

	// Fenced: the stale holder's checkpoint, and a transaction checked
	// against its lease.
	var lost *eventstore.LeaseLostError
	if err := postgres.WriteCheckpoint(ctx, a, "fenced", evs.LastPosition, stale.Token); !errors.As(err, &lost) || lost.Token != stale.Token {
		t.Errorf("stale checkpoint write: %v, want a *LeaseLostError", err)
	}
	if err := checkInTx(ctx, t, conn, stale); !errors.Is(err, eventstore.ErrLeaseLost) {
		t.Errorf("stale fenced transaction: %v, want ErrLeaseLost", err)
	}
	if err := checkInTx(ctx, t, conn, fresh); err != nil {
		t.Errorf("fenced transaction of the holder: %v", err)
	}

	// The stale holder acknowledges what it was given: its checkpoint is
	// refused, and it delivers nothing more, even before its manager runs.
	if err := subA.Ack(delivered[1]); err != nil {
		t.Fatal(err)
	}
	more, err := a.Append(ctx, "s", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, receive(t, subB, 2-len(got), 10*time.Second)...)
	checkPositions(t, got, evs.LastPosition, more.LastPosition)
	select {
	case batch := <-subA.Events():
		t.Errorf("the stale holder delivered %d events after its checkpoint was refused", len(batch))
	case <-time.After(time.Second):
	}
	if l, _ := subA.(eventstore.Leased).Lease(); l != stale {
		t.Errorf("the stale holder's lease is %+v, want the lost one %+v", l, stale)
	}
	thaw()
	waitCheckpoint(t, b, "fenced", more.LastPosition)

	// When the new holder closes, the old one takes over from its
	// checkpoint.
	if err := subB.Close(); err != nil {
		t.Fatal(err)
	}
	last, err := a.Append(ctx, "s", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	checkPositions(t, receive(t, subA, 1, 10*time.Second), last.FirstPosition, last.LastPosition)
}

// checkInTx runs postgres.CheckLease with lease in a transaction of its
// own and returns its error.
func checkInTx(ctx context.Context, t *testing.T, conn string, lease eventstore.Lease) error {
	t.Helper()
	pool, err := pgxpool.New(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	return postgres.CheckLease(eventstore.WithLease(ctx, lease), tx)
}

// TestFencedTransactionHoldsLease opens a transaction fenced by a holder's
// lease and lets it idle while the holder stops renewing, as a frozen
// process in the middle of a projector's transaction: the lease does not
// pass on while the transaction is open, and the server ends the
// transaction's session once it has idled for the TTL, so that the lease
// then passes on and the transaction's writes are lost with it.
func TestFencedTransactionHoldsLease(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	cfg := postgres.Config{LeaseTTL: time.Second, LeaseRenewInterval: 200 * time.Millisecond, LockPollInterval: 50 * time.Millisecond}
	a, b := mustOpen(t, conn, cfg), mustOpen(t, conn, cfg)
	opts := eventstore.SubscribeOptions{Name: "fenced"}
	if _, err := a.Append(ctx, "s", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	subA, err := a.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	<-subA.Events()
	lease, _ := subA.(eventstore.Leased).Lease()
	// The session may idle 3 s, while the lease expires 1 s after the
	// freeze below at most.
	lease.TTL = 3 * time.Second

	pool := pgtest.NewPool(t, conn)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := postgres.CheckLease(eventstore.WithLease(ctx, lease), tx); err != nil {
		t.Fatal(err)
	}
	defer postgres.FreezeLeases(a)()
	subB, err := b.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	select {
	case <-subB.Events():
		t.Fatal("the lease passed on while a transaction fenced by it was open")
	case <-time.After(2 * time.Second):
	}
	// The transaction idles past the TTL: its session ends, and with it
	// the row lock that kept the lease.
	receive(t, subB, 1, 20*time.Second)
	if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("the idle fenced transaction is still open")
	}
}

// TestLeaseLostWhenRenewalStalls blocks a holder's renewals in the
// database (its process runs, its database does not answer): the holder
// stops delivering within the TTL, by its own clock, before another could
// take the lease; once renewals pass again it takes the lease back and
// delivers what it missed.
func TestLeaseLostWhenRenewalStalls(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{LeaseTTL: time.Second, LeaseRenewInterval: 200 * time.Millisecond, LockPollInterval: 50 * time.Millisecond})
	if _, err := s.Append(ctx, "s", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "stalled"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	<-sub.Events() // not acknowledged: no checkpoint write waits for the row

	pool := pgtest.NewPool(t, conn)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT 1 FROM cohort.subscriptions WHERE name = 'stalled' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // three TTLs
	missed, err := s.Append(ctx, "s", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-sub.Events():
		t.Fatalf("delivered %d events with its lease unrenewed for longer than its TTL", len(b))
	case <-time.After(time.Second):
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// From the checkpoint: the first event again, then the missed one.
	got := receive(t, sub, 2, 20*time.Second)
	checkPositions(t, got, missed.LastPosition-1, missed.LastPosition)
}

// TestLeaseConfig: lease settings are validated against each other, with
// the defaults standing in for those not set.
func TestLeaseConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  postgres.Config
		ok   bool
	}{
		{"defaults", postgres.Config{}, true},
		{"renewal at half the TTL", postgres.Config{LeaseTTL: time.Second, LeaseRenewInterval: 500 * time.Millisecond}, true},
		{"short TTL, default renewal", postgres.Config{LeaseTTL: time.Second}, false},
		{"renewal beyond half the default TTL", postgres.Config{LeaseRenewInterval: 3 * time.Second}, false},
		{"negative TTL", postgres.Config{LeaseTTL: -time.Second}, false},
		{"negative renewal", postgres.Config{LeaseRenewInterval: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestUnheldSubscriptions: a subscription counts as unheld when it does
// not exist, once its holder closed it, once its holder's lease expired
// (its process frozen), and once its holder's store is gone; held while a
// live holder renews it.
func TestUnheldSubscriptions(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	cfg := postgres.Config{LeaseTTL: time.Second, LeaseRenewInterval: 200 * time.Millisecond, LockPollInterval: 50 * time.Millisecond}
	a, b := mustOpen(t, conn, cfg), mustOpen(t, conn, cfg)
	unheld := func(names ...string) []string {
		t.Helper()
		free, err := b.UnheldSubscriptions(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(free)
		return free
	}
	holding := func(s *postgres.Store, name string) eventstore.Subscription {
		t.Helper()
		sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		for deadline := time.Now().Add(20 * time.Second); !slices.Equal(unheld(name), nil); {
			if time.Now().After(deadline) {
				t.Fatalf("%s never held", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return sub
	}
	if got := unheld("missing"); !slices.Equal(got, []string{"missing"}) {
		t.Errorf("a missing subscription: unheld %v", got)
	}

	closed := holding(a, "closed")
	holding(a, "frozen")
	holding(a, "held")
	if got := unheld("closed", "frozen", "held"); len(got) > 0 {
		t.Errorf("all held: unheld %v", got)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if got := unheld("closed", "held"); !slices.Equal(got, []string{"closed"}) {
		t.Errorf("after a Close: unheld %v, want [closed]", got)
	}

	thaw := postgres.FreezeLeases(a)
	time.Sleep(2 * cfg.LeaseTTL)
	if got := unheld("frozen", "held"); !slices.Equal(got, []string{"frozen", "held"}) {
		t.Errorf("holder frozen past its TTL: unheld %v, want both", got)
	}
	thaw()

	c := mustOpen(t, conn, cfg)
	holding(c, "gone")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// The closed store's session ends as its connection closes, which the
	// server notices on its own time: a loaded machine takes a moment.
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got = unheld("gone"); slices.Equal(got, []string{"gone"}) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{"gone"}) {
		t.Errorf("holder's store closed 10 s ago: unheld %v", got)
	}
}

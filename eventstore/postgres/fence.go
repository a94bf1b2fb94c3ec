package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cohort-dev/cohort/eventstore"
)

// leaseLostCode is the SQLSTATE check_lease raises for a superseded token.
const leaseLostCode = "CH001"

// Querier runs a statement in a caller's transaction; pgx.Tx satisfies it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// CheckLease fences the caller's transaction tx, which must be on the
// store's database, by the persistent subscription lease ctx carries
// (eventstore.WithLease; the actors runtime passes it to a persistent
// handler's calls). It fails with a *eventstore.LeaseLostError if the
// lease has passed to another holder; otherwise the lease cannot pass to
// another holder before tx ends, so that whatever tx writes is written
// under the lease. Call it in tx before tx commits, best first (a fenced
// transaction then does no work), and roll tx back when it fails. Until tx
// ends the server closes its session when tx stays idle longer than the
// lease's TTL (e.g. its process is frozen), so that a frozen holder cannot
// keep its lease that way. With no lease in ctx (a transient handler, the
// memory store) it does nothing.
func CheckLease(ctx context.Context, tx Querier) error {
	l, ok := eventstore.LeaseFrom(ctx)
	if !ok {
		return nil
	}
	idle := l.TTL.Milliseconds()
	if idle <= 0 {
		idle = Config{}.withDefaults().LeaseTTL.Milliseconds()
	}
	_, err := tx.Exec(ctx, `SELECT `+pgx.Identifier{l.Store}.Sanitize()+`.check_lease($1, $2, $3 * interval '1 millisecond')`,
		l.Subscription, l.Token, idle)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == leaseLostCode {
		return &eventstore.LeaseLostError{Subscription: l.Subscription, Token: l.Token}
	}
	if err != nil {
		return fmt.Errorf("postgres: check lease of %q: %w", l.Subscription, err)
	}
	return nil
}

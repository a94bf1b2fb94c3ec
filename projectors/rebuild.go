package projectors

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
)

// handlerSubscription is the name of the persistent subscription the
// actors runtime opens for a handler registered under name; it mirrors
// the runtime's naming, which the runtime does not export.
func handlerSubscription(name string) string { return "handler:" + name }

// Rebuild resets projections so that they project every event again from
// the origin the next time the application starts: for each, it deletes
// the handler's subscription, then empties its tables and resets its
// checkpoint in one transaction, and records the projection's declared
// version. Run it while no application runs the projections (see
// RebuildOnline for a rebuild while they serve).
//
// The order makes an interrupted rebuild harmless: with the subscription
// gone and the tables intact, the projector replays from the origin and
// skips what its checkpoint says is done.
func Rebuild(ctx context.Context, db *pgxpool.Pool, subs eventstore.Subscriber, schema string, ps ...Projection) error {
	schema, err := checkSchema(schema)
	if err != nil {
		return err
	}
	q := pgx.Identifier{schema}.Sanitize()
	for _, p := range ps {
		err := subs.DeleteSubscription(ctx, handlerSubscription(p.Name()))
		if err != nil && !errors.Is(err, eventstore.ErrSubscriptionNotFound) {
			return fmt.Errorf("projectors: rebuild %s: %w", p.Name(), err)
		}
		tables := ""
		for i, t := range p.Tables() {
			if i > 0 {
				tables += ", "
			}
			tables += q + "." + pgx.Identifier{t}.Sanitize()
		}
		err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			// Lock the checkpoint first, as a running projector would.
			if _, err := tx.Exec(ctx, "DELETE FROM "+q+".projection_checkpoints WHERE name = $1", p.Name()); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "TRUNCATE "+tables); err != nil {
				return err
			}
			// The tables will hold what this code projects: record its
			// version, so that the start does not rebuild them again.
			_, err := tx.Exec(ctx, "INSERT INTO "+q+`.projections (name, version) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET version = excluded.version, updated_at = clock_timestamp()`,
				p.Name(), versionOf(p))
			return err
		})
		if err != nil {
			return fmt.Errorf("projectors: rebuild %s: %w", p.Name(), err)
		}
	}
	return nil
}

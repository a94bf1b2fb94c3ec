package projectors

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// Projection is the part of a read model one projector writes.
type Projection interface {
	// Name names the projector, its checkpoint and its subscription.
	Name() string
	// Tables lists the tables the projection writes, emptied by Rebuild.
	Tables() []string
	// Project queues the statements that apply ev, if it concerns the
	// projection. The statements run in order, in the batch's transaction;
	// they must not fail on valid events (no constraint may stop a
	// projector), whatever the read model already holds.
	Project(b *pgx.Batch, ev actors.Event)
}

// Projector runs a Projection as an actors.BatchHandler.
type Projector struct {
	db         *pgxpool.Pool
	projection Projection
	checkpoint string // locks and returns the checkpoint
	advance    string
	// skip stores the checkpoint, or advances it, past a batch that
	// changes nothing, without waiting for the disk (see HandleEvents).
	skip string
}

// NewProjector returns a projector writing p into schema (empty for
// DefaultSchema) of db.
func NewProjector(db *pgxpool.Pool, schema string, p Projection) (*Projector, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	pr := &Projector{
		db:         db,
		projection: p,
		// The upsert creates the row on first use and locks it, so that
		// a Rebuild or another holder of the subscription waits.
		checkpoint: `INSERT INTO {{schema}}.projection_checkpoints (name) VALUES ($1)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING position`,
		advance: `UPDATE {{schema}}.projection_checkpoints SET position = $2, updated_at = clock_timestamp() WHERE name = $1`,
		skip: `WITH cp AS (INSERT INTO {{schema}}.projection_checkpoints AS c (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()
			WHERE c.position < excluded.position RETURNING position)
			SELECT set_config('synchronous_commit', 'off', true) FROM cp`,
	}
	sqlIn(schema, &pr.checkpoint, &pr.advance, &pr.skip)
	return pr, nil
}

// Name returns the projection's name.
func (p *Projector) Name() string { return p.projection.Name() }

// HandlerConfig returns the registration of the projector as a strongly
// consistent batch handler.
func (p *Projector) HandlerConfig() actors.HandlerConfig {
	return actors.HandlerConfig{
		Name:        p.Name(),
		Batch:       p,
		Consistency: actors.Strong,
		BatchSize:   500,
		// Retried until it passes: strongly consistent dispatches wait for
		// it. At most a second apart, so that writes are acknowledged again
		// within about a second of the database's return, however long it
		// was away (the fault suite measures this).
		OnError: actors.RetryPolicy(math.MaxInt, 50*time.Millisecond, time.Second),
	}
}

// HandleEvents implements actors.BatchHandler: it applies the events after
// the checkpoint and advances the checkpoint, in one transaction fenced by
// the subscription's lease in ctx (postgres.CheckLease): it fails with
// eventstore.ErrLeaseLost once the subscription has passed to another
// process.
//
// A batch none of whose events concerns the projection (the comments
// projection's share of a rename) only advances the checkpoint, in one
// statement that commits without waiting for the disk and never moves it
// back: lost in a crash, it leaves the checkpoint before events that
// change nothing, which are delivered again. It is not fenced: a process
// that lost the subscription can only move the checkpoint past events
// that change nothing, which the new holder finds changing nothing too.
func (p *Projector) HandleEvents(ctx context.Context, evs []actors.Event) error {
	if len(evs) == 0 {
		return nil
	}
	name := p.projection.Name()
	last := evs[len(evs)-1].Position
	all := &pgx.Batch{}
	from := make([]int, len(evs)) // each event's first statement in all
	for i, ev := range evs {
		from[i] = all.Len()
		if ev.Payload != nil {
			p.projection.Project(all, ev)
		}
	}
	if all.Len() == 0 {
		if _, err := p.db.Exec(ctx, p.skip, name, last); err != nil {
			return fmt.Errorf("projector %s: %w", name, err)
		}
		return nil
	}
	err := pgx.BeginFunc(ctx, p.db, func(tx pgx.Tx) error {
		// First: a process that lost the subscription (frozen while
		// another took over) writes nothing.
		if err := postgres.CheckLease(ctx, tx); err != nil {
			return err
		}
		var done int64
		if err := tx.QueryRow(ctx, p.checkpoint, name).Scan(&done); err != nil {
			return err
		}
		if last <= done {
			return nil // delivered again
		}
		b := all
		if evs[0].Position <= done { // partly delivered again
			i := slices.IndexFunc(evs, func(ev actors.Event) bool { return ev.Position > done })
			b = &pgx.Batch{QueuedQueries: slices.Clone(all.QueuedQueries[from[i]:])}
		}
		b.Queue(p.advance, name, last)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("projector %s: %w", name, err)
	}
	return nil
}

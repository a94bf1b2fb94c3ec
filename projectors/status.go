package projectors

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status is a projection's row of the projections table with its serving
// checkpoint: what an operator sees of it.
type Status struct {
	Name       string
	Generation int64 // the generation serving
	Version    int64 // the declared version it was built with
	Position   int64 // the serving projector's checkpoint in $all
	// Requested reports a rebuild requested and not yet taken.
	Requested bool
	// Building is the generation an online rebuild fills (0: none),
	// BuildPosition how far in $all it is, BuildHead the head it catches
	// up with, BuildStarted when it started (zero if it never did).
	Building      int64
	BuildPosition int64
	BuildHead     int64
	BuildStarted  time.Time
	// BuildError is why the last rebuild stopped before its switch (empty
	// when it did not).
	BuildError string
}

// Statuses returns the projections recorded in schema's projections
// table (see Register), by name.
func Statuses(ctx context.Context, db *pgxpool.Pool, schema string) ([]Status, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	q := pgx.Identifier{schema}.Sanitize()
	rows, err := db.Query(ctx, `SELECT p.name, p.generation, p.version, coalesce(c.position, 0),
			p.rebuild_requested_at IS NOT NULL, coalesce(p.building_generation, 0), p.build_position, p.build_head,
			p.build_started_at, coalesce(p.build_error, '')
		FROM `+q+`.projections p LEFT JOIN `+q+`.projection_checkpoints c USING (name)
		ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("projectors: statuses: %w", err)
	}
	ss, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Status, error) {
		var s Status
		var started *time.Time
		err := row.Scan(&s.Name, &s.Generation, &s.Version, &s.Position, &s.Requested,
			&s.Building, &s.BuildPosition, &s.BuildHead, &started, &s.BuildError)
		if started != nil {
			s.BuildStarted = *started
		}
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("projectors: statuses: %w", err)
	}
	return ss, nil
}

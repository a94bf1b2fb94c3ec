package projectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// ErrRebuildRunning: another rebuild of the projection holds it.
var ErrRebuildRunning = errors.New("projectors: a rebuild of the projection is already running")

// Versioned is implemented by a projection that declares the version of
// its code. A stored generation built with another version is stale:
// Register reports it so that the application rebuilds it at start-up.
type Versioned interface {
	// Version numbers the projection's code: raise it with any change
	// that makes the rows it writes differ.
	Version() int64
}

// versionOf returns p's declared version, 0 when it declares none.
func versionOf(p Projection) int64 {
	if v, ok := p.(Versioned); ok {
		return v.Version()
	}
	return 0
}

// NewProjection returns Conduit's projection called name writing into
// schema, so that a rebuild can build a generation in a schema of its own.
func NewProjection(name, schema string) (Projection, error) {
	switch name {
	case UsersName:
		return NewUsersProjection(schema), nil
	case BlogName:
		return NewBlogProjection(schema), nil
	case CommentsName:
		return NewCommentsProjection(schema), nil
	}
	return nil, fmt.Errorf("projectors: no projection %q", name)
}

// Register records the projections in schema's projections table: a
// projection seen for the first time is recorded at generation 1 with its
// declared version. It returns the names of those whose stored version
// differs from the declared one: their rows are stale, and the caller
// rebuilds them (RebuildOnline) rather than serve them as they are.
func Register(ctx context.Context, db *pgxpool.Pool, schema string, ps ...Projection) ([]string, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	q := pgx.Identifier{schema}.Sanitize()
	var stale []string
	for _, p := range ps {
		var stored int64
		err := db.QueryRow(ctx, `INSERT INTO `+q+`.projections (name, version) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING version`, p.Name(), versionOf(p)).Scan(&stored)
		if err != nil {
			return nil, fmt.Errorf("projectors: register %s: %w", p.Name(), err)
		}
		if stored != versionOf(p) {
			stale = append(stale, p.Name())
		}
	}
	return stale, nil
}

// RequestRebuild asks the process serving the projection for an online
// rebuild (the cohort command does the same with SQL). It fails with
// ErrNotFound for a projection never registered.
func RequestRebuild(ctx context.Context, db *pgxpool.Pool, schema, name string) error {
	schema, err := checkSchema(schema)
	if err != nil {
		return err
	}
	tag, err := db.Exec(ctx, `UPDATE `+pgx.Identifier{schema}.Sanitize()+`.projections
		SET rebuild_requested_at = clock_timestamp(), build_error = NULL, updated_at = clock_timestamp() WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("projectors: request rebuild of %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("projectors: request rebuild of %s: %w", name, ErrNotFound)
	}
	return nil
}

// TakeRebuildRequests clears and returns the requested rebuilds among
// names, so that only one process takes each request.
func TakeRebuildRequests(ctx context.Context, db *pgxpool.Pool, schema string, names []string) ([]string, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `UPDATE `+pgx.Identifier{schema}.Sanitize()+`.projections
		SET rebuild_requested_at = NULL, updated_at = clock_timestamp()
		WHERE rebuild_requested_at IS NOT NULL AND name = ANY($1) RETURNING name`, names)
	if err != nil {
		return nil, fmt.Errorf("projectors: take rebuild requests: %w", err)
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("projectors: take rebuild requests: %w", err)
	}
	return taken, nil
}

// Progress is how far an online rebuild is.
type Progress struct {
	Name       string
	Generation int64 // the generation being built
	Position   int64 // last position of $all it holds
	Head       int64 // last position of $all when last looked at
}

// OnlineRebuild configures RebuildOnline.
type OnlineRebuild struct {
	// DB holds the read model in Schema (empty for DefaultSchema).
	DB     *pgxpool.Pool
	Schema string
	// Name is the projection's name (see NewProjection).
	Name string
	// Events reads $all; Registry decodes its events.
	Events   eventstore.AllReader
	Registry *actors.Registry
	// BatchSize is the number of events read and projected at once;
	// default 1000.
	BatchSize int
	// Progress, if set, is called after each batch.
	Progress func(Progress)
}

func (c OnlineRebuild) withDefaults() OnlineRebuild {
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	return c
}

// Validate reports a configuration RebuildOnline cannot run.
func (c OnlineRebuild) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("projectors: OnlineRebuild.DB is nil")
	case c.Events == nil:
		return errors.New("projectors: OnlineRebuild.Events is nil")
	case c.Registry == nil:
		return errors.New("projectors: OnlineRebuild.Registry is nil")
	}
	return nil
}

// RebuildOnline rebuilds a projection while its current generation keeps
// serving and its projector keeps updating it. It creates the next
// generation's tables in a schema of their own (named after the schema,
// the projection and the generation), projects every event of $all into
// them from the origin with a checkpoint of their own, and, once they
// have caught up with the serving projector's checkpoint, switches in one
// transaction: with the serving checkpoint locked (so the serving
// projector waits) and the serving tables locked (so reads wait), it
// drops the old generation's tables, moves the new ones under their names
// in Schema, advances the serving checkpoint to the new generation's and
// records the generation and the declared version. A read sees either
// generation whole, never a half-built one; the serving projector
// continues on the new tables and skips the events they already hold, so
// strongly consistent waits, which follow it, still mean what they did.
//
// Foreign keys of the projection's tables must stay among them. It fails
// with ErrRebuildRunning when another rebuild of the projection runs; a
// rebuild interrupted before its switch leaves the serving generation as
// it was, and the next one starts over.
func RebuildOnline(ctx context.Context, c OnlineRebuild) (int64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	c = c.withDefaults()
	schema, err := checkSchema(c.Schema)
	if err != nil {
		return 0, err
	}
	live, err := NewProjection(c.Name, schema)
	if err != nil {
		return 0, err
	}
	conn, err := c.DB.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("projectors: rebuild %s: %w", c.Name, err)
	}
	defer conn.Release()
	lockKey := "cohort.projectors.rebuild:" + schema + "." + c.Name
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", lockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("projectors: rebuild %s: %w", c.Name, err)
	}
	if !locked {
		return 0, fmt.Errorf("projectors: rebuild %s: %w", c.Name, ErrRebuildRunning)
	}
	defer func() {
		// On a cancelled ctx the unlock must still run: the connection
		// returns to the pool.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock(hashtext($1))", lockKey); err != nil {
			_ = conn.Conn().Close(uctx) // closing the session releases the lock
		}
	}()

	r := &rebuild{c: c, schema: schema, tables: live.Tables()}
	if _, err := Register(ctx, c.DB, schema, live); err != nil {
		return 0, err
	}
	err = r.start(ctx)
	if err == nil {
		err = r.fill(ctx, versionOf(live))
	}
	if err != nil {
		err = fmt.Errorf("projectors: rebuild %s generation %d: %w", c.Name, r.gen, err)
		return 0, errors.Join(err, r.abandon(ctx, err))
	}
	return r.gen, nil
}

// abandon drops the generation being built and records why it stopped.
func (r *rebuild) abandon(ctx context.Context, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if r.build != "" {
		if _, err := r.c.DB.Exec(ctx, "DROP SCHEMA IF EXISTS "+r.bq()+" CASCADE"); err != nil {
			return err
		}
	}
	_, err := r.c.DB.Exec(ctx, `UPDATE `+r.q()+`.projections SET building_generation = NULL, build_error = $2,
		updated_at = clock_timestamp() WHERE name = $1`, r.c.Name, cause.Error())
	return err
}

// rebuild is one online rebuild under way.
type rebuild struct {
	c         OnlineRebuild
	schema    string   // serving schema
	build     string   // schema of the generation being built
	tables    []string // the projection's tables
	gen       int64
	projector *Projector
}

func (r *rebuild) q() string  { return pgx.Identifier{r.schema}.Sanitize() }
func (r *rebuild) bq() string { return pgx.Identifier{r.build}.Sanitize() }

// start numbers the new generation and creates its empty tables.
func (r *rebuild) start(ctx context.Context) error {
	err := r.c.DB.QueryRow(ctx, `UPDATE `+r.q()+`.projections SET building_generation = generation + 1,
		build_position = 0, build_head = 0, build_started_at = clock_timestamp(), build_error = NULL,
		updated_at = clock_timestamp()
		WHERE name = $1 RETURNING building_generation`, r.c.Name).Scan(&r.gen)
	if err != nil {
		return err
	}
	r.build, err = checkSchema(fmt.Sprintf("%s_%s_g%d", r.schema, r.c.Name, r.gen))
	if err != nil {
		return err
	}
	p, err := NewProjection(r.c.Name, r.build)
	if err != nil {
		return err
	}
	if r.projector, err = NewProjector(r.c.DB, r.build, p); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, r.c.DB, func(tx pgx.Tx) error {
		return createGeneration(ctx, tx, r.schema, r.build, r.tables)
	})
}

// createGeneration creates in dst (dropped first if it exists) empty
// copies of src's tables with their columns, defaults, checks, keys,
// foreign keys and indexes under the same names, and a checkpoint table.
func createGeneration(ctx context.Context, tx pgx.Tx, src, dst string, tables []string) error {
	s, d := pgx.Identifier{src}.Sanitize(), pgx.Identifier{dst}.Sanitize()
	stmts := []string{"DROP SCHEMA IF EXISTS " + d + " CASCADE", "CREATE SCHEMA " + d,
		"CREATE TABLE " + d + ".projection_checkpoints (LIKE " + s + ".projection_checkpoints INCLUDING ALL)"}
	for _, t := range tables {
		t := pgx.Identifier{t}.Sanitize()
		stmts = append(stmts, "CREATE TABLE "+d+"."+t+" (LIKE "+s+"."+t+
			" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)")
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st); err != nil {
			return err
		}
	}
	// Keys first, then foreign keys, which need them. With the search
	// path on src, references among its tables come back unqualified and
	// resolve to dst's tables when added with the search path on dst.
	if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", s); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = ANY($2) AND k.contype IN ('p', 'u', 'x', 'f')
		ORDER BY k.contype = 'f', c.relname, k.conname`, src, tables)
	if err != nil {
		return err
	}
	type constraint struct{ table, name, def string }
	cons, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (constraint, error) {
		var c constraint
		return c, row.Scan(&c.table, &c.name, &c.def)
	})
	if err != nil {
		return err
	}
	// Indexes that back no key, renamed onto dst's table: the table is
	// always qualified in pg_get_indexdef's output.
	rows, err = tx.Query(ctx, `SELECT replace(pg_get_indexdef(i.indexrelid),
			' ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ',
			' ON ' || quote_ident($3) || '.' || quote_ident(c.relname) || ' ')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = ANY($2) AND NOT EXISTS (SELECT 1 FROM pg_constraint k
			WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
		ORDER BY 1`, src, tables, dst)
	if err != nil {
		return err
	}
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", d); err != nil {
		return err
	}
	for _, c := range cons {
		st := "ALTER TABLE " + d + "." + pgx.Identifier{c.table}.Sanitize() + " ADD CONSTRAINT " +
			pgx.Identifier{c.name}.Sanitize() + " " + c.def
		if _, err := tx.Exec(ctx, st); err != nil {
			return fmt.Errorf("copy constraint %s: %w", c.name, err)
		}
	}
	for _, ix := range indexes {
		if !strings.Contains(ix, " ON "+dst+".") && !strings.Contains(ix, " ON "+d+".") {
			return fmt.Errorf("copy index: unexpected definition %q", ix)
		}
		if _, err := tx.Exec(ctx, ix); err != nil {
			return fmt.Errorf("copy index: %w", err)
		}
	}
	_, err = tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", s)
	return err
}

// errBehind: the new generation has not caught up with the serving one.
var errBehind = errors.New("projectors: new generation behind the serving one")

// fill projects $all into the new generation, then switches to it once it
// has caught up.
func (r *rebuild) fill(ctx context.Context, version int64) error {
	var done, head int64
	for {
		recs, err := r.c.Events.ReadAll(ctx, eventstore.ReadOptions{From: done + 1, Count: r.c.BatchSize})
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			evs := make([]actors.Event, 0, len(recs))
			for _, rec := range recs {
				decoded, err := actors.DecodeEvents(r.c.Registry, rec)
				if err != nil {
					return fmt.Errorf("event at %d: %w", rec.Position, err)
				}
				evs = append(evs, decoded...)
			}
			if len(evs) > 0 { // upcasters may drop events
				if err := r.projector.HandleEvents(ctx, evs); err != nil {
					return err
				}
			}
			done = recs[len(recs)-1].Position
		}
		if len(recs) < r.c.BatchSize || done >= head {
			if head, err = r.head(ctx); err != nil {
				return err
			}
		}
		if _, err := r.c.DB.Exec(ctx, `UPDATE `+r.q()+`.projections SET build_position = $2, build_head = $3,
			updated_at = clock_timestamp() WHERE name = $1`, r.c.Name, done, max(head, done)); err != nil {
			return err
		}
		if r.c.Progress != nil {
			r.c.Progress(Progress{Name: r.c.Name, Generation: r.gen, Position: done, Head: max(head, done)})
		}
		if len(recs) == r.c.BatchSize {
			continue
		}
		switch err := r.switchOver(ctx, version); {
		case err == nil:
			return nil
		case errors.Is(err, errBehind) || retrySwitch(err):
			// The serving projector saw events this read did not yet
			// return, or the serving tables could not be locked at once:
			// read again and retry.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		default:
			return err
		}
	}
}

// switchLockTimeout bounds the wait of a switch for the serving tables'
// lock: the reads queued behind it wait as long, so it gives up and
// retries rather than stall them behind a long reader.
const switchLockTimeout = "500ms"

// retrySwitch reports whether a switch failed for a lock it may get on
// another try (lock_not_available, deadlock_detected).
func retrySwitch(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}

// head returns the last position in $all.
func (r *rebuild) head(ctx context.Context) (int64, error) {
	evs, err := r.c.Events.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Position, nil
}

// switchOver makes the new generation the serving one in one transaction,
// or fails with errBehind.
func (r *rebuild) switchOver(ctx context.Context, version int64) error {
	q, bq := r.q(), r.bq()
	return pgx.BeginFunc(ctx, r.c.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+switchLockTimeout+"'"); err != nil {
			return err
		}
		// The serving projector locks its checkpoint first too: it waits
		// here, and sees the new checkpoint after.
		var serving, built int64
		err := tx.QueryRow(ctx, `INSERT INTO `+q+`.projection_checkpoints (name) VALUES ($1)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING position`, r.c.Name).Scan(&serving)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT position FROM `+bq+`.projection_checkpoints WHERE name = $1`, r.c.Name).Scan(&built)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if built < serving {
			return errBehind
		}
		var old, moved []string
		for _, t := range r.tables {
			t := pgx.Identifier{t}.Sanitize()
			old = append(old, q+"."+t)
			moved = append(moved, "ALTER TABLE "+bq+"."+t+" SET SCHEMA "+q)
		}
		stmts := append([]string{
			"LOCK TABLE " + strings.Join(old, ", ") + " IN ACCESS EXCLUSIVE MODE",
			"DROP TABLE " + strings.Join(old, ", "),
		}, moved...)
		stmts = append(stmts, "DROP SCHEMA "+bq+" CASCADE")
		for _, st := range stmts {
			if _, err := tx.Exec(ctx, st); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+q+`.projection_checkpoints SET position = $2, updated_at = clock_timestamp()
			WHERE name = $1`, r.c.Name, built); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE `+q+`.projections SET generation = $2, version = $3, building_generation = NULL,
			build_position = $4, updated_at = clock_timestamp() WHERE name = $1`, r.c.Name, r.gen, version, built)
		return err
	})
}

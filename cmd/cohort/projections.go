package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
)

// The projector runtime keeps one row per projection in the read model's
// projections table (see the projectors package): the serving generation,
// the declared version, the state of an online rebuild, and a request
// flag that the serving process polls. These commands read and set it
// with SQL, so that they work on any Cohort application's read model.

// head returns the last position in $all, 0 when the store is empty.
func (e *env) head(ctx context.Context) (int64, error) {
	s, err := e.open(ctx)
	if err != nil {
		return 0, err
	}
	evs, err := s.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Position, nil
}

// readTable returns the quoted name of a table of the read model.
func (e *env) readTable(name string) string {
	return pgx.Identifier{e.readSchema, name}.Sanitize()
}

func listProjections(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: projections takes no arguments", errUsage)
	}
	head, err := e.head(ctx)
	if err != nil {
		return err
	}
	rows, err := e.pool.Query(ctx, `SELECT p.name, p.generation, p.version, coalesce(c.position, 0),
			p.building_generation, p.build_position, p.build_head, p.rebuild_requested_at IS NOT NULL,
			p.build_error IS NOT NULL
		FROM `+e.readTable("projections")+` p LEFT JOIN `+e.readTable("projection_checkpoints")+` c USING (name)
		ORDER BY p.name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROJECTION\tGENERATION\tVERSION\tPOSITION\tLAG\tREBUILD")
	for rows.Next() {
		var name string
		var gen, version, pos, buildPos, buildHead int64
		var building *int64
		var requested, failed bool
		if err := rows.Scan(&name, &gen, &version, &pos, &building, &buildPos, &buildHead, &requested, &failed); err != nil {
			return err
		}
		state := "-"
		switch {
		case building != nil:
			state = fmt.Sprintf("generation %d at %d/%d", *building, buildPos, buildHead)
		case requested:
			state = "requested"
		case failed:
			state = "last one failed (see the serving process's log)"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\n", name, gen, version, pos, max(head-pos, 0), state)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// rebuildState is a projection's row as rebuild follows it.
type rebuildState struct {
	generation       int64
	building         *int64
	position, head   int64
	elapsed          float64 // seconds since the build started
	requested, found bool
	failure          string // why the last rebuild stopped before its switch
}

func (e *env) rebuildState(ctx context.Context, name string) (rebuildState, error) {
	var s rebuildState
	err := e.pool.QueryRow(ctx, `SELECT generation, building_generation, build_position, build_head,
			coalesce(extract(epoch FROM clock_timestamp() - build_started_at), 0)::float8, rebuild_requested_at IS NOT NULL,
			coalesce(build_error, '')
		FROM `+e.readTable("projections")+` WHERE name = $1`, name).
		Scan(&s.generation, &s.building, &s.position, &s.head, &s.elapsed, &s.requested, &s.failure)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil
	}
	s.found = err == nil
	return s, err
}

// unclaimedHint is how long rebuild waits for a serving process to take
// its request before it says that none may be running.
const unclaimedHint = 30 * time.Second

func requestRebuild(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	wait := fs.Bool("wait", true, "follow the rebuild until the new generation serves")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("%w: rebuild [-wait=false] NAME", errUsage)
	}
	name := fs.Arg(0)
	before, err := e.rebuildState(ctx, name)
	if err != nil {
		return err
	}
	if !before.found {
		return fmt.Errorf("no projection %q in %s (see the projections command)", name, e.readTable("projections"))
	}
	if _, err := e.pool.Exec(ctx, `UPDATE `+e.readTable("projections")+`
		SET rebuild_requested_at = clock_timestamp(), build_error = NULL, updated_at = clock_timestamp()
		WHERE name = $1`, name); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rebuild of %s requested (generation %d serving)\n", name, before.generation)
	if !*wait {
		return nil
	}
	start := time.Now()
	hinted := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stderr)
			return ctx.Err()
		case <-tick.C:
		}
		s, err := e.rebuildState(ctx, name)
		if err != nil {
			return err
		}
		switch {
		case s.generation > before.generation:
			fmt.Fprintf(e.stderr, "\r%s\n", progressLine(name, s.generation, s.position, s.position, s.elapsed))
			fmt.Fprintf(e.stdout, "%s: generation %d serving after %s\n", name, s.generation, time.Since(start).Round(time.Millisecond))
			return nil
		case s.failure != "" && s.building == nil && !s.requested:
			fmt.Fprintln(e.stderr)
			return fmt.Errorf("the rebuild of %s stopped before its switch (generation %d still serves): %s", name, s.generation, s.failure)
		case s.building != nil:
			fmt.Fprintf(e.stderr, "\r%s", progressLine(name, *s.building, s.position, s.head, s.elapsed))
		case s.requested && !hinted && time.Since(start) > unclaimedHint:
			hinted = true
			fmt.Fprintf(e.stderr, "no process has taken the request after %s: is one serving %s?\n", unclaimedHint, name)
		}
	}
}

// progressLine draws a rebuild's progress with an estimate of the time
// left at its rate so far.
func progressLine(name string, gen, pos, head int64, elapsed float64) string {
	const width = 30
	frac := 1.0
	if head > 0 {
		frac = min(float64(pos)/float64(head), 1)
	}
	n := int(frac * width)
	eta := "?"
	if pos > 0 && elapsed > 0 {
		left := time.Duration(float64(max(head-pos, 0)) / (float64(pos) / elapsed) * float64(time.Second))
		eta = left.Round(time.Second).String()
	}
	return fmt.Sprintf("rebuild %s generation %d [%s%s] %5.1f%% %d/%d events, ETA %s",
		name, gen, strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, pos, head, eta)
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/projectors"
)

// RebuildUsage explains the rebuild subcommand.
const RebuildUsage = `Usage: conduit rebuild [-data DIR] [-pg-bin DIR] [-log-json] [PROJECTION ...]

Rebuilds projections of the read model from the first event: empties their
tables, replays every event into them with a progress bar on stderr, and
prints a summary. Without PROJECTION, rebuilds them all (users, blog,
comments). Stop the serving Conduit first; DATABASE_URL selects an
external database as for serving. To rebuild while Conduit serves, run
"cohort rebuild NAME" instead: the serving process takes the request.
`

// RebuildSummary is what a rebuild did.
type RebuildSummary struct {
	Projections []string
	Events      int64 // events in the store when the rebuild started
	Took        time.Duration
}

// EventsPerSecond is the rebuild's rate.
func (s RebuildSummary) EventsPerSecond() float64 {
	return float64(s.Events) / max(s.Took.Seconds(), 1e-9)
}

// Rebuild rebuilds the named projections (all when none), drawing progress
// on progress, and returns once they have caught up with every event
// stored when it started.
func (m *Main) Rebuild(ctx context.Context, names []string, progress io.Writer) (RebuildSummary, error) {
	if err := m.Config.Validate(); err != nil {
		return RebuildSummary{}, err
	}
	all := make([]string, 0, 3)
	for _, p := range projectors.All(projectors.DefaultSchema) {
		all = append(all, p.Name())
	}
	if len(names) == 0 {
		names = all
	}
	for _, n := range names {
		if !slices.Contains(all, n) {
			return RebuildSummary{}, fmt.Errorf("no projection %q (projections: %s)", n, strings.Join(all, ", "))
		}
	}
	dataDir, err := filepath.Abs(m.Config.DataDir)
	if err != nil {
		return RebuildSummary{}, err
	}
	if err := os.MkdirAll(dataDir, dataDirMode); err != nil {
		return RebuildSummary{}, fmt.Errorf("data directory: %w", err)
	}
	connString := m.Config.DatabaseURL
	if connString == "" {
		if connString, err = m.startLocalDatabase(ctx, dataDir); err != nil {
			return RebuildSummary{}, err
		}
	}
	if m.pool, err = connect(ctx, connString); err != nil {
		return RebuildSummary{}, err
	}
	key, err := claimsKey(m.Config.ClaimsKey, dataDir)
	if err != nil {
		return RebuildSummary{}, err
	}
	master, err := masterKey(m.Config.MasterKey, dataDir)
	if err != nil {
		return RebuildSummary{}, err
	}
	if err := m.openStore(ctx, nil); err != nil {
		return RebuildSummary{}, err
	}
	cfg := conduit.Config{Store: m.store, DB: m.pool, ReadSchema: m.Config.ReadSchema, Logger: m.Logger, ClaimsKey: key, MasterKey: master}
	if m.app, err = conduit.NewTool(ctx, cfg, conduit.ToolOptions{Handlers: names}); err != nil {
		return RebuildSummary{}, err
	}
	var events int64
	table := pgx.Identifier{cmp.Or(m.Config.EventSchema, postgres.DefaultSchema), "events"}.Sanitize()
	if err := m.pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&events); err != nil {
		return RebuildSummary{}, fmt.Errorf("count events: %w", err)
	}
	start := time.Now()
	if err := m.app.Rebuild(ctx, names...); err != nil {
		return RebuildSummary{}, err
	}
	if err := m.app.Start(ctx); err != nil {
		return RebuildSummary{}, err
	}
	rt := m.app.Runtime()
	head := int64(-1)
	bar := progressBar{w: progress, label: "rebuild " + strings.Join(names, ",")}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var done, total int64
		finished := true
		for _, h := range rt.Inspect(ctx).Handlers {
			if !slices.Contains(names, h.Name) {
				continue
			}
			if strings.HasPrefix(h.Status, "stopped") {
				return RebuildSummary{}, errors.New(h.Name + " " + h.Status)
			}
			if head < 0 {
				head = h.Head // every event stored when the rebuild started
			}
			done += min(h.Position, head)
			total += head
			finished = finished && h.Position >= head
		}
		bar.draw(done, total)
		if finished && head >= 0 {
			bar.finish()
			return RebuildSummary{Projections: names, Events: events, Took: time.Since(start)}, nil
		}
		select {
		case <-ctx.Done():
			bar.finish()
			return RebuildSummary{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// progressBar draws one line that it redraws in place.
type progressBar struct {
	w     io.Writer
	label string
}

func (b progressBar) draw(done, total int64) {
	const width = 40
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %5.1f%%", b.label, strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac)
}

func (b progressBar) finish() { fmt.Fprintln(b.w) }

// Command cohort operates a Cohort event store in PostgreSQL: migrate its
// schema, list streams and show their events, list persistent
// subscriptions with their lag, reset the store, list the projections of
// a read model and rebuild one online.
//
// Usage:
//
//	cohort [-database-url URL] [-schema NAME] [-read-schema NAME] <command> [arguments]
//
// The database comes from -database-url or DATABASE_URL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `Usage: cohort [-database-url URL] [-schema NAME] [-read-schema NAME] <command> [arguments]

Commands:
  migrate                      create or upgrade the event store's schema
  streams [-prefix P] [-limit N] [-after ID]
                               list streams
  stream [-from V] [-limit N] [-json] ID
                               show a stream's events with their metadata
  subscriptions                list persistent subscriptions, their checkpoint and lag
  reset -yes                   delete every stream, snapshot and subscription, then migrate
  projections                  list the read model's projections: generation, version, position, lag
  rebuild [-wait=false] NAME   ask the serving process to rebuild a projection online, and
                               follow it to the switch with a progress line and an ETA

The database comes from -database-url or the DATABASE_URL environment variable;
-read-schema names the read model's schema (default conduit).
`

// errUsage marks a command line that cannot be run.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cohort", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL connection string")
	schema := fs.String("schema", postgres.DefaultSchema, "schema of the event store")
	readSchema := fs.String("read-schema", "conduit", "schema of the read model (projections)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	if *dbURL == "" {
		fmt.Fprintln(stderr, "cohort: no database: set DATABASE_URL or pass -database-url")
		return exitUsage
	}
	cmd, cmdArgs := fs.Arg(0), fs.Args()[1:]
	commands := map[string]func(context.Context, *env, []string) error{
		"migrate":       migrate,
		"streams":       listStreams,
		"stream":        showStream,
		"subscriptions": listSubscriptions,
		"reset":         reset,
		"projections":   listProjections,
		"rebuild":       requestRebuild,
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "cohort: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		fmt.Fprintln(stderr, "cohort:", err)
		return exitError
	}
	defer pool.Close()
	e := &env{pool: pool, schema: *schema, readSchema: *readSchema, stdout: stdout, stderr: stderr}
	defer e.close()
	switch err := f(ctx, e, cmdArgs); {
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "cohort %s: %v\n", cmd, err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "cohort %s: %v\n", cmd, err)
		return exitError
	}
	return exitOK
}

// env is what commands share.
type env struct {
	pool       *pgxpool.Pool
	schema     string
	readSchema string // the read model's, for projections
	store      *postgres.Store
	stdout     io.Writer
	stderr     io.Writer
}

// open opens the store once.
func (e *env) open(ctx context.Context) (*postgres.Store, error) {
	if e.store == nil {
		s, err := postgres.New(ctx, e.pool, postgres.Config{Schema: e.schema})
		if err != nil {
			return nil, err
		}
		e.store = s
	}
	return e.store, nil
}

func (e *env) close() {
	if e.store != nil {
		_ = e.store.Close()
	}
}

func migrate(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	if err := postgres.Migrate(ctx, e.pool, e.schema); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema %s at version %d\n", e.schema, postgres.SchemaVersion())
	return nil
}

func listStreams(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("streams", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	prefix := fs.String("prefix", "", "only streams whose id starts with this")
	after := fs.String("after", "", "only streams whose id sorts after this")
	limit := fs.Int("limit", 100, "at most this many streams")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: streams [-prefix P] [-after ID] [-limit N]", errUsage)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	infos, err := s.ListStreams(ctx, *prefix, *after, *limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STREAM\tVERSION\tDELETED\tCREATED")
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%d\t%t\t%s\n", i.StreamID, i.Version, i.Deleted, i.CreatedAt.Format(time.RFC3339Nano))
	}
	return w.Flush()
}

func showStream(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	from := fs.Int64("from", 1, "first version to show")
	limit := fs.Int("limit", 100, "at most this many events")
	asJSON := fs.Bool("json", false, "one JSON object per event")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("%w: stream [-from V] [-limit N] [-json] ID", errUsage)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	evs, err := s.ReadStream(ctx, fs.Arg(0), eventstore.ReadOptions{From: *from, Count: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, ev := range evs {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	}
	for _, ev := range evs {
		fmt.Fprintf(e.stdout, "%d\t%s\tposition %d\t%s\n", ev.StreamVersion, ev.Type, ev.Position, ev.CreatedAt.Format(time.RFC3339Nano))
		fmt.Fprintf(e.stdout, "\tid %s  causation %s  correlation %s\n", ev.ID, ev.CausationID, ev.CorrelationID)
		if ev.IsLink() {
			fmt.Fprintf(e.stdout, "\tlinked from %s@%d\n", ev.OriginStreamID, ev.OriginStreamVersion)
		}
		fmt.Fprintf(e.stdout, "\tdata     %s\n", ev.Data)
		if len(ev.Metadata) > 0 {
			fmt.Fprintf(e.stdout, "\tmetadata %s\n", ev.Metadata)
		}
	}
	return nil
}

func listSubscriptions(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: subscriptions takes no arguments", errUsage)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SUBSCRIPTION\tSTREAM\tCHECKPOINT\tLAG\tOLDEST PENDING\tACTIVE")
	for _, sub := range subs {
		oldest := "-"
		if !sub.Oldest.IsZero() {
			oldest = time.Since(sub.Oldest).Round(time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%t\n", sub.Name, sub.Stream, sub.Checkpoint, sub.Lag, oldest, sub.Active)
	}
	return w.Flush()
}

func reset(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	yes := fs.Bool("yes", false, "confirm: delete everything in the event store")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: reset -yes", errUsage)
	}
	if !*yes {
		return fmt.Errorf("%w: reset deletes every event in schema %s; confirm with -yes", errUsage, e.schema)
	}
	if err := postgres.Drop(ctx, e.pool, e.schema); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, e.pool, e.schema); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema %s reset\n", e.schema)
	return nil
}

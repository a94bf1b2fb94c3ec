package conduit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/conduit/ratelimit"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/processmanagers"
	"github.com/cohort-dev/cohort/projectors"
)

// EventStore is what Conduit needs of its event store: what the runtime
// needs, reading $all (the head, online rebuilds) and deleting streams
// (released claims). cmd/conduit gives it a *postgres.Store.
type EventStore interface {
	actors.EventStore
	eventstore.AllReader
	eventstore.StreamAdmin
}

// Config configures an App: what a server sets. The caller builds the
// adapters, as cmd/conduit does: it migrates and opens the event store
// (postgres.Migrate, postgres.New) and the pool, migrates the read model
// (Migrate), and closes the store, then the pool, after the App.
type Config struct {
	// Store is the event store. Required; the caller closes it after the
	// App.
	Store EventStore
	// DB is the PostgreSQL pool for the read model. Required; the caller
	// closes it after the App and the store.
	DB *pgxpool.Pool
	// ReadSchema holds the read model; default projectors.DefaultSchema.
	ReadSchema string
	// Password are the Argon2id parameters of new password hashes; the
	// zero value means password.DefaultParams.
	Password password.Params
	// MaxHashes bounds the password hashes running or waiting for a CPU at
	// once (registrations, logins, changes of password); beyond it, those
	// use cases fail at once with ErrOverloaded instead of queueing.
	// Default DefaultMaxHashes.
	MaxHashes int
	// Logger receives the application's logs; default discards them.
	Logger *slog.Logger
	// DispatchTimeout bounds one command, its strongly consistent
	// handlers included (default 10 s).
	DispatchTimeout time.Duration
	// TracerProvider and MeterProvider receive the runtime's traces and
	// metrics (default: none).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// ClaimsKey keys the hash that names the streams of the username,
	// email and slug claims, so that the event store holds no email in
	// plain (see unique.Config): at least unique.MinKeyLength bytes,
	// secret, and the same for every process on the database for as long
	// as it lives. Required; Start refuses another key than the one the
	// database's claims were made with.
	ClaimsKey []byte
	// Forgetter forgets a deleted user's personal data (see DeleteUser
	// and ForgetHandler); default the application's own runtime, whose
	// Forget deletes the user's data key (see MasterKey), so that their
	// encrypted fields read as actors.ForgottenPlaceholder everywhere.
	Forgetter Forgetter
	// RebuildPoll is how often the application looks for requested online
	// rebuilds of the projections it runs (see App.RebuildOnline); default
	// a second, negative never.
	RebuildPoll time.Duration
	// MasterKey wraps the users' data keys: actors.MasterKeySize random
	// bytes, the same for every process on the database. Required: a
	// user's email, password hash, bio and image are stored encrypted with
	// the user's key (see actors.Personal), and Start fails without it or
	// with another key than the one the stored keys were wrapped with.
	MasterKey []byte
	// Cluster, if set, makes the App a member of a cluster of Conduit
	// processes on one database (see actors.ClusterConfig): each aggregate
	// lives on one member, and a command sent to any member runs there.
	// Every member registers Conduit's domain errors, so a refusal maps to
	// the same HTTP status whichever member ran the command.
	Cluster *actors.ClusterConfig
}

// DefaultMaxHashes is Config.MaxHashes by default: 32 per GOMAXPROCS. A
// hash takes tens of milliseconds of one CPU, so the last one admitted
// waits about a second for its turn, and bursts of a few dozen clients
// (a bulk load's workers) still pass.
func DefaultMaxHashes() int { return 32 * runtime.GOMAXPROCS(0) }

// HandlerNames lists what ToolOptions.Handlers selects from: the
// projections (see App.ProjectionNames), the author workflow, the claims
// handler and the forget handler.
func HandlerNames() []string {
	var names []string
	for _, p := range projectors.All(projectors.DefaultSchema) {
		names = append(names, p.Name())
	}
	return append(names, processmanagers.AuthorFromUserName, ClaimsHandler, ForgetHandler)
}

// Validate reports a configuration New cannot run: a missing adapter or a
// negative setting.
func (c Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("conduit: Config.Store is nil")
	case c.DB == nil:
		return errors.New("conduit: Config.DB is nil")
	case c.MaxHashes < 0:
		return errors.New("conduit: Config.MaxHashes is negative")
	case c.DispatchTimeout < 0:
		return errors.New("conduit: Config.DispatchTimeout is negative")
	case len(c.MasterKey) != actors.MasterKeySize:
		return fmt.Errorf("conduit: Config.MasterKey has %d bytes, want %d", len(c.MasterKey), actors.MasterKeySize)
	case len(c.ClaimsKey) < unique.MinKeyLength:
		return fmt.Errorf("conduit: Config.ClaimsKey has %d bytes, want at least %d", len(c.ClaimsKey), unique.MinKeyLength)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.ReadSchema == "" {
		c.ReadSchema = projectors.DefaultSchema
	}
	if c.Password == (password.Params{}) {
		c.Password = password.DefaultParams
	}
	if c.MaxHashes == 0 {
		c.MaxHashes = DefaultMaxHashes()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.DispatchTimeout == 0 {
		c.DispatchTimeout = 10 * time.Second
	}
	if c.RebuildPoll == 0 {
		c.RebuildPoll = time.Second
	}
	return c
}

// Migrate creates or upgrades the read model's tables in readSchema
// (empty: projectors.DefaultSchema); the event store's are the store's
// (postgres.Migrate). It is idempotent and safe to run from several
// processes.
func Migrate(ctx context.Context, db *pgxpool.Pool, readSchema string) error {
	if db == nil {
		return errors.New("conduit: Migrate: the pool is nil")
	}
	return projectors.Migrate(ctx, db, readSchema)
}

// App is Conduit: the runtime with everything registered, and the use
// cases. Create it with New, optionally Rebuild projections, Start it, and
// Close it.
type App struct {
	cfg         Config
	tool        ToolOptions
	log         *slog.Logger
	store       EventStore
	runtime     *actors.App
	streams     *unique.Streams // names the claim streams
	claims      *unique.Claims
	hasher      *password.Hasher
	hashing     *ratelimit.Gate // admits hashes to hasher
	read        *projectors.Queries
	projections []projectors.Projection
	// What registrations and other account writes wait for (see
	// waitsForRegistration), among the handlers this application runs.
	registrationWaits, accountWaits []string
	rebuilds                        rebuilds // online rebuilds on request
}

// ClaimsHandler names the handler that releases article slugs (and the
// usernames and emails of account events stored before their claims were
// written with them; see releaser).
const ClaimsHandler = "conduit.ReleaseClaims"

// releasePartitions is the claims handler's concurrency.
const releasePartitions = 8

// New builds the application on the caller's event store and on a
// migrated read model (see Migrate). It runs every handler, and every use
// case is strongly consistent, as a server must.
func New(ctx context.Context, cfg Config) (*App, error) {
	return NewTool(ctx, cfg, ToolOptions{})
}

// NewTool is New for benchmarks and tools: opts selects the handlers the
// application runs and how its account use cases wait (see ToolOptions).
// A server calls New.
func NewTool(ctx context.Context, cfg Config, opts ToolOptions) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	hasher, err := password.NewHasher(cfg.Password)
	if err != nil {
		return nil, err
	}
	hashing, err := ratelimit.NewGate(cfg.MaxHashes)
	if err != nil {
		return nil, fmt.Errorf("conduit: Config.MaxHashes: %w", err)
	}
	read, err := projectors.NewQueries(cfg.DB, cfg.ReadSchema)
	if err != nil {
		return nil, err
	}
	streams, err := unique.NewStreams(unique.Config{Key: cfg.ClaimsKey})
	if err != nil {
		return nil, fmt.Errorf("conduit: Config.ClaimsKey: %w", err)
	}
	a := &App{
		cfg:         cfg,
		tool:        opts,
		log:         cfg.Logger,
		store:       cfg.Store,
		streams:     streams,
		claims:      unique.New(cfg.Store, streams),
		hasher:      hasher,
		hashing:     hashing,
		read:        read,
		projections: projectors.All(cfg.ReadSchema),

		registrationWaits: opts.running(waitsForRegistration),
		accountWaits:      opts.running(waitsForAccount),
	}
	if err := a.assemble(); err != nil {
		return nil, err
	}
	return a, nil
}

// assemble creates the runtime and registers the aggregates, the
// workflow, the projectors and the claims handler.
func (a *App) assemble() error {
	rt, err := actors.New(actors.Config{Store: a.store, Logger: a.log, DispatchTimeout: a.cfg.DispatchTimeout,
		TracerProvider: a.cfg.TracerProvider, MeterProvider: a.cfg.MeterProvider,
		Personal: actors.Personal{MasterKey: a.cfg.MasterKey}, Cluster: a.cfg.Cluster})
	if err != nil {
		return err
	}
	a.runtime = rt
	if err := registerDomainErrors(rt.Registry()); err != nil {
		return err
	}
	if err := accounts.Register(rt, a.streams); err != nil {
		return err
	}
	if err := blog.Register(rt); err != nil {
		return err
	}
	if a.tool.runs(processmanagers.AuthorFromUserName) {
		if err := processmanagers.Register(rt); err != nil {
			return err
		}
	}
	for _, p := range a.projections {
		if !a.tool.runs(p.Name()) {
			continue
		}
		pr, err := projectors.NewProjector(a.cfg.DB, a.cfg.ReadSchema, p)
		if err != nil {
			return err
		}
		if err := rt.RegisterHandler(pr.HandlerConfig()); err != nil {
			return err
		}
	}
	if a.tool.runs(ForgetHandler) {
		var f Forgetter = rt
		if a.cfg.Forgetter != nil {
			f = a.cfg.Forgetter
		}
		if err := rt.RegisterHandler(forgetHandler(f)); err != nil {
			return err
		}
	}
	if !a.tool.runs(ClaimsHandler) {
		return nil
	}
	return rt.RegisterHandler(actors.HandlerConfig{
		Name:        ClaimsHandler,
		Handler:     &releaser{claims: a.claims},
		Consistency: actors.Strong,
		// Each release is a read and a durable delete: partitions (by
		// stream, so each owner's releases stay in order) let them
		// share the disk's flushes instead of queueing one by one.
		Concurrency: releasePartitions,
		// Retried at most a second apart, as the projectors: strongly
		// consistent dispatches wait for it after a database outage too.
		OnError: actors.RetryPolicy(math.MaxInt, 50*time.Millisecond, time.Second),
	})
}

// Rebuild resets the named projections ("users", "blog", "comments"; none
// means all) so that Start projects them again from the first event. Call
// it before Start.
func (a *App) Rebuild(ctx context.Context, names ...string) error {
	for _, n := range names {
		if !slices.Contains(a.ProjectionNames(), n) {
			return fmt.Errorf("conduit: rebuild: no projection %q (projections: %v)", n, a.ProjectionNames())
		}
	}
	var ps []projectors.Projection
	for _, p := range a.projections {
		if len(names) == 0 || slices.Contains(names, p.Name()) {
			ps = append(ps, p)
		}
	}
	return projectors.Rebuild(ctx, a.cfg.DB, a.store, a.cfg.ReadSchema, ps...)
}

// ProjectionNames lists the read model's projections.
func (a *App) ProjectionNames() []string {
	var names []string
	for _, p := range a.projections {
		names = append(names, p.Name())
	}
	return names
}

// Start starts the runtime: aggregates, the workflow, the projectors and
// the claims handler, which catch up from their checkpoints.
// It then takes requests for online rebuilds, and requests one for each
// projection whose declared version differs from its stored one.
//
// Before anything reads a claim, it readies the claims for
// Config.ClaimsKey (see unique.Upgrade): it fails if the database's
// claims were made with another key, and the first time moves the claims
// an earlier version named in plain to their keyed streams (run no
// earlier version on the database at the same time).
func (a *App) Start(ctx context.Context) error {
	moved, err := unique.Upgrade(ctx, a.store, a.streams)
	if err != nil {
		return fmt.Errorf("conduit: claims: %w", err)
	}
	if moved > 0 {
		a.log.Info("claims named in plain moved to keyed streams", "claims", moved)
	}
	if err := a.runtime.Start(ctx); err != nil {
		return err
	}
	return a.startRebuilds(ctx)
}

// Close stops the runtime gracefully within ctx. An online rebuild under
// way is abandoned before its switch. The event store stays open: its
// caller closes it.
func (a *App) Close(ctx context.Context) error {
	a.stopRebuilds()
	return a.runtime.Close(ctx)
}

// Runtime returns the actors application, for callers that dispatch
// commands themselves (benchmarks). Accounts commands dispatched that way
// still claim their usernames and emails (the aggregate does), at the
// versions the command gives (0: never claimed), but a refused claim is
// not read and tried again as the use cases do; article commands skip
// the slug claims.
func (a *App) Runtime() *actors.App { return a.runtime }

// Queries returns the read model's queries.
func (a *App) Queries() *projectors.Queries { return a.read }

// Head returns the global position of the last event in the event store
// (0 when there is none): a projection whose checkpoint reaches it shows
// every event stored so far. Released claims, whose events were removed,
// may have held later positions, which no projection ever sees.
func (a *App) Head(ctx context.Context) (int64, error) {
	evs, err := a.store.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	if err != nil {
		return 0, fmt.Errorf("conduit: head: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	return evs[0].Position, nil
}

// dispatch dispatches cmd with strong consistency. If it fails for sure,
// the values claimed for it are released; errors are classified.
func (a *App) dispatch(ctx context.Context, cmd any, claimed *claimed) (actors.Result, error) {
	return a.dispatchWith(ctx, cmd, claimed, actors.WithConsistency(actors.Strong))
}

// What an account's use case waits for before it returns, so that its
// caller's next request sees the write. The API reads users, profiles and
// the names on articles and comments from the users projection; a new
// user's author, which follows and articles need, is created by the author
// workflow. A name or email given up is free for others as the command
// returns: its release is written with the command's events. Nothing the
// API returns comes from the authors the workflow renames, so a change of
// name does not wait for it.
var (
	waitsForRegistration = []string{projectors.UsersName, processmanagers.AuthorFromUserName}
	waitsForAccount      = []string{projectors.UsersName}
)

// dispatchAccount dispatches an accounts command, strongly consistent with
// waits (handlers this application runs; see ToolOptions.running), or
// eventually consistent with ToolOptions.EventualAccounts or when waits is
// empty; see dispatch. The result carries the user's state after the
// command (see userOf).
func (a *App) dispatchAccount(ctx context.Context, cmd any, claimed *claimed, waits []string) (actors.Result, error) {
	consistency := actors.WithConsistency(actors.Strong, waits...)
	if a.tool.EventualAccounts || len(waits) == 0 {
		consistency = actors.WithConsistency(actors.Eventual)
	}
	return a.dispatchWith(ctx, cmd, claimed, consistency, actors.WithReturning(actors.ReturnState))
}

func (a *App) dispatchWith(ctx context.Context, cmd any, claimed *claimed, opts ...actors.DispatchOption) (actors.Result, error) {
	res, err := a.runtime.Dispatch(ctx, cmd, opts...)
	if err != nil {
		switch {
		case failedForSure(err):
			claimed.release(ctx)
		case claimed != nil:
			a.log.Warn("command outcome unknown; keeping its claims", "command", fmt.Sprintf("%T", cmd), "err", err)
		}
		return res, classify(err)
	}
	return res, nil
}

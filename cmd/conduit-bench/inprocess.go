package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/processmanagers"
	"github.com/cohort-dev/cohort/projectors"
)

const (
	readSchema    = projectors.DefaultSchema
	appPoolConns  = 32
	authorTimeout = time.Minute // for the workflow to make progress
)

// handlers returns the handlers of a phase, as the seed ran them: the user
// projection alone (the seed's step 1), or with the author workflow and
// the author projection (step 15). Through the use cases, the claims
// handler, which frees old usernames, runs too: it is part of Conduit's
// uniqueness.
func (m *Main) handlers(workflow bool) []string {
	hs := []string{"users"}
	if workflow {
		hs = append(hs, "blog", processmanagers.AuthorFromUserName)
	}
	if m.Config.Via == ViaUseCases {
		hs = append(hs, conduit.ClaimsHandler)
	}
	return hs
}

// appRun is a Conduit application on the work database, with its pool.
type appRun struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	app    *conduit.App
	hasher *password.Hasher // with -via commands: hashes as RegisterUser would
	// consistency of the commands dispatched with -via commands.
	consistency actors.Consistency
	started     time.Time // when Start was called
}

// claimsKey names the claims in the benchmark's databases, which are
// throwaway: a fixed key, public, the same for every run.
var claimsKey = []byte("conduit-bench throwaway claims key")

// startApp starts Conduit on the work database with the given handlers
// (see newApp).
func (m *Main) startApp(ctx context.Context, handlers []string) (*appRun, error) {
	r, err := m.newApp(ctx, handlers)
	if err != nil {
		return nil, err
	}
	if err := r.start(ctx, m); err != nil {
		return nil, errors.Join(err, r.close())
	}
	return r, nil
}

// newApp builds Conduit on the work database with the given handlers, the
// recorder in its dispatch path, and the account use cases eventually
// consistent (unless -consistency strong); start starts it.
func (m *Main) newApp(ctx context.Context, handlers []string) (*appRun, error) {
	pool, err := m.srv.pool(ctx, dbWork, appPoolConns)
	if err != nil {
		return nil, err
	}
	logOut := io.Writer(m.Stderr)
	if m.Config.Quiet {
		logOut = io.Discard
	}
	r, err := newRun(ctx, pool, conduit.Config{
		Password:  m.Config.Password,
		Logger:    slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ClaimsKey: claimsKey,
		MasterKey: benchMasterKey,
	}, conduit.ToolOptions{Handlers: handlers, EventualAccounts: !m.Config.Strong})
	if err != nil {
		return nil, err
	}
	if err := r.app.Runtime().Use(m.rec.middleware); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if m.Config.Via == ViaCommands {
		if r.hasher, err = password.NewHasher(m.Config.Password); err != nil {
			return nil, errors.Join(err, r.close())
		}
		r.consistency = actors.Eventual
		if m.Config.Strong {
			r.consistency = actors.Strong
		}
	}
	return r, nil
}

// start starts the application, with the recorder reset.
func (r *appRun) start(ctx context.Context, m *Main) error {
	m.rec.reset()
	r.started = time.Now()
	return r.app.Start(ctx)
}

// register registers user i: through RegisterUser, or as the command it
// dispatches (validated, its password hashed) without the uniqueness
// claims.
func (r *appRun) register(ctx context.Context, i int) (string, error) {
	name, email, pass := username(i, 0), username(i, 0)+"@bench.example", fmt.Sprintf("password-%d", i)
	if r.hasher == nil {
		u, err := r.app.RegisterUser(ctx, conduit.Registration{Username: name, Email: email, Password: pass})
		return u.ID, err
	}
	var errs validation.Errors
	accounts.ValidateUsername(&errs, name)
	accounts.ValidateEmail(&errs, email)
	accounts.ValidatePassword(&errs, pass)
	if err := errs.Err(); err != nil {
		return "", err
	}
	hash, err := r.hasher.Hash(ctx, pass)
	if err != nil {
		return "", err
	}
	id := uuid.Must(uuid.NewV7()).String()
	_, err = r.app.Runtime().Dispatch(ctx, accounts.RegisterUser{UserID: id, Username: name, Email: email, HashedPassword: hash},
		actors.WithConsistency(r.consistency))
	return id, err
}

// rename changes the username of user id: through UpdateUser, or as the
// command it dispatches, which claims the new name as never claimed (the
// benchmark's names are new) and releases the old one in its append.
func (r *appRun) rename(ctx context.Context, id, name string) error {
	if r.hasher == nil {
		_, err := r.app.UpdateUser(ctx, id, conduit.UserUpdate{Username: &name})
		return err
	}
	var errs validation.Errors
	accounts.ValidateUsername(&errs, name)
	if err := errs.Err(); err != nil {
		return err
	}
	_, err := r.app.Runtime().Dispatch(ctx, accounts.UpdateUser{UserID: id, Username: &name}, actors.WithConsistency(r.consistency))
	return err
}

// close stops the application and closes its pool.
func (r *appRun) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := errors.Join(r.app.Close(ctx), r.store.Close())
	r.pool.Close()
	return err
}

// newRun builds Conduit as cmd/conduit does: it opens the event store on
// pool (migrated by migrate) and hands it, with the pool for the read
// model, to conduit.NewTool with cfg's other settings and opts. The run
// owns pool: close closes the application, the store, then the pool; so
// does a failed newRun.
func newRun(ctx context.Context, pool *pgxpool.Pool, cfg conduit.Config, opts conduit.ToolOptions) (*appRun, error) {
	store, err := postgres.New(ctx, pool, postgres.Config{Logger: cfg.Logger})
	if err != nil {
		pool.Close()
		return nil, err
	}
	cfg.Store, cfg.DB = store, pool
	app, err := conduit.NewTool(ctx, cfg, opts)
	if err != nil {
		err = errors.Join(err, store.Close())
		pool.Close()
		return nil, err
	}
	return &appRun{pool: pool, store: store, app: app}, nil
}

// migrate creates or upgrades the event store's and the read model's
// tables on pool, in their default schemas.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := postgres.Migrate(ctx, pool, ""); err != nil {
		return fmt.Errorf("migrate the event store: %w", err)
	}
	if err := conduit.Migrate(ctx, pool, ""); err != nil {
		return fmt.Errorf("migrate the read model: %w", err)
	}
	return nil
}

// lineage is what the work database holds: the users it registered and
// the account events they caused.
type lineage struct {
	ids           []string // user ids, by user number
	accountEvents int      // UserRegistered and UsernameChanged events
	renamed       bool     // a rename phase ran on it
}

// runInProcess runs the phases in the seed's order on the throwaway
// database, dumping and restoring it between them as the seed did.
func (m *Main) runInProcess(ctx context.Context) error {
	cfg := m.Config
	needUsersDump := cfg.Runs(PhaseWorkflow) || cfg.Runs(PhaseRenameCold) ||
		(cfg.Runs(PhaseRebuild) && !cfg.Runs(PhaseRenameWarm))
	needSetup := cfg.Runs(PhaseRegisterSeq) || cfg.Runs(PhaseRegisterPar) || cfg.Runs(PhaseRenameWarm) ||
		needUsersDump || cfg.Runs(PhaseRebuild)
	if !needSetup {
		return nil
	}
	if err := m.setup(ctx); err != nil {
		return err
	}

	// The seed's dump after the registrations, for phases 4 and 5: taken
	// after the sequential registrations (the same users as the parallel
	// ones), since phase 3 must go on in the process that registered.
	var dumped []string
	if cfg.Runs(PhaseRegisterSeq) || needUsersDump {
		workers := 1
		if !cfg.Runs(PhaseRegisterSeq) {
			workers = cfg.Workers // only preparing the dump
		}
		err := m.phase(ctx, PhaseRegisterSeq, func(ctx context.Context) error {
			run, err := m.startApp(ctx, m.handlers(false))
			if err != nil {
				return err
			}
			ids, res, err := m.register(ctx, run, PhaseRegisterSeq, workers)
			if err = errors.Join(err, run.close()); err != nil {
				return err
			}
			dumped = ids
			m.add(res)
			return m.srv.copy(ctx, dbWork, dbUsers)
		})
		if err != nil {
			return err
		}
	}

	var last *lineage
	if cfg.Runs(PhaseRegisterPar) || cfg.Runs(PhaseRenameWarm) {
		var warm *appRun
		err := m.phase(ctx, PhaseRegisterPar, func(ctx context.Context) error {
			if err := m.srv.copy(ctx, dbEmpty, dbWork); err != nil {
				return err
			}
			run, err := m.startApp(ctx, m.handlers(false))
			if err != nil {
				return err
			}
			warm = run
			ids, res, err := m.register(ctx, run, PhaseRegisterPar, cfg.Workers)
			if err != nil {
				return err
			}
			m.add(res)
			last = &lineage{ids: ids, accountEvents: len(ids)}
			return nil
		})
		// Phase 3 renames these users in the same process: warm.
		if err == nil && cfg.Runs(PhaseRenameWarm) {
			err = m.phase(ctx, PhaseRenameWarm, func(ctx context.Context) error {
				res, err := m.renames(ctx, warm, PhaseRenameWarm, last.ids, false)
				m.add(res)
				last.accountEvents += cfg.Renames
				last.renamed = true
				return err
			})
		}
		if warm != nil {
			err = errors.Join(err, warm.close())
		}
		if err != nil {
			return err
		}
	}

	if cfg.Runs(PhaseWorkflow) {
		err := m.phase(ctx, PhaseWorkflow, func(ctx context.Context) error {
			// The users are cold (a new process); the authors the
			// workflow creates now stay warm for the renames.
			run, authors, err := m.restoreWithAuthors(ctx, len(dumped), "4  %s authors created by the workflow")
			if err != nil {
				return err
			}
			res, err := m.renames(ctx, run, PhaseWorkflow, dumped, true)
			res.Authors = authors
			m.add(res)
			last = &lineage{ids: dumped, accountEvents: len(dumped) + cfg.Renames, renamed: true}
			return errors.Join(err, run.close())
		})
		if err != nil {
			return err
		}
	}

	if cfg.Runs(PhaseRenameCold) {
		err := m.phase(ctx, PhaseRenameCold, func(ctx context.Context) error {
			// The seed's second dump, with the authors: create them, then
			// stop the application, as the seed stopped its VM.
			run, _, err := m.restoreWithAuthors(ctx, len(dumped), "5  %s authors created (the seed's second dump)")
			if err != nil {
				return err
			}
			if err := run.close(); err != nil {
				return err
			}
			cold, err := m.startApp(ctx, m.handlers(true))
			if err != nil {
				return err
			}
			res, err := m.renames(ctx, cold, PhaseRenameCold, dumped, true)
			res.Notes = append(res.Notes, "a new actors.App on the restored database, nothing in memory; "+
				"each user, author and workflow instance loads on its first command. "+
				"User snapshots are taken every 50 events and Author snapshots every 100, so none exists yet: "+
				"each aggregate loads its one event from its stream.")
			m.add(res)
			last = &lineage{ids: dumped, accountEvents: len(dumped) + cfg.Renames, renamed: true}
			return errors.Join(err, cold.close())
		})
		if err != nil {
			return err
		}
	}

	if cfg.Runs(PhaseRebuild) {
		return m.phase(ctx, PhaseRebuild, func(ctx context.Context) error {
			if last == nil || !last.renamed {
				// Prepare the events: the users renamed, as in phase 3.
				if err := m.srv.copy(ctx, dbUsers, dbWork); err != nil {
					return err
				}
				run, err := m.startApp(ctx, m.handlers(false))
				if err != nil {
					return err
				}
				_, err = m.renames(ctx, run, "rebuild-prepare", dumped, false)
				if err = errors.Join(err, run.close()); err != nil {
					return err
				}
				last = &lineage{ids: dumped, accountEvents: len(dumped) + cfg.Renames, renamed: true}
			}
			res, err := m.rebuild(ctx, last.accountEvents)
			m.add(res)
			return err
		})
	}
	return nil
}

// setup creates the work database, migrates it, and keeps a copy of it
// empty for the resets.
func (m *Main) setup(ctx context.Context) error {
	if err := m.srv.create(ctx, dbWork, ""); err != nil {
		return err
	}
	pool, err := m.srv.pool(ctx, dbWork, 4)
	if err != nil {
		return err
	}
	err = migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return err
	}
	return m.srv.create(ctx, dbEmpty, dbWork)
}

// username is user i's name; round r > 0 is its r-th new name.
func username(i, round int) string {
	if round == 0 {
		return fmt.Sprintf("user%05d", i)
	}
	return fmt.Sprintf("user%05d-r%d", i, round)
}

// register registers Config.Users users (see appRun.register), split in
// contiguous chunks over workers (one worker: sequentially), and measures
// the user projection following them.
func (m *Main) register(ctx context.Context, run *appRun, phase string, workers int) ([]string, PhaseResult, error) {
	n := m.Config.Users
	title := fmt.Sprintf("1  register %s users sequentially", thousands(n))
	if phase == PhaseRegisterPar {
		title = fmt.Sprintf("2  register %s users in %d parallel chunks", thousands(n), workers)
	}
	res := PhaseResult{Phase: phase, Title: title, Commands: n}
	w, err := startWatcher(ctx, m.srv.connString(dbWork), readSchema, []string{"users"}, m.Config.Poll)
	if err != nil {
		return nil, res, err
	}
	defer w.stop()
	m.rec.reset()
	ids := make([]string, n)
	chunk := (n + workers - 1) / workers
	bar := m.progress.start(title, n)
	start := time.Now()
	lat, err := runWorkers(ctx, workers, func(ctx context.Context, worker int, do func(func() error) error) error {
		for i := worker * chunk; i < min(n, (worker+1)*chunk); i++ {
			err := do(func() (err error) {
				ids[i], err = run.register(ctx, i)
				return err
			})
			if err != nil {
				return fmt.Errorf("register user %d: %w", i, err)
			}
			bar.add(1)
		}
		return nil
	})
	res.Wall = time.Since(start)
	bar.finish()
	if err != nil {
		return nil, res, err
	}
	res.PerSecond = float64(n) / res.Wall.Seconds()
	res.Latency, res.Tenths = &lat.latency, lat.tenths
	lag, err := m.userLag(ctx, w, start)
	if err != nil {
		return nil, res, err
	}
	res.Lags = []Lag{lag}
	return ids, res, nil
}

// renames changes usernames Config.Renames times (see appRun.rename):
// user i belongs to worker i mod Config.Workers, and each worker renames
// its users in rounds, so that no user has two renames in flight. With
// workflow, it also measures the author projection following them.
func (m *Main) renames(ctx context.Context, run *appRun, phase string, ids []string, workflow bool) (PhaseResult, error) {
	cfg := m.Config
	n, total := len(ids), cfg.Renames
	titles := map[string]string{
		PhaseRenameWarm:   "3  %s renames, warm aggregates",
		PhaseWorkflow:     "4  %s renames with the author workflow and projection",
		PhaseRenameCold:   "5  %s renames, cold aggregates (new application)",
		"rebuild-prepare": "   %s renames (preparing the rebuild)",
	}
	title := fmt.Sprintf(titles[phase], thousands(total))
	res := PhaseResult{Phase: phase, Title: title, Commands: total}
	names := []string{"users"}
	if workflow {
		names = append(names, "blog")
	}
	w, err := startWatcher(ctx, m.srv.connString(dbWork), readSchema, names, cfg.Poll)
	if err != nil {
		return res, err
	}
	defer w.stop()
	m.rec.reset()
	bar := m.progress.start(title, total)
	start := time.Now()
	lat, err := runWorkers(ctx, cfg.Workers, func(ctx context.Context, worker int, do func(func() error) error) error {
		for round := 1; ; round++ {
			for u := worker; u < n; u += cfg.Workers {
				if (round-1)*n+u >= total {
					return nil
				}
				name := username(u, round)
				err := do(func() error { return run.rename(ctx, ids[u], name) })
				if err != nil {
					return fmt.Errorf("rename user %d to %s: %w", u, name, err)
				}
				bar.add(1)
			}
		}
	})
	res.Wall = time.Since(start)
	bar.finish()
	if err != nil {
		return res, err
	}
	res.PerSecond = float64(total) / res.Wall.Seconds()
	res.Latency, res.Tenths = &lat.latency, lat.tenths
	if total == 0 {
		return res, nil
	}
	lag, err := m.userLag(ctx, w, start)
	if err != nil {
		return res, err
	}
	res.Lags = []Lag{lag}
	if workflow {
		lag, err := m.authorLag(ctx, w, start, total)
		if err != nil {
			return res, err
		}
		res.Lags = append(res.Lags, lag)
	}
	return res, nil
}

// userLag waits until the users projection shows every command recorded
// and measures how it followed them.
func (m *Main) userLag(ctx context.Context, w *watcher, start time.Time) (Lag, error) {
	accs, _, failed, lastErr := m.rec.snapshot()
	if failed > 0 {
		return Lag{}, fmt.Errorf("%d commands failed; the last: %w", failed, lastErr)
	}
	samples := make([]sample, len(accs))
	var last int64
	for i, a := range accs {
		samples[i] = sample{at: a.at, done: a.done, pos: a.pos}
		last = max(last, a.pos)
	}
	if _, err := w.wait(ctx, "users", last); err != nil {
		return Lag{}, err
	}
	lag, err := lagOf(w, "users", samples)
	if err != nil {
		return Lag{}, err
	}
	lag.Span, err = m.span(ctx, "users", start.Add(w.offset))
	return lag, err
}

// authorLag waits until the workflow has renamed the author of every
// renamed user and the author projection shows it, and measures how the
// author projection followed the renames.
func (m *Main) authorLag(ctx context.Context, w *watcher, start time.Time, total int) (Lag, error) {
	if err := m.waitAuthors(ctx, total); err != nil {
		return Lag{}, err
	}
	accs, authors, _, _ := m.rec.snapshot()
	samples := make([]sample, 0, len(accs))
	var last int64
	for _, a := range accs {
		au, ok := authors[a.username]
		if !ok {
			return Lag{}, fmt.Errorf("the workflow renamed no author to %s", a.username)
		}
		samples = append(samples, sample{at: a.at, done: a.done, pos: au.pos})
		last = max(last, au.pos)
	}
	if _, err := w.wait(ctx, "blog", last); err != nil {
		return Lag{}, err
	}
	lag, err := lagOf(w, "blog", samples)
	if err != nil {
		return Lag{}, err
	}
	lag.Span, err = m.span(ctx, "authors", start.Add(w.offset))
	return lag, err
}

// waitAuthors waits until the workflow's commands reached n authors, or
// until it stops making progress for authorTimeout.
func (m *Main) waitAuthors(ctx context.Context, n int) error {
	seen, since := -1, time.Now()
	for {
		c := m.rec.authorCount()
		if c >= n {
			return nil
		}
		if c != seen {
			seen, since = c, time.Now()
		} else if time.Since(since) > authorTimeout {
			_, _, failed, lastErr := m.rec.snapshot()
			return fmt.Errorf("the author workflow stalled at %d of %d authors (%d failed commands, the last: %v)", c, n, failed, lastErr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the author workflow (%d of %d): %w", c, n, ctx.Err())
		case <-time.After(m.Config.Poll):
		}
	}
}

// restoreWithAuthors restores the users' dump, starts an application
// with the author workflow, and measures it creating the n authors.
func (m *Main) restoreWithAuthors(ctx context.Context, n int, label string) (*appRun, *Authors, error) {
	if err := m.srv.copy(ctx, dbUsers, dbWork); err != nil {
		return nil, nil, err
	}
	run, err := m.startApp(ctx, m.handlers(true))
	if err != nil {
		return nil, nil, err
	}
	authors, err := m.authorsCreated(ctx, run, n, label)
	if err != nil {
		return nil, nil, errors.Join(err, run.close())
	}
	return run, authors, nil
}

// authorsCreated measures the author workflow creating the authors of n
// users registered before the application started, until the author
// projection shows them all.
func (m *Main) authorsCreated(ctx context.Context, run *appRun, n int, label string) (*Authors, error) {
	w, err := startWatcher(ctx, m.srv.connString(dbWork), readSchema, []string{"blog"}, m.Config.Poll)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	// The recorder was reset before the application started: its
	// workflow may already be creating authors.
	bar := m.progress.start(fmt.Sprintf(label, thousands(n)), n)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				bar.n.Store(int64(m.rec.authorCount()))
			}
		}
	})
	err = m.waitAuthors(ctx, n)
	close(done)
	wg.Wait()
	bar.n.Store(int64(m.rec.authorCount()))
	bar.finish()
	if err != nil {
		return nil, err
	}
	_, authors, _, _ := m.rec.snapshot()
	var last int64
	for _, a := range authors {
		last = max(last, a.pos)
	}
	shown, err := w.wait(ctx, "blog", last)
	if err != nil {
		return nil, err
	}
	span, err := m.span(ctx, "authors", run.started.Add(w.offset))
	if err != nil {
		return nil, err
	}
	m.rec.reset()
	return &Authors{Count: len(authors), Time: shown.Sub(run.started), Span: span}, nil
}

// span returns the time between the first and the last projected_at of
// the rows of a read-model table written since the server time from.
func (m *Main) span(ctx context.Context, table string, from time.Time) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, m.srv.connString(dbWork))
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var first, last *time.Time
	err = conn.QueryRow(ctx, "SELECT min(projected_at), max(projected_at) FROM "+
		pgx.Identifier{readSchema, table}.Sanitize()+" WHERE projected_at >= $1", from).Scan(&first, &last)
	if err != nil || first == nil {
		return 0, err
	}
	return last.Sub(*first), nil
}

// rebuild replays the users projection from the origin in a new
// application that runs it alone, until it reaches the last event.
func (m *Main) rebuild(ctx context.Context, accountEvents int) (PhaseResult, error) {
	res := PhaseResult{Phase: PhaseRebuild, Title: "6  rebuild the users projection from the origin"}
	run, err := m.newApp(ctx, []string{"users"})
	if err != nil {
		return res, err
	}
	defer run.close()
	if err := run.app.Rebuild(ctx, "users"); err != nil {
		return res, err
	}
	head, err := run.app.Head(ctx)
	if err != nil {
		return res, err
	}
	// Watch from now on: the rebuild removed the old checkpoint.
	w, err := startWatcher(ctx, m.srv.connString(dbWork), readSchema, []string{"users"}, m.Config.Poll)
	if err != nil {
		return res, err
	}
	defer w.stop()
	bar := m.progress.start(res.Title, accountEvents)
	if err := run.start(ctx, m); err != nil {
		bar.finish()
		return res, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				// Positions stand in for events in the bar.
				if pos := w.latest("users"); head > 0 {
					bar.n.Store(int64(float64(pos) / float64(head) * float64(accountEvents)))
				}
			}
		}
	})
	shown, err := w.wait(ctx, "users", head)
	close(done)
	wg.Wait()
	if err == nil {
		bar.n.Store(int64(accountEvents))
	}
	bar.finish()
	if err != nil {
		return res, err
	}
	res.Rebuild = &Rebuild{Projection: "users", Events: accountEvents, AllEvents: int(head), Time: shown.Sub(run.started)}
	res.Notes = append(res.Notes, fmt.Sprintf("the users projection applies its %s account events while reading $all up to position %s, "+
		"past every other event of the database (the author workflow's, the uniqueness claims').", thousands(accountEvents), thousands(int(head))))
	// The same rebuild online, while the application serves the projection.
	bar = m.progress.start("6b rebuild the users projection online", int(head))
	online := time.Now()
	_, err = run.app.RebuildOnline(ctx, "users", func(p projectors.Progress) { bar.n.Store(p.Position) })
	bar.finish()
	if err != nil {
		return res, err
	}
	res.Rebuild.Online = time.Since(online)
	res.Notes = append(res.Notes, fmt.Sprintf("online (a new generation filled while serving, then switched to): %s, %.2f× the offline time.",
		human(res.Rebuild.Online), res.Rebuild.Online.Seconds()/res.Rebuild.Time.Seconds()))
	return res, nil
}

// runStats is what runWorkers saw of the calls: their latencies, and the
// rate at which they finished in each tenth of them.
type runStats struct {
	latency Percentiles
	tenths  []float64
}

// runWorkers runs work on n workers and measures the calls they make
// through do; the first failure cancels the others.
func runWorkers(ctx context.Context, n int, work func(ctx context.Context, worker int, do func(func() error) error) error) (runStats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lats := make([][]time.Duration, n)
	ends := make([][]time.Duration, n) // since start
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			do := func(f func() error) error {
				t := time.Now()
				err := f()
				lats[i] = append(lats[i], time.Since(t))
				ends[i] = append(ends[i], time.Since(start))
				return err
			}
			if errs[i] = work(ctx, i, do); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	var allLats, allEnds []time.Duration
	for i := range n {
		allLats = append(allLats, lats[i]...)
		allEnds = append(allEnds, ends[i]...)
	}
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return runStats{latency: percentiles(allLats), tenths: tenths(allEnds)}, first
}

// runChunks calls one for each index of 0..n-1 from workers workers, each
// taking a contiguous chunk of the indexes in order, and counts each call
// on bar.
func runChunks(ctx context.Context, n, workers int, bar *bar, one func(ctx context.Context, i int) error) (runStats, error) {
	chunk := (n + workers - 1) / workers
	return runWorkers(ctx, workers, func(ctx context.Context, worker int, do func(func() error) error) error {
		for i := worker * chunk; i < min(n, (worker+1)*chunk); i++ {
			if err := do(func() error { return one(ctx, i) }); err != nil {
				return err
			}
			bar.add(1)
		}
		return nil
	})
}

// tenths returns the rate at which calls finished in each tenth of them,
// given when each finished; nil for fewer than 10 calls.
func tenths(ends []time.Duration) []float64 {
	if len(ends) < 10 {
		return nil
	}
	slices.Sort(ends)
	rates := make([]float64, 10)
	var prev time.Duration
	for k := range 10 {
		from, to := k*len(ends)/10, (k+1)*len(ends)/10
		end := ends[to-1]
		rates[k] = float64(to-from) / max(end-prev, time.Microsecond).Seconds()
		prev = end
	}
	return rates
}

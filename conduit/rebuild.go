package conduit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/projectors"
)

// RebuildOnline rebuilds the named projection while the application keeps
// serving and updating it (see projectors.RebuildOnline), and returns the
// generation now serving. progress, if not nil, is called after each
// batch. The application must run the projection (ToolOptions.Handlers).
func (a *App) RebuildOnline(ctx context.Context, name string, progress func(projectors.Progress)) (int64, error) {
	if !slices.Contains(a.ProjectionNames(), name) || !a.tool.runs(name) {
		return 0, fmt.Errorf("conduit: rebuild: no projection %q running (projections: %v)", name, a.ProjectionNames())
	}
	return projectors.RebuildOnline(ctx, projectors.OnlineRebuild{
		DB: a.cfg.DB, Schema: a.cfg.ReadSchema, Name: name,
		Events: a.store, Registry: a.runtime.Registry(), Progress: progress,
	})
}

// ProjectionStatus is a projection's state as an operator sees it: its
// row of the projections table and the head of $all it lags behind.
type ProjectionStatus struct {
	projectors.Status
	Head int64 // the last position in $all
}

// Projections returns the state of the read model's projections: serving
// generation, position, and the rebuild under way or requested.
func (a *App) Projections(ctx context.Context) ([]ProjectionStatus, error) {
	ss, err := projectors.Statuses(ctx, a.cfg.DB, a.cfg.ReadSchema)
	if err != nil {
		return nil, err
	}
	last, err := a.store.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	if err != nil {
		return nil, fmt.Errorf("conduit: projections: %w", err)
	}
	var head int64
	if len(last) > 0 {
		head = last[0].Position
	}
	out := make([]ProjectionStatus, 0, len(ss))
	for _, s := range ss {
		out = append(out, ProjectionStatus{Status: s, Head: head})
	}
	return out, nil
}

// RequestRebuild asks for an online rebuild of the named projection, as
// the cohort command's rebuild does: the process running it (this one,
// within Config.RebuildPoll, when it runs it) takes the request and
// rebuilds it in the background; Projections shows the progress. It fails
// with projectors.ErrNotFound for a name that is no projection.
func (a *App) RequestRebuild(ctx context.Context, name string) error {
	if !slices.Contains(a.ProjectionNames(), name) {
		return fmt.Errorf("conduit: rebuild %q: %w (projections: %v)", name, projectors.ErrNotFound, a.ProjectionNames())
	}
	return projectors.RequestRebuild(ctx, a.cfg.DB, a.cfg.ReadSchema, name)
}

// rebuilds runs the online rebuilds operators request through the
// projections table (the cohort command's rebuild), and those of
// projections whose declared version differs from the stored one. Start
// starts it, Close stops it.
type rebuilds struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// startRebuilds records the projections the application runs, requests a
// rebuild of those whose stored version is stale, and starts polling for
// requests every Config.RebuildPoll.
func (a *App) startRebuilds(ctx context.Context) error {
	var running []projectors.Projection
	var names []string
	for _, p := range a.projections {
		if a.tool.runs(p.Name()) {
			running = append(running, p)
			names = append(names, p.Name())
		}
	}
	stale, err := projectors.Register(ctx, a.cfg.DB, a.cfg.ReadSchema, running...)
	if err != nil {
		return err
	}
	for _, n := range stale {
		a.log.Warn("projection's code changed since its tables were built: rebuilding it online", "projection", n)
		if err := projectors.RequestRebuild(ctx, a.cfg.DB, a.cfg.ReadSchema, n); err != nil {
			return err
		}
	}
	if a.cfg.RebuildPoll < 0 || len(names) == 0 {
		return nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	a.rebuilds.cancel = cancel
	a.rebuilds.wg.Add(1)
	go func() {
		defer a.rebuilds.wg.Done()
		a.watchRebuilds(wctx, names)
	}()
	return nil
}

// watchRebuilds takes rebuild requests until ctx ends, running one
// rebuild at a time.
func (a *App) watchRebuilds(ctx context.Context, names []string) {
	tick := time.NewTicker(a.cfg.RebuildPoll)
	defer tick.Stop()
	for {
		taken, err := projectors.TakeRebuildRequests(ctx, a.cfg.DB, a.cfg.ReadSchema, names)
		if err != nil && ctx.Err() == nil {
			a.log.Error("rebuild requests", "err", err)
		}
		for _, n := range taken {
			start := time.Now()
			a.log.Info("online rebuild started", "projection", n)
			gen, err := a.RebuildOnline(ctx, n, nil)
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, projectors.ErrRebuildRunning):
				a.log.Info("online rebuild already running elsewhere", "projection", n)
			case err != nil:
				a.log.Error("online rebuild failed", "projection", n, "err", err)
			default:
				a.log.Info("online rebuild done", "projection", n, "generation", gen, "took", time.Since(start))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stopRebuilds stops the watcher and waits for it; a rebuild under way is
// abandoned before its switch. Idempotent.
func (a *App) stopRebuilds() {
	a.rebuilds.once.Do(func() {
		if a.rebuilds.cancel != nil {
			a.rebuilds.cancel()
		}
		a.rebuilds.wg.Wait()
	})
}

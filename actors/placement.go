package actors

import (
	"context"
	"sync"
	"time"
)

// Placement decides which node of a cluster runs each persistent
// subscription (an event handler's, a process manager's), so that they
// spread over the nodes instead of all landing on the node that grabs
// their leases first (see Config.Placement). It is advice: the store's
// lease stays the guarantee of one writer, so two nodes that disagree for
// a moment (one gave a subscription up late, the other took it early) are
// harmless, and a subscription left without a holder is taken over after
// Config.OrphanTimeout whoever owns it. RendezvousPlacement is the
// implementation for clusters.
type Placement interface {
	// Owns reports whether this node should run the persistent
	// subscription called subscription.
	Owns(subscription string) bool
	// Changed returns a channel that is closed when ownership changes
	// next (e.g. membership changed). Call Changed before Owns, and again
	// once the channel is closed, so that no change is missed.
	Changed() <-chan struct{}
}

// UnheldReporter is what a store offers so that a node running a
// Placement finds the subscriptions that no live process holds, which it
// takes over after Config.OrphanTimeout even if it does not own them. The
// PostgreSQL and memory stores implement it; with a store that does not,
// a subscription runs only on the node that owns it.
type UnheldReporter interface {
	// UnheldSubscriptions returns those of the named persistent
	// subscriptions that no live subscriber holds: never subscribed,
	// released, or held by a process that is gone or stopped renewing.
	UnheldSubscriptions(ctx context.Context, names []string) ([]string, error)
}

// placedState is where a placed subscription runs, as this node sees it.
type placedState int

const (
	// placedElsewhere: not open here; another node owns it.
	placedElsewhere placedState = iota
	// placedOwned: open here, because this node owns it.
	placedOwned
	// placedRescued: open here though another node owns it, because it
	// stayed without a holder for OrphanTimeout. After another
	// OrphanTimeout it is handed back once, for an owner that was only
	// slow to start; rescued again in the same placement generation, it
	// stays here until the placement changes.
	placedRescued
)

// String names the state, as Inspect shows it.
func (s placedState) String() string {
	switch s {
	case placedOwned:
		return "owned"
	case placedRescued:
		return "rescued"
	}
	return "elsewhere"
}

// placed is one persistent subscription under placement.
type placed struct {
	r     runner
	state placedState
	// rescuedAt is the placement generation in which it was rescued, and
	// rescuedSince when.
	rescuedAt    uint64
	rescuedSince time.Time
	// handedBack is one more than the placement generation in which a
	// rescue of it was handed back (0: never), so that it is handed back
	// once per generation, not again and again to an owner that is gone.
	handedBack uint64
	// freeSince is when it was first seen without a holder while it
	// runs elsewhere; zero while it has one.
	freeSince time.Time
}

// placer opens on this node the persistent subscriptions that its
// Placement gives it, and releases those it no longer gets: a released
// handler finishes what it was given, stores its checkpoint and frees its
// lease, so that the new owner takes it over at once. It also rescues a
// subscription left without a holder for OrphanTimeout. Its goroutine is
// owned by the App: started by Start, stopped by Close.
type placer struct {
	app       *App
	placement Placement
	unheld    UnheldReporter // nil: no rescue
	orphan    time.Duration
	probe     time.Duration // how often unheld subscriptions are looked for

	mu      sync.Mutex // guards subs' states, for Inspect
	subs    []*placed
	changed <-chan struct{}
	gen     uint64 // placement changes seen

	cancel context.CancelFunc
	done   chan struct{}
}

// newPlacer returns the application's placer, or nil without a placement.
func newPlacer(a *App) *placer {
	if a.placement == nil {
		return nil
	}
	p := &placer{app: a, placement: a.placement, orphan: a.cfg.OrphanTimeout,
		probe: max(a.cfg.OrphanTimeout/8, 10*time.Millisecond)}
	p.unheld, _ = a.store.(UnheldReporter)
	p.changed = p.placement.Changed()
	return p
}

// startRunner prepares r and opens it, unless a placement runs it on
// another node (then p takes it in charge).
func (a *App) startRunner(ctx context.Context, r runner) error {
	if err := r.prepare(ctx); err != nil {
		return err
	}
	if a.placer == nil || r.subscription() == "" {
		return r.open(ctx) // every node runs its transient handlers
	}
	return a.placer.add(ctx, r)
}

// add places r, opening it if this node owns it.
func (p *placer) add(ctx context.Context, r runner) error {
	pl := &placed{r: r}
	p.mu.Lock()
	p.subs = append(p.subs, pl)
	p.mu.Unlock()
	if !p.placement.Owns(r.subscription()) {
		r.seed(ctx) // its progress elsewhere, until the store pushes more
		return nil
	}
	if err := r.open(ctx); err != nil {
		return err
	}
	p.set(pl, placedOwned)
	return nil
}

// set records pl's state.
func (p *placer) set(pl *placed, s placedState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl.state = s
	if s == placedRescued {
		pl.rescuedAt, pl.rescuedSince = p.gen, time.Now()
	}
	pl.freeSince = time.Time{}
}

// start starts the goroutine that follows the placement.
func (p *placer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.run(ctx)
}

// stop stops the goroutine and waits for it; a release under way gives up
// (Close then stops every runner). Safe on a nil placer and more than once.
func (p *placer) stop() {
	if p == nil || p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
}

func (p *placer) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.changed:
			p.mu.Lock()
			p.changed = p.placement.Changed()
			p.gen++
			p.mu.Unlock()
		case <-t.C:
			if p.unheld != nil {
				p.rescue(ctx)
			}
		}
		p.rebalance(ctx)
	}
}

// rebalance opens what this node owns and does not run, and releases, all
// at once, what it runs and no longer owns (a rescued subscription once
// the placement has changed since).
func (p *placer) rebalance(ctx context.Context) {
	var release []*placed
	for _, pl := range p.snapshot() {
		owns := p.placement.Owns(pl.r.subscription())
		switch {
		case owns && pl.state != placedOwned:
			if pl.state == placedElsewhere && !p.open(ctx, pl) {
				continue
			}
			p.set(pl, placedOwned)
		case !owns && pl.state == placedOwned,
			!owns && pl.state == placedRescued && p.generation() > pl.rescuedAt:
			release = append(release, pl)
		case !owns && pl.state == placedRescued && p.handBack(pl):
			p.app.log.Info("placement: handing a rescued subscription back to its owner", "handler", pl.r.name())
			release = append(release, pl)
		}
	}
	var wg sync.WaitGroup
	for _, pl := range release {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, p.app.cfg.ShutdownTimeout)
			defer cancel()
			if err := pl.r.stop(rctx); err != nil {
				p.app.log.Warn("placement: release failed", "handler", pl.r.name(), "err", err)
			} else {
				p.app.log.Info("placement: released to its owner", "handler", pl.r.name())
			}
			p.set(pl, placedElsewhere)
		})
	}
	wg.Wait()
}

// handBack reports whether the rescued pl is due to be handed back to
// its owner, and records that it is: once per placement generation, after
// it ran here for OrphanTimeout.
func (p *placer) handBack(pl *placed) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl.handedBack == p.gen+1 || time.Since(pl.rescuedSince) < p.orphan {
		return false
	}
	pl.handedBack = p.gen + 1
	return true
}

// open opens pl's runner unless an error policy stopped it here; it
// reports whether it is open.
func (p *placer) open(ctx context.Context, pl *placed) bool {
	if pl.r.isHalted() {
		return false
	}
	if err := pl.r.open(ctx); err != nil {
		if ctx.Err() == nil {
			p.app.log.Warn("placement: open failed", "handler", pl.r.name(), "err", err)
		}
		return false
	}
	return true
}

// rescue opens the subscriptions that run elsewhere but have been seen
// without a holder for OrphanTimeout.
func (p *placer) rescue(ctx context.Context) {
	var names []string
	idle := make(map[string]*placed)
	for _, pl := range p.snapshot() {
		if pl.state == placedElsewhere && !pl.r.isHalted() {
			names = append(names, pl.r.subscription())
			idle[pl.r.subscription()] = pl
		}
	}
	if len(names) == 0 {
		return
	}
	free, err := p.unheld.UnheldSubscriptions(ctx, names)
	if err != nil {
		if ctx.Err() == nil {
			p.app.log.Warn("placement: looking for unheld subscriptions failed", "err", err)
		}
		return
	}
	now := time.Now()
	p.mu.Lock()
	var due []*placed
	for _, n := range free {
		pl, ok := idle[n]
		if !ok {
			continue
		}
		delete(idle, n)
		switch {
		case pl.freeSince.IsZero():
			pl.freeSince = now
		case now.Sub(pl.freeSince) >= p.orphan:
			due = append(due, pl)
		}
	}
	for _, pl := range idle {
		pl.freeSince = time.Time{} // held
	}
	p.mu.Unlock()
	for _, pl := range due {
		p.app.log.Warn("placement: taking over a subscription left without a holder",
			"handler", pl.r.name(), "after", p.orphan)
		if p.open(ctx, pl) {
			p.set(pl, placedRescued)
		}
	}
}

// snapshot returns the placed subscriptions.
func (p *placer) snapshot() []*placed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*placed(nil), p.subs...)
}

// generation returns the number of placement changes seen.
func (p *placer) generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// state returns where the named handler's subscription runs, as this node
// sees it, and false if it is not placed.
func (p *placer) state(name string) (placedState, bool) {
	if p == nil {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range p.subs {
		if pl.r.name() == name {
			return pl.state, true
		}
	}
	return 0, false
}

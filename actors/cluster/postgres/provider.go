package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

// Provider is a protoactor-go cluster.ClusterProvider whose membership is
// a table in PostgreSQL. Create it with New and pass it in the
// cluster.Config; the cluster calls StartMember (or StartClient) and
// Shutdown. A Provider serves one cluster start.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	table *table

	// frozen is held by Freeze (tests) to stop the loop between turns, as
	// if the process were frozen.
	frozen sync.RWMutex

	mu       sync.Mutex
	state    state
	cluster  *cluster.Cluster
	name     string // the cluster's name
	memberID string // "" for a client
	stop     context.CancelFunc
	done     chan struct{} // closed when the loop has ended; nil before a start
	expelled chan struct{} // closed on expulsion
	err      *ExpelledError
}

// state is where a Provider is in its life.
type state int

const (
	// stateNew: created, not started.
	stateNew state = iota
	// stateStarting: joining the cluster (StartMember or StartClient
	// under way).
	stateStarting
	// stateMember: its row is live; the loop heartbeats and reads the
	// members.
	stateMember
	// stateClient: a cluster client, without a row; the loop reads the
	// members.
	stateClient
	// stateExpelled: its row expired or was removed; the loop has ended.
	stateExpelled
	// stateStopped: Shutdown or Close was called.
	stateStopped
)

var _ cluster.ClusterProvider = (*Provider)(nil)

// New returns a provider on the members table of pool's database, in
// cfg.Schema. It fails if cfg is invalid or the schema does not hold the
// table this build expects (Migrate creates it). New starts nothing.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if err := pgmigrate.Check(ctx, pool, cfg.Schema, ms); err != nil {
		return nil, fmt.Errorf("cluster/postgres: schema %s does not match this build (Migrate applies missing migrations): %w", cfg.Schema, err)
	}
	return &Provider{
		cfg:      cfg,
		log:      cfg.Logger,
		table:    newTable(pool, cfg.Schema),
		expelled: make(chan struct{}),
	}, nil
}

// StartMember joins the cluster: it opens this node's session (a
// connection held for the member's whole life, see the package doc),
// inserts its row through it (member id = the actor system's id, address
// = the remote's advertised host and port, the cluster's kinds, the
// session's lock key, Config.Protocol), marks dead any older member that
// advertised the same address, feeds the live members to the cluster's
// member list, and starts the loop that heartbeats and refreshes the
// topology every Config.HeartbeatInterval. It refuses to join, with an
// *IncompatibleMemberError, when a live member it does not supersede has
// another protocol. The cluster calls it once its remote has started (and
// panics when it fails). The join is bounded by a quarter of Config.TTL.
func (p *Provider) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil || port <= 0 {
		return fmt.Errorf("%w (address %q)", ErrNoAddress, c.ActorSystem.Address())
	}
	kinds := c.GetClusterKinds()
	slices.Sort(kinds)
	m := member{cluster: c.Config.Name, id: c.ActorSystem.ID, host: host, port: port, kinds: kinds, ttl: p.cfg.TTL,
		protocol: p.cfg.Protocol}
	return p.start(c, m.id, func(ctx context.Context) (*session, error) {
		s, err := openSession(ctx, p.table.pool, p.cfg.statementTimeout())
		if err != nil {
			return nil, err
		}
		m.lockKey = s.key
		superseded, err := p.table.insert(ctx, s, m)
		if err != nil {
			s.close(p.cfg.statementTimeout())
			return nil, err
		}
		p.log.Info("joined cluster", "cluster", m.cluster, "member", m.id, "address", c.ActorSystem.Address(),
			"superseded", superseded)
		return s, nil
	})
}

// StartClient follows the cluster without joining it: it feeds the live
// members to the cluster's member list, and goes on reading them every
// Config.HeartbeatInterval. A client has no row and no session of its
// own: it reads through the pool.
func (p *Provider) StartClient(c *cluster.Cluster) error {
	return p.start(c, "", func(context.Context) (*session, error) { return nil, nil })
}

// start moves the provider from new to member (memberID set) or client:
// it runs join, which returns the member's session (nil for a client),
// feeds the first topology and starts the loop, which owns the session
// from then on. No lock is held meanwhile: a Shutdown during the start
// cancels it.
func (p *Provider) start(c *cluster.Cluster, memberID string, join func(context.Context) (*session, error)) error {
	p.mu.Lock()
	if p.state != stateNew {
		p.mu.Unlock()
		return ErrStarted
	}
	ctx, stop := context.WithCancel(context.Background())
	p.state = stateStarting
	p.cluster, p.name, p.memberID, p.stop = c, c.Config.Name, memberID, stop
	p.done = make(chan struct{})
	p.mu.Unlock()

	began := time.Now()
	jctx, cancel := context.WithTimeout(ctx, p.cfg.statementTimeout())
	sess, err := join(jctx)
	cancel()
	p.mu.Lock()
	switch {
	case err != nil:
		p.state = stateStopped
	case p.state != stateStarting: // Shutdown during the join
		err = ErrStarted
	case memberID != "":
		p.state = stateMember
	default:
		p.state = stateClient
	}
	p.mu.Unlock()
	l := &loop{p: p, sess: sess, lastBeat: began}
	if err != nil {
		stop()
		l.end()
		return err
	}
	if !l.turn(ctx) { // expelled at once: its row was removed meanwhile
		l.end()
		return p.Err()
	}
	go l.run(ctx)
	return nil
}

// Shutdown stops the loop, which ends the member's session, and, when
// graceful and the node is a member, marks its row left. Either way every
// node removes it from its topology at its next read instead of after the
// TTL; the row records whether it left or was lost. The cluster calls it
// from its own Shutdown when graceful; a cluster shut down otherwise
// leaves the provider's loop to end on its own within a heartbeat
// interval, once the actor system has stopped (Close ends it at once).
// Shutdown is idempotent; the write is bounded by a quarter of
// Config.TTL.
func (p *Provider) Shutdown(graceful bool) error {
	p.mu.Lock()
	prev := p.state
	p.state = stateStopped
	stop, done, name, id := p.stop, p.done, p.name, p.memberID
	p.mu.Unlock()
	if prev == stateStopped {
		return nil
	}
	if stop != nil {
		stop()
		<-done // the loop's statements are bounded, and end with stop
	}
	if !graceful || prev != stateMember {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.statementTimeout())
	defer cancel()
	if err := p.table.markLeft(ctx, name, id); err != nil {
		return err
	}
	p.log.Info("left cluster", "cluster", name, "member", id)
	return nil
}

// Close stops the provider without marking its row left, as a crash
// would: its session ends, and the other nodes remove the member at their
// next read. It is Shutdown(false), and idempotent.
func (p *Provider) Close() error { return p.Shutdown(false) }

// Expelled returns a channel that is closed when this node is expelled
// from the cluster (see Err). The provider then stops heartbeating and
// feeding the topology; the owner must stop the node (shut the cluster
// down), and may start a new actor system, which joins as a new member.
func (p *Provider) Expelled() <-chan struct{} { return p.expelled }

// Err returns the *ExpelledError once this node has been expelled, and
// nil before.
func (p *Provider) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return nil
	}
	return p.err
}

// expel records the expulsion and ends the member's life, unless the
// provider was stopped meanwhile.
func (p *Provider) expel(cause ExpelCause) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateMember {
		return
	}
	p.state = stateExpelled
	p.err = &ExpelledError{Cluster: p.name, MemberID: p.memberID, Cause: cause}
	close(p.expelled)
	p.log.Error("expelled from cluster: stop this node", "cluster", p.name, "member", p.memberID, "cause", cause.String())
}

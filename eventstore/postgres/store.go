package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/internal/pgmigrate"
	"github.com/cohort-dev/cohort/internal/watch"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Schema holds the store's tables; several stores can share a database
	// under different schemas. Default DefaultSchema.
	Schema string
	// Logger receives the store's logs; default discards them.
	Logger *slog.Logger
	// Committers is the number of concurrent group-commit transactions.
	// Default 1: one committer makes the largest batches, and appends
	// arriving while a batch commits form the next one.
	Committers int
	// MaxBatchEvents bounds the events one group-commit transaction
	// writes. Default 20,000.
	MaxBatchEvents int
	// LockPollInterval is how often a waiting persistent subscription tries
	// to take its lease over, and how often the lease connection is checked.
	// Default 250 ms, so a dead holder is replaced well within 2 s.
	LockPollInterval time.Duration
	// LeaseTTL is how long a persistent subscription's lease lasts without
	// renewal, by the database's clock: a holder that cannot renew it (its
	// process frozen, its database connection stalled) is replaced that long
	// after its last renewal, and stops delivering by then. A holder whose
	// process ends is replaced at once, whatever the TTL. Default 5 s.
	LeaseTTL time.Duration
	// LeaseRenewInterval is how often a holder renews its leases; at most
	// half of LeaseTTL, so that a renewal that fails or comes late does not
	// lose them. Default 1 s.
	LeaseRenewInterval time.Duration
	// IdlePollInterval is how often the store looks for new events when no
	// notification arrives. Default 1 s.
	IdlePollInterval time.Duration
	// HorizonWait bounds how long ReadAll waits for transactions that may
	// still commit lower positions before returning what is final.
	// Default 200 ms.
	HorizonWait time.Duration
	// FanoutWindow bounds how many of the latest events the store keeps in
	// memory for its $all subscriptions, which it reads once for all of
	// them; a subscription further behind reads the tables itself until it
	// catches up. Default 8,192.
	FanoutWindow int
	// Tracer, if set, observes appends.
	Tracer Tracer
}

// Tracer observes the store's group commits; it must be fast and safe for
// concurrent use.
type Tracer interface {
	// BatchCommitted reports one group-commit transaction: how many appends
	// and events it held, how long it took, and its error.
	BatchCommitted(appends, events int, d time.Duration, err error)
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case len(c.Schema) > 63:
		return errors.New("postgres: schema name longer than 63 bytes")
	case c.Committers < 0 || c.Committers > 64:
		return errors.New("postgres: committers out of range 1..64")
	case c.MaxBatchEvents < 0:
		return errors.New("postgres: negative MaxBatchEvents")
	case c.FanoutWindow < 0:
		return errors.New("postgres: negative FanoutWindow")
	case c.LockPollInterval < 0 || c.IdlePollInterval < 0 || c.HorizonWait < 0 ||
		c.LeaseTTL < 0 || c.LeaseRenewInterval < 0:
		return errors.New("postgres: negative interval")
	}
	if d := c.withDefaults(); d.LeaseRenewInterval > d.LeaseTTL/2 {
		return fmt.Errorf("postgres: LeaseRenewInterval %v is more than half of LeaseTTL %v", d.LeaseRenewInterval, d.LeaseTTL)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Committers == 0 {
		c.Committers = 1
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = 20_000
	}
	if c.FanoutWindow == 0 {
		c.FanoutWindow = 8_192
	}
	if c.LockPollInterval == 0 {
		c.LockPollInterval = 250 * time.Millisecond
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 5 * time.Second
	}
	if c.LeaseRenewInterval == 0 {
		c.LeaseRenewInterval = time.Second
	}
	if c.IdlePollInterval == 0 {
		c.IdlePollInterval = time.Second
	}
	if c.HorizonWait == 0 {
		c.HorizonWait = 200 * time.Millisecond
	}
	return c
}

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	cfg     Config
	pool    *pgxpool.Pool
	q       queries
	log     *slog.Logger
	channel string
	id      string // this store instance, in its notifications
	// progressChannel carries stored checkpoints to progress's watchers.
	progressChannel string
	progress        watch.Set[progress]
	// keysChannel carries key deletions to keyWatchers (see keys.go).
	keysChannel string
	keyWatchers watch.Set[string]
	kq          keyQueries

	appends   chan *appendRequest
	gate      *appendGate // admits appends to the queue until Close
	appenders concurrency // callers appending at once
	horizon   *horizon
	fanout    *fanout
	notifier  *notifier
	leases    *leaseManager

	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ eventstore.Store = (*Store)(nil)

// New opens a store on pool, which the caller owns and closes after the
// store. The schema must have been migrated (see Migrate): New fails when
// it lacks a migration of this build, records one this build lacks, or an
// applied migration's file changed. New starts the store's background
// work: committers, the horizon tracker, the reader of $all its
// subscriptions share (see fanout.go), a LISTEN connection and the
// subscription lease connection, each opened with the pool's connection
// settings outside the pool.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Store{
		cfg:     cfg,
		pool:    pool,
		q:       newQueries(cfg.Schema),
		log:     cfg.Logger,
		channel: "cohort_events." + cfg.Schema,
		id:      uuid.NewString(),
		appends: make(chan *appendRequest, 4096),
		gate:    newAppendGate(),
		subs:    make(map[*subscription]struct{}),
	}
	s.progressChannel = progressChannel(cfg.Schema)
	s.keysChannel = keysChannel(cfg.Schema)
	s.kq = newKeyQueries(cfg.Schema, s.keysChannel)
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if err := pgmigrate.Check(ctx, pool, cfg.Schema, ms); err != nil {
		return nil, fmt.Errorf("postgres: schema %s does not match this build (Migrate applies missing migrations): %w", cfg.Schema, err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.horizon = newHorizon(s)
	s.fanout = newFanout(s)
	s.notifier = newNotifier(s)
	s.leases = newLeaseManager(s)

	s.goRun(func() { s.horizon.run(runCtx) })
	s.goRun(func() { s.fanout.run(runCtx) })
	s.goRun(func() { s.notifier.run(runCtx) })
	s.goRun(func() { s.listen(runCtx) })
	s.goRun(func() { s.leases.run(runCtx) })
	for range cfg.Committers {
		s.goRun(func() { s.commitLoop(runCtx) })
	}
	return s, nil
}

func (s *Store) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Close closes the store's subscriptions (storing their checkpoints),
// fails appends still queued with ErrClosed, stops background work and
// waits for it. Appends from the moment Close begins fail with ErrClosed
// at once. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	s.gate.shut() // from here every Append fails with ErrClosed at once

	var errs []error
	for _, sub := range subs {
		if err := sub.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.stop()
	s.wg.Wait()
	// Fail what is left in the queue: no committer runs any more, and the
	// gate lets nothing in.
	for {
		select {
		case r := <-s.appends:
			r.reply(appendResponse{err: eventstore.ErrClosed})
		default:
			return errors.Join(errs...)
		}
	}
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// queries holds SQL with the schema name filled in.
type queries struct {
	schema string // quoted

	appendBatch                  string
	link, deleteStream           string
	readStreamFwd, readStreamBwd string
	streamState                  string
	readAllFwd, readAllBwd       string
	streamInfo, setMetadata      string
	recordSnapshot, readSnapshot string
	deleteSnapshot               string
	snapshotStream               string
	subGet, subCreate            string
	subCheckpoint, subDelete     string
	subToken                     string
}

const eventColumns = `e.position, e.event_id, e.stream_id, e.stream_version, e.type, e.data, e.metadata,
	e.causation_id, e.correlation_id, e.created_at`

func newQueries(schema string) queries {
	s := pgx.Identifier{schema}.Sanitize()
	f := func(format string) string { return fmt.Sprintf(format, s) }
	// A stream's versions hold its own events and its links; the two
	// halves are merged in version order.
	readStream := func(cmp, order string) string {
		return fmt.Sprintf(`
SELECT * FROM (
  (SELECT e.stream_version AS v, `+eventColumns+`
     FROM %[1]s.events e
    WHERE e.stream_id = $1 AND e.stream_version %[2]s $2
    ORDER BY e.stream_version %[3]s LIMIT $3)
  UNION ALL
  (SELECT l.stream_version AS v, `+eventColumns+`
     FROM %[1]s.links l CROSS JOIN LATERAL
          (SELECT * FROM %[1]s.events x WHERE x.position = l.position) e
    WHERE l.stream_id = $1 AND l.stream_version %[2]s $2
    ORDER BY l.stream_version %[3]s LIMIT $3)
) r ORDER BY v %[3]s LIMIT $3`, s, cmp, order)
	}
	// The snapshot, the stream's state and the events after the snapshot,
	// in one statement so that all three come from one database snapshot.
	snapshotStream := fmt.Sprintf(`
SELECT st.deleted, sn.source_version, sn.source_type, sn.schema_version, sn.data, sn.metadata, sn.created_at,
       r.v, r.position, r.event_id, r.stream_id, r.stream_version, r.type, r.data, r.metadata,
       r.causation_id, r.correlation_id, r.created_at
  FROM (SELECT 1) one
  LEFT JOIN %[1]s.streams st ON st.stream_id = $2
  LEFT JOIN %[1]s.snapshots sn ON sn.source_id = $1
  LEFT JOIN LATERAL (
    SELECT * FROM (
      (SELECT e.stream_version AS v, `+eventColumns+`
         FROM %[1]s.events e
        WHERE e.stream_id = $2 AND e.stream_version > coalesce(sn.source_version, 0)
        ORDER BY e.stream_version LIMIT $3)
      UNION ALL
      (SELECT l.stream_version AS v, `+eventColumns+`
         FROM %[1]s.links l CROSS JOIN LATERAL
              (SELECT * FROM %[1]s.events x WHERE x.position = l.position) e
        WHERE l.stream_id = $2 AND l.stream_version > coalesce(sn.source_version, 0)
        ORDER BY l.stream_version LIMIT $3)
    ) u ORDER BY v LIMIT $3
  ) r ON true
 ORDER BY r.v`, s)
	return queries{
		schema:         s,
		snapshotStream: snapshotStream,
		appendBatch: f(`SELECT stream_id, status, version, first_position, last_position
			FROM %s.append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`),
		link:          f(`SELECT status, version FROM %s.link_events($1, $2, $3)`),
		deleteStream:  f(`SELECT status, version FROM %s.delete_stream($1, $2, $3)`),
		readStreamFwd: readStream(">=", "ASC"),
		readStreamBwd: readStream("<=", "DESC"),
		streamState:   f(`SELECT version, deleted FROM %s.streams WHERE stream_id = $1`),
		readAllFwd: f(`SELECT 0::bigint, ` + eventColumns + ` FROM %s.events e
			WHERE e.position >= $1 AND e.position <= $2 ORDER BY e.position LIMIT $3`),
		readAllBwd: f(`SELECT 0::bigint, ` + eventColumns + ` FROM %s.events e
			WHERE e.position <= $1 ORDER BY e.position DESC LIMIT $2`),
		streamInfo:  f(`SELECT version, deleted, metadata, created_at FROM %s.streams WHERE stream_id = $1`),
		setMetadata: f(`UPDATE %s.streams SET metadata = $2 WHERE stream_id = $1`),
		recordSnapshot: f(`INSERT INTO %[1]s.snapshots AS s
			(source_id, source_version, source_type, schema_version, data, metadata, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, now())
			ON CONFLICT (source_id) DO UPDATE SET source_version = excluded.source_version,
				source_type = excluded.source_type, schema_version = excluded.schema_version,
				data = excluded.data, metadata = excluded.metadata, created_at = excluded.created_at
			WHERE s.source_version <= excluded.source_version`),
		readSnapshot: f(`SELECT source_version, source_type, schema_version, data, metadata, created_at
			FROM %s.snapshots WHERE source_id = $1`),
		deleteSnapshot: f(`DELETE FROM %s.snapshots WHERE source_id = $1`),
		subGet:         f(`SELECT stream_id, last_seen FROM %s.subscriptions WHERE name = $1`),
		subCreate: f(`INSERT INTO %s.subscriptions (name, stream_id, last_seen) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`),
		subCheckpoint: checkpointQuery(s, progressChannel(schema)),
		subDelete:     f(`DELETE FROM %s.subscriptions WHERE name = $1`),
		subToken:      f(`SELECT token FROM %s.subscriptions WHERE name = $1`),
	}
}

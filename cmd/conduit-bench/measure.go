package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
)

// dispatched is one command the recorder saw: when it entered the
// runtime, when the runtime answered, and the global position of its last
// event.
type dispatched struct {
	username string // the username it sets, which joins it to its effects
	at, done time.Time
	pos      int64
}

// recorder is runtime middleware that notes every command that sets a
// username: the benchmark's RegisterUser and UpdateUser, and the author
// workflow's CreateAuthor and ChangeAuthorUsername. It is safe for
// concurrent use.
type recorder struct {
	mu       sync.Mutex
	accounts []dispatched
	authors  map[string]dispatched // by username
	failed   int                   // commands that failed (the workflow retries its own)
	lastErr  error
}

func newRecorder() *recorder { return &recorder{authors: make(map[string]dispatched)} }

// reset forgets what was recorded, at the start of a phase.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts, r.authors, r.failed, r.lastErr = nil, make(map[string]dispatched), 0, nil
}

// middleware records the commands of interest that pass through it.
func (r *recorder) middleware(next actors.DispatchFunc) actors.DispatchFunc {
	return func(ctx context.Context, cmd *actors.Command) (actors.Result, error) {
		username, author, ok := usernameOf(cmd.Payload)
		if !ok {
			return next(ctx, cmd)
		}
		at := time.Now()
		res, err := next(ctx, cmd)
		d := dispatched{username: username, at: at, done: time.Now(), pos: res.Position}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case err != nil:
			r.failed++
			r.lastErr = err
		case author:
			r.authors[username] = d
		default:
			r.accounts = append(r.accounts, d)
		}
		return res, err
	}
}

// usernameOf returns the username a command sets, and whether it is the
// workflow's (an author's).
func usernameOf(payload any) (username string, author, ok bool) {
	switch c := payload.(type) {
	case accounts.RegisterUser:
		return c.Username, false, true
	case accounts.UpdateUser:
		if c.Username != nil {
			return *c.Username, false, true
		}
	case blog.CreateAuthor:
		return c.Username, true, true
	case blog.ChangeAuthorUsername:
		return c.Username, true, true
	}
	return "", false, false
}

// snapshot returns copies of what was recorded.
func (r *recorder) snapshot() (accs []dispatched, authors map[string]dispatched, failed int, lastErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	authors = make(map[string]dispatched, len(r.authors))
	for k, v := range r.authors {
		authors[k] = v
	}
	return slices.Clone(r.accounts), authors, r.failed, r.lastErr
}

// authorCount returns how many author commands succeeded.
func (r *recorder) authorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.authors)
}

// checkpoint is a state of a projection's checkpoint: its position and
// when the projection wrote it (the server's clock_timestamp() in the
// transaction that wrote the rows up to it), on our clock.
type checkpoint struct {
	pos int64
	at  time.Time
}

// watcher polls the projections' checkpoints on a connection of its own
// and keeps every state it sees, so that the time a projection showed a
// position can be looked up afterwards. Its goroutine runs until stop.
type watcher struct {
	conn     *pgx.Conn
	query    string
	names    []string
	interval time.Duration
	offset   time.Duration // the server's clock minus ours

	mu     sync.Mutex
	states map[string][]checkpoint
	err    error

	cancel context.CancelFunc
	done   chan struct{}
}

// startWatcher connects to connString and starts polling the checkpoints
// of the named projections in the read model's schema.
func startWatcher(ctx context.Context, connString, schema string, names []string, interval time.Duration) (*watcher, error) {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	w := &watcher{
		conn:     conn,
		query:    "SELECT name, position, updated_at FROM " + pgx.Identifier{schema, "projection_checkpoints"}.Sanitize() + " WHERE name = ANY($1)",
		names:    names,
		interval: interval,
		states:   make(map[string][]checkpoint),
		done:     make(chan struct{}),
	}
	if w.offset, err = clockOffset(ctx, conn); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	go w.run(runCtx)
	return w, nil
}

// clockOffset estimates the server's clock minus ours from the fastest of
// a few round trips.
func clockOffset(ctx context.Context, conn *pgx.Conn) (time.Duration, error) {
	best, offset := time.Duration(1<<62), time.Duration(0)
	for range 5 {
		var server time.Time
		t0 := time.Now()
		if err := conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&server); err != nil {
			return 0, fmt.Errorf("watcher: server clock: %w", err)
		}
		rtt := time.Since(t0)
		if rtt < best {
			best, offset = rtt, server.Sub(t0.Add(rtt/2))
		}
	}
	return offset, nil
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		if err := w.poll(ctx); err != nil {
			if ctx.Err() == nil {
				w.mu.Lock()
				w.err = fmt.Errorf("watcher: %w", err)
				w.mu.Unlock()
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *watcher) poll(ctx context.Context) error {
	rows, err := w.conn.Query(ctx, w.query, w.names)
	if err != nil {
		return err
	}
	defer rows.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	for rows.Next() {
		var name string
		var cp checkpoint
		if err := rows.Scan(&name, &cp.pos, &cp.at); err != nil {
			return err
		}
		cp.at = cp.at.Add(-w.offset)
		if s := w.states[name]; len(s) == 0 || cp.pos > s[len(s)-1].pos {
			w.states[name] = append(s, cp)
		}
	}
	return rows.Err()
}

// reached returns when the projection first showed position pos.
func (w *watcher) reached(name string, pos int64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.states[name]
	i := sort.Search(len(s), func(i int) bool { return s[i].pos >= pos })
	if i == len(s) {
		return time.Time{}, false
	}
	return s[i].at, true
}

// latest returns the last position the projection showed.
func (w *watcher) latest(name string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.states[name]; len(s) > 0 {
		return s[len(s)-1].pos
	}
	return 0
}

// wait waits until the projection shows position pos, and returns when
// it first did.
func (w *watcher) wait(ctx context.Context, name string, pos int64) (time.Time, error) {
	for {
		if at, ok := w.reached(name, pos); ok {
			return at, nil
		}
		w.mu.Lock()
		err := w.err
		w.mu.Unlock()
		if err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("projection %s did not reach position %d: %w", name, pos, ctx.Err())
		case <-w.done:
			return time.Time{}, errors.New("watcher stopped")
		case <-time.After(w.interval):
		}
	}
}

// stop stops polling and closes the connection.
func (w *watcher) stop() error {
	w.cancel()
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.conn.Close(ctx)
}

// sample is a command whose effect a projection shows once its
// checkpoint reaches pos.
type sample struct {
	at, done time.Time
	pos      int64
}

// lagOf measures how a projection followed samples: the delay from the
// first command's dispatch until it first showed any, each command's lag
// from its dispatch until it showed it, and the time from the last
// command's answer until it showed everything. Call it once the projection
// reached the highest position.
func lagOf(w *watcher, name string, samples []sample) (Lag, error) {
	if len(samples) == 0 {
		return Lag{}, nil
	}
	var (
		lags                = make([]time.Duration, 0, len(samples))
		firstAt, firstShown time.Time
		lastDone, lastShown time.Time
		maxPos              int64
	)
	for _, s := range samples {
		shown, ok := w.reached(name, s.pos)
		if !ok {
			return Lag{}, fmt.Errorf("projection %s never showed position %d", name, s.pos)
		}
		lags = append(lags, max(0, shown.Sub(s.at)))
		if firstAt.IsZero() || s.at.Before(firstAt) {
			firstAt = s.at
		}
		if firstShown.IsZero() || shown.Before(firstShown) {
			firstShown = shown
		}
		if s.done.After(lastDone) {
			lastDone = s.done
		}
		if s.pos > maxPos {
			maxPos, lastShown = s.pos, shown
		}
	}
	p := percentiles(lags)
	return Lag{
		Projection:  name,
		Commands:    len(samples),
		FirstUpdate: max(0, firstShown.Sub(firstAt)),
		P50:         p.P50,
		P99:         p.P99,
		Max:         p.Max,
		CaughtUp:    max(0, lastShown.Sub(lastDone)),
	}, nil
}

// Percentiles summarizes durations (nanoseconds in JSON).
type Percentiles struct {
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// percentiles returns the nearest-rank percentiles of ds, which it sorts.
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1]}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cohort-dev/cohort/eventstore"
)

// commitTimeout bounds one group-commit transaction. It does not depend on
// any caller's context: a batch carries many callers' appends.
const commitTimeout = 30 * time.Second

// maxBatchAppends bounds the appends in one group-commit transaction.
const maxBatchAppends = 1_000

// appendRequest is one Append or AppendStreams waiting for a committer.
type appendRequest struct {
	// parts are written all or nothing, to distinct streams; event ids
	// are filled in.
	parts []eventstore.StreamAppend
	// events counts the parts' events.
	events int
	// state moves from queued to claimed (by a committer about to write
	// it) or to abandoned (by a caller whose context ended first), once.
	state  atomic.Int32
	result chan appendResponse
}

const (
	requestQueued int32 = iota
	requestClaimed
	requestAbandoned
)

type appendResponse struct {
	res []eventstore.AppendResult // one per part
	err error
}

func (r *appendRequest) reply(resp appendResponse) { r.result <- resp }

// Append implements eventstore.Appender. Concurrent appends are written
// together by group commit; each keeps its own concurrency check.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.appendParts(ctx, []eventstore.StreamAppend{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return res[0], nil
}

// AppendStreams implements eventstore.MultiAppender. The parts are written
// by group commit, in one transaction with other callers' appends, and
// succeed or fail together.
func (s *Store) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppendStreams(parts); err != nil {
		return nil, err
	}
	return s.appendParts(ctx, parts)
}

// appendParts queues validated parts for a committer and waits for the
// outcome. A context done already writes nothing: queued, the append
// could be claimed by a committer before its caller saw the context
// done.
func (s *Store) appendParts(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &appendRequest{parts: make([]eventstore.StreamAppend, len(parts)), result: make(chan appendResponse, 1)}
	for i, p := range parts {
		evs := make([]eventstore.EventData, len(p.Events))
		for j, e := range p.Events {
			if e.ID == uuid.Nil {
				// Version 7 ids grow with time, which keeps the event id
				// index append-mostly.
				id, err := uuid.NewV7()
				if err != nil {
					return nil, fmt.Errorf("postgres: event id: %w", err)
				}
				e.ID = id
			}
			evs[j] = e
		}
		p.Events = evs
		req.parts[i] = p
		req.events += len(evs)
	}
	s.appenders.enter()
	defer s.appenders.leave()
	if err := s.gate.put(ctx, s.appends, req); err != nil {
		return nil, err
	}
	// Queued, it is answered: by a committer, or by Close, which fails
	// what the committers left.
	select {
	case resp := <-req.result:
		return resp.res, resp.err
	case <-ctx.Done():
		if req.state.CompareAndSwap(requestQueued, requestAbandoned) {
			// No committer took it: it will never be written.
			return nil, ctx.Err()
		}
		// Its transaction is under way: report how it ended, so that
		// nothing lands after Append has returned.
		resp := <-req.result
		return resp.res, resp.err
	}
}

// gateState is whether appends may still enter the queue.
type gateState int8

const (
	gateOpen gateState = iota
	gateShut
)

// appendGate admits appends to the committers' queue until Close shuts it.
// Checking that the store is open and queueing happen under one read
// lock, which shut takes for writing: once shut returns, nothing enters
// the queue, so Close can fail what is left there and no caller waits for
// a committer that is gone.
type appendGate struct {
	mu    sync.RWMutex
	state gateState
	// shutting is closed when shut begins, to free callers waiting for
	// room in a full queue (they hold the read lock).
	shutting chan struct{}
}

func newAppendGate() *appendGate { return &appendGate{shutting: make(chan struct{})} }

// put queues r on queue. It fails with ErrClosed once shut has begun, or
// with the context's error.
func (g *appendGate) put(ctx context.Context, queue chan<- *appendRequest, r *appendRequest) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.state == gateShut {
		return eventstore.ErrClosed
	}
	select {
	case queue <- r:
		return nil
	case <-g.shutting:
		return eventstore.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shut stops put for good. It is called once, by Close.
func (g *appendGate) shut() {
	close(g.shutting)
	g.mu.Lock()
	g.state = gateShut
	g.mu.Unlock()
}

// commitLoop takes queued appends in batches and commits each batch in one
// transaction. When ctx ends it commits what is still queued, then returns.
func (s *Store) commitLoop(ctx context.Context) {
	for {
		var first *appendRequest
		select {
		case first = <-s.appends:
		case <-ctx.Done():
			for s.drainOnce() {
			}
			return
		}
		s.commit(s.collect(first))
	}
}

// drainOnce commits one batch of what is queued, reporting whether there
// was any.
func (s *Store) drainOnce() bool {
	select {
	case first := <-s.appends:
		s.commit(s.collect(first))
		return true
	default:
		return false
	}
}

// collect adds to first whatever else is queued, up to the batch limits.
// Batches grow by themselves while a commit is in flight; beyond that,
// when several callers have been appending at once, collect lingers up to
// lingerMax for those the last commit answered, who are about to append
// again: otherwise the callers split into two half batches that alternate,
// and each append waits for two commits instead of one.
func (s *Store) collect(first *appendRequest) []*appendRequest {
	batch := []*appendRequest{first}
	n := first.events
	full := func() bool { return n >= s.cfg.MaxBatchEvents || len(batch) >= maxBatchAppends }
	for !full() {
		select {
		case r := <-s.appends:
			batch = append(batch, r)
			n += r.events
			continue
		default:
		}
		break
	}
	want := s.appenders.peak()
	if len(batch) >= want || full() {
		return batch
	}
	linger := time.NewTimer(lingerMax)
	defer linger.Stop()
	for len(batch) < want && !full() {
		select {
		case r := <-s.appends:
			batch = append(batch, r)
			n += r.events
		case <-linger.C:
			return batch
		}
	}
	return batch
}

// lingerMax bounds how long a batch waits for more appends.
const lingerMax = 250 * time.Microsecond

// concurrency tracks how many callers are appending at once, and the peak
// of that over the last two windows.
type concurrency struct {
	now    atomic.Int64
	mu     sync.Mutex
	cur    int64 // peak in the current window
	prev   int64 // peak in the previous window
	window time.Time
}

// concurrencyWindow is how long a peak is remembered (one to two windows).
const concurrencyWindow = 50 * time.Millisecond

func (c *concurrency) enter() {
	n := c.now.Add(1)
	c.mu.Lock()
	c.roll()
	c.cur = max(c.cur, n)
	c.mu.Unlock()
}

func (c *concurrency) leave() { c.now.Add(-1) }

// peak returns the most callers appending at once lately.
func (c *concurrency) peak() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roll()
	return int(max(c.cur, c.prev))
}

// roll starts a new window when the current one is over. The caller holds
// c.mu.
func (c *concurrency) roll() {
	now := time.Now()
	if now.Sub(c.window) < concurrencyWindow {
		return
	}
	if now.Sub(c.window) < 2*concurrencyWindow {
		c.prev = c.cur
	} else {
		c.prev = 0
	}
	c.cur, c.window = c.now.Load(), now
}

// commit claims the requests of a batch whose callers are still waiting
// and writes them.
func (s *Store) commit(batch []*appendRequest) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(requestQueued, requestClaimed) {
			live = append(live, r)
		}
	}
	if len(live) > 0 {
		s.commitClaimed(live)
	}
}

// commitClaimed writes claimed requests and replies to each: in one
// transaction, or in one per round when a stream is appended to more than
// once (each round sees the one before).
func (s *Store) commitClaimed(live []*appendRequest) {
	// append_batch takes its streams in one order (stream id, in the
	// database's collation) whatever their expected versions, so that two
	// committers (or two processes) never deadlock.
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	wrote := false
	for round := live; len(round) > 0; {
		var first []*appendRequest
		first, round = splitRepeats(round)
		for i, resp := range s.writeGroup(ctx, first) {
			first[i].reply(resp)
			wrote = wrote || resp.err == nil
		}
	}
	if wrote {
		s.horizon.kick()
		s.notifier.kick()
	}
}

// writeGroup writes appends to distinct streams in one transaction, one
// statement and one round trip (append_batch), and returns each one's
// outcome. When the transaction fails on one append's data (a duplicate
// event id, a value jsonb refuses) or deadlocks (with a transaction that
// does not take streams in append_batch's order), nothing was written:
// each append is then written on its own, so that only a culprit fails.
func (s *Store) writeGroup(ctx context.Context, group []*appendRequest) []appendResponse {
	start := time.Now()
	resps, err := s.appendBatch(ctx, group)
	if s.cfg.Tracer != nil {
		events := 0
		for _, r := range group {
			events += r.events
		}
		s.cfg.Tracer.BatchCommitted(len(group), events, time.Since(start), err)
	}
	if err != nil && len(group) > 1 && isStatementError(err) {
		resps = make([]appendResponse, len(group))
		for i := range group {
			resps[i] = s.writeGroup(ctx, group[i:i+1])[0]
		}
		return resps
	}
	if err != nil {
		err = s.appendError(group[0], err, len(group) == 1)
		resps = make([]appendResponse, len(group))
		for i := range resps {
			resps[i] = appendResponse{err: err}
		}
		return resps
	}
	return resps
}

// splitRepeats keeps in first the appends none of whose streams an
// earlier append of the batch writes, the others (which must see the
// earlier ones' outcome) in rest, in order. A request put off puts off
// every later one that shares one of its streams, so that each stream's
// appends are written in the order they were queued.
func splitRepeats(batch []*appendRequest) (first, rest []*appendRequest) {
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		repeat := false
		for _, p := range r.parts {
			repeat = repeat || seen[p.Stream]
			seen[p.Stream] = true
		}
		if repeat {
			rest = append(rest, r)
			continue
		}
		first = append(first, r)
	}
	return first, rest
}

// appendBatch runs append_batch for appends to distinct streams; each
// request's parts are one group, written or refused together.
func (s *Store) appendBatch(ctx context.Context, batch []*appendRequest) ([]appendResponse, error) {
	n, events := 0, 0
	for _, r := range batch {
		n += len(r.parts)
		events += r.events
	}
	streams := make([]string, 0, n)
	expected := make([]int64, 0, n)
	counts := make([]int32, 0, n)
	groups := make([]int32, 0, n)
	idx := make([]int32, 0, events)
	ord := make([]int32, 0, events)
	cols := newEventArrays(events)
	type at struct{ req, part int }
	byStream := make(map[string]at, n)
	for g, r := range batch {
		for k, p := range r.parts {
			streams = append(streams, p.Stream)
			expected = append(expected, int64(p.Expected))
			counts = append(counts, int32(len(p.Events)))
			groups = append(groups, int32(g+1))
			byStream[p.Stream] = at{g, k}
			for j, e := range p.Events {
				idx = append(idx, int32(len(streams)))
				ord = append(ord, int32(j+1))
				cols.add(e)
			}
		}
	}
	rows, err := s.pool.Query(ctx, s.q.appendBatch, streams, expected, counts, groups, idx, ord,
		cols.ids, cols.types, cols.data, cols.meta, cols.causation, cols.correlation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resps := make([]appendResponse, len(batch))
	for i, r := range batch {
		resps[i].res = make([]eventstore.AppendResult, len(r.parts))
	}
	seen := make(map[string]bool, n)
	undone := make([]bool, len(batch))
	// failed is the first part that failed of each request, in the
	// request's order: it speaks for the request.
	failed := make([]int, len(batch))
	for i, r := range batch {
		failed[i] = len(r.parts)
	}
	for rows.Next() {
		var stream string
		var status int16
		var version int64
		var first, last pgtype.Int8
		if err := rows.Scan(&stream, &status, &version, &first, &last); err != nil {
			return nil, err
		}
		a, ok := byStream[stream]
		if !ok || seen[stream] {
			return nil, fmt.Errorf("postgres: append_batch returned unknown stream %q", stream)
		}
		seen[stream] = true
		resp := &resps[a.req]
		switch status {
		case statusUndone:
			undone[a.req] = true
		case 0:
			resp.res[a.part] = eventstore.AppendResult{Version: version, FirstPosition: first.Int64, LastPosition: last.Int64}
		default:
			if a.part < failed[a.req] {
				failed[a.req] = a.part
				resp.err = statusError(status, stream, batch[a.req].parts[a.part].Expected, version)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, st := range streams {
		if !seen[st] {
			return nil, fmt.Errorf("postgres: append_batch returned nothing for stream %q", st)
		}
	}
	for i := range resps {
		switch {
		case resps[i].err != nil:
			resps[i].res = nil
		case undone[i]:
			return nil, fmt.Errorf("postgres: append_batch undid a group none of whose appends failed")
		}
	}
	return resps, nil
}

// statusUndone is append_batch's status of an append that passed its own
// check but was not written because another append of its group failed.
const statusUndone = 7

// eventArrays holds events as the column arrays the SQL functions take.
type eventArrays struct {
	ids, causation, correlation []pgtype.UUID
	types                       []string
	data, meta                  [][]byte
}

func newEventArrays(n int) *eventArrays {
	return &eventArrays{
		ids:         make([]pgtype.UUID, 0, n),
		causation:   make([]pgtype.UUID, 0, n),
		correlation: make([]pgtype.UUID, 0, n),
		types:       make([]string, 0, n),
		data:        make([][]byte, 0, n),
		meta:        make([][]byte, 0, n),
	}
}

func (c *eventArrays) add(e eventstore.EventData) {
	data, meta := jsonColumns(e.Data, e.Metadata)
	c.ids = append(c.ids, pgUUID(e.ID))
	c.types = append(c.types, e.Type)
	c.data = append(c.data, data)
	c.meta = append(c.meta, meta)
	c.causation = append(c.causation, pgUUID(e.CausationID))
	c.correlation = append(c.correlation, pgUUID(e.CorrelationID))
}

func pgUUID(id uuid.UUID) pgtype.UUID {
	return pgtype.UUID{Bytes: id, Valid: id != uuid.Nil}
}

// statusError maps a status from the store's SQL functions to an error.
func statusError(status int16, stream string, expected eventstore.ExpectedVersion, actual int64) error {
	switch status {
	case 0:
		return nil
	case 1:
		return &eventstore.VersionConflictError{Stream: stream, Expected: expected, Actual: actual}
	case 2:
		return &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamNotFound}
	case 3:
		return &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamDeleted}
	case 4:
		return &eventstore.StreamError{Stream: stream, Err: eventstore.ErrEventNotFound}
	case 5:
		return &eventstore.StreamError{Stream: stream, Err: eventstore.ErrDuplicateEvent}
	}
	return fmt.Errorf("postgres: unknown status %d", status)
}

// isStatementError reports whether err is PostgreSQL refusing a statement's
// data (as opposed to a lost connection or a timeout).
func isStatementError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "40": // data exception, integrity constraint violation, deadlock or serialization failure
		return true
	}
	return false
}

// appendError maps a failed transaction's error. When the request was
// alone in its transaction, statement errors are its own. A duplicate
// event of a multi-stream append names no stream: the error does not say
// which stream's event it was.
func (s *Store) appendError(r *appendRequest, err error, alone bool) error {
	var pgErr *pgconn.PgError
	if alone && errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && (pgErr.ConstraintName == "events_event_id" || pgErr.ConstraintName == "links_stream_position"):
			if len(r.parts) > 1 {
				return fmt.Errorf("postgres: append to %d streams: %w", len(r.parts), eventstore.ErrDuplicateEvent)
			}
			return &eventstore.StreamError{Stream: r.parts[0].Stream, Err: eventstore.ErrDuplicateEvent}
		case pgErr.Code[:2] == "22":
			return &eventstore.InvalidArgumentError{Arg: "events", Reason: pgErr.Message}
		}
	}
	return ClassifyUnavailable(fmt.Errorf("postgres: append: %w", err))
}

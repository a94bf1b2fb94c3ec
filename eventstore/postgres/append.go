package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cohort-dev/cohort/eventstore"
)

// commitTimeout bounds one group-commit transaction. It does not depend on
// any caller's context: a batch carries many callers' appends.
const commitTimeout = 30 * time.Second

// maxBatchAppends bounds the appends in one group-commit transaction.
const maxBatchAppends = 1_000

// appendRequest is one Append waiting for a committer.
type appendRequest struct {
	stream   string
	expected eventstore.ExpectedVersion
	events   []eventstore.EventData // ids filled in
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
	res eventstore.AppendResult
	err error
}

func (r *appendRequest) reply(resp appendResponse) { r.result <- resp }

// Append implements eventstore.Appender. Concurrent appends are written
// together by group commit; each keeps its own concurrency check.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	evs := make([]eventstore.EventData, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			// Version 7 ids grow with time, which keeps the event id index
			// append-mostly.
			id, err := uuid.NewV7()
			if err != nil {
				return eventstore.AppendResult{}, fmt.Errorf("postgres: event id: %w", err)
			}
			e.ID = id
		}
		evs[i] = e
	}
	req := &appendRequest{stream: stream, expected: expected, events: evs, result: make(chan appendResponse, 1)}
	select {
	case s.appends <- req:
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
	select {
	case resp := <-req.result:
		return resp.res, resp.err
	case <-ctx.Done():
		if req.state.CompareAndSwap(requestQueued, requestAbandoned) {
			// No committer took it: it will never be written.
			return eventstore.AppendResult{}, ctx.Err()
		}
		// Its transaction is under way: report how it ended, so that
		// nothing lands after Append has returned.
		resp := <-req.result
		return resp.res, resp.err
	}
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

// collect adds to first whatever else is queued, up to the batch limits,
// without waiting: batches grow by themselves while a commit is in flight.
func (s *Store) collect(first *appendRequest) []*appendRequest {
	batch := []*appendRequest{first}
	n := len(first.events)
	for n < s.cfg.MaxBatchEvents && len(batch) < maxBatchAppends {
		select {
		case r := <-s.appends:
			batch = append(batch, r)
			n += len(r.events)
		default:
			return batch
		}
	}
	return batch
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

// commitClaimed writes claimed requests in one transaction and replies to
// each.
func (s *Store) commitClaimed(live []*appendRequest) {
	// Lock streams in one order in every transaction, so that two
	// committers (or two processes) never deadlock.
	slices.SortStableFunc(live, func(a, b *appendRequest) int { return cmp.Compare(a.stream, b.stream) })

	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	start := time.Now()
	resps, err := s.commitBatch(ctx, live)
	if s.cfg.Tracer != nil {
		events := 0
		for _, r := range live {
			events += len(r.events)
		}
		s.cfg.Tracer.BatchCommitted(len(live), events, time.Since(start), err)
	}
	if err != nil && len(live) > 1 && isStatementError(err) {
		// One append's data broke the whole transaction (a duplicate event
		// id, a value jsonb refuses). Nothing was written: write each one on
		// its own so that only the culprit fails.
		for _, r := range live {
			s.commitClaimed([]*appendRequest{r})
		}
		return
	}
	if err != nil {
		err = s.appendError(live[0], err, len(live) == 1)
		for _, r := range live {
			r.reply(appendResponse{err: err})
		}
		return
	}
	wrote := false
	for i, r := range live {
		r.reply(resps[i])
		wrote = wrote || resps[i].err == nil
	}
	if wrote {
		s.horizon.kick()
		s.notifier.kick()
	}
}

// commitBatch sends the whole batch in one round trip: the statements of a
// pipelined batch run in one implicit transaction that commits at its end.
func (s *Store) commitBatch(ctx context.Context, batch []*appendRequest) ([]appendResponse, error) {
	b := &pgx.Batch{}
	// The transaction id must be taken before any position (horizon.go).
	b.Queue("SELECT pg_current_xact_id()")
	for _, r := range batch {
		b.Queue(s.q.append, appendArgs(r)...)
	}
	br := s.pool.SendBatch(ctx, b)
	resps := make([]appendResponse, len(batch))
	var firstErr error
	if _, err := br.Exec(); err != nil {
		firstErr = err
	}
	for i, r := range batch {
		if firstErr != nil {
			break
		}
		var status int16
		var version int64
		var first, last pgtype.Int8
		if err := br.QueryRow().Scan(&status, &version, &first, &last); err != nil {
			firstErr = err
			break
		}
		resps[i] = appendResponse{
			res: eventstore.AppendResult{Version: version, FirstPosition: first.Int64, LastPosition: last.Int64},
			err: statusError(status, r.stream, r.expected, version),
		}
	}
	if err := br.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return resps, nil
}

func appendArgs(r *appendRequest) []any {
	n := len(r.events)
	ids := make([]pgtype.UUID, n)
	types := make([]string, n)
	data := make([][]byte, n)
	meta := make([][]byte, n)
	causation := make([]pgtype.UUID, n)
	correlation := make([]pgtype.UUID, n)
	for i, e := range r.events {
		ids[i] = pgUUID(e.ID)
		types[i] = e.Type
		data[i] = e.Data
		if len(data[i]) == 0 {
			data[i] = []byte("null")
		}
		if len(e.Metadata) > 0 {
			meta[i] = e.Metadata
		}
		causation[i] = pgUUID(e.CausationID)
		correlation[i] = pgUUID(e.CorrelationID)
	}
	return []any{r.stream, int64(r.expected), ids, types, data, meta, causation, correlation}
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
	case "22", "23": // data exception, integrity constraint violation
		return true
	}
	return false
}

// appendError maps a failed transaction's error. When the request was
// alone in its transaction, statement errors are its own.
func (s *Store) appendError(r *appendRequest, err error, alone bool) error {
	var pgErr *pgconn.PgError
	if alone && errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && (pgErr.ConstraintName == "events_event_id" || pgErr.ConstraintName == "links_stream_position"):
			return &eventstore.StreamError{Stream: r.stream, Err: eventstore.ErrDuplicateEvent}
		case pgErr.Code[:2] == "22":
			return &eventstore.InvalidArgumentError{Arg: "events", Reason: pgErr.Message}
		}
	}
	return fmt.Errorf("postgres: append: %w", err)
}

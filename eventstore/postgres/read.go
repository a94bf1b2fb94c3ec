package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cohort-dev/cohort/eventstore"
)

// ReadStream implements eventstore.StreamReader. The stream's state and its
// events are read in one round trip.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := eventstore.ValidateStreamID(stream); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	query, from := s.q.readStreamFwd, max(opts.From, 1)
	if opts.Direction == eventstore.Backward {
		query, from = s.q.readStreamBwd, opts.From
		if from == 0 {
			from = math.MaxInt64
		}
	}
	b := &pgx.Batch{}
	b.Queue(s.q.streamState, stream)
	b.Queue(query, stream, from, opts.Limit())
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()

	var version int64
	var deleted bool
	switch err := br.QueryRow().Scan(&version, &deleted); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamNotFound}
	case err != nil:
		return nil, fmt.Errorf("postgres: read stream: %w", err)
	case deleted:
		return nil, &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamDeleted}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream: %w", err)
	}
	evs, err := scanEvents(rows, stream, opts.Limit())
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream: %w", err)
	}
	return evs, nil
}

// ReadAll implements eventstore.AllReader. It reads up to the horizon, the
// highest position below which no transaction can still commit an event
// (see "Global order without a global lock" in the package documentation),
// refreshing it only when the known horizon ends the page.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	limit := opts.Limit()
	if opts.Direction == eventstore.Backward {
		safe, err := s.horizon.sync(ctx)
		if err != nil {
			return nil, err
		}
		from := safe
		if opts.From > 0 {
			from = min(opts.From, safe)
		}
		return s.queryEvents(ctx, s.q.readAllBwd, "", limit, from, limit)
	}
	from := max(opts.From, 1)
	safe, _ := s.horizon.current()
	var evs []eventstore.RecordedEvent
	if safe >= from {
		page, err := s.readAllRange(ctx, from, safe, limit)
		if err != nil || len(page) == limit {
			return page, err
		}
		evs = page
		if len(page) > 0 {
			from = page[len(page)-1].Position + 1
		}
		from = max(from, safe+1)
	}
	fresh, err := s.horizon.sync(ctx)
	if err != nil {
		return nil, err
	}
	if fresh < from {
		return evs, nil
	}
	more, err := s.readAllRange(ctx, from, fresh, limit-len(evs))
	if err != nil {
		return nil, err
	}
	return append(evs, more...), nil
}

// readAllRange reads $all forward from position from (inclusive) up to upTo
// (inclusive), at most limit events.
func (s *Store) readAllRange(ctx context.Context, from, upTo int64, limit int) ([]eventstore.RecordedEvent, error) {
	// A subscription asks for up to a batch and mostly gets a few events:
	// the range bounds how many there can be.
	capacity := int(min(int64(limit), max(upTo-from+1, 0)))
	return s.queryEvents(ctx, s.q.readAllFwd, "", capacity, from, upTo, limit)
}

// queryEvents runs a read query; stream is the stream read, empty for $all,
// and capacity the most events it can return.
func (s *Store) queryEvents(ctx context.Context, query, stream string, capacity int, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: read: %w", err)
	}
	evs, err := scanEvents(rows, stream, capacity)
	if err != nil {
		return nil, fmt.Errorf("postgres: read: %w", err)
	}
	return evs, nil
}

// scanEvents reads rows of (v, eventColumns). For a stream read, stream is
// the stream read and v the version in it; for $all, stream is empty.
func scanEvents(rows pgx.Rows, stream string, capacity int) ([]eventstore.RecordedEvent, error) {
	defer rows.Close()
	evs := make([]eventstore.RecordedEvent, 0, min(capacity, 1024))
	var (
		v                      int64
		id                     [16]byte
		causation, correlation pgtype.UUID
	)
	for rows.Next() {
		var e eventstore.RecordedEvent
		if err := rows.Scan(&v, &e.Position, &id, &e.OriginStreamID, &e.OriginStreamVersion, &e.Type,
			(*[]byte)(&e.Data), (*[]byte)(&e.Metadata), &causation, &correlation, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.ID = uuid.UUID(id)
		if causation.Valid {
			e.CausationID = causation.Bytes
		}
		if correlation.Valid {
			e.CorrelationID = correlation.Bytes
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.StreamID, e.StreamVersion = e.OriginStreamID, e.OriginStreamVersion
		if stream != "" {
			e.StreamID, e.StreamVersion = stream, v
		}
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

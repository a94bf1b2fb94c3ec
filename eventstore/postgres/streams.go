package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cohort-dev/cohort/eventstore"
)

// Link implements eventstore.Linker.
func (s *Store) Link(ctx context.Context, stream string, expected eventstore.ExpectedVersion, eventIDs []uuid.UUID) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateLink(stream, expected, eventIDs); err != nil {
		return eventstore.AppendResult{}, err
	}
	ids := make([]pgtype.UUID, len(eventIDs))
	for i, id := range eventIDs {
		ids[i] = pgUUID(id)
	}
	var status int16
	var version int64
	err := s.pool.QueryRow(ctx, s.q.link, stream, int64(expected), ids).Scan(&status, &version)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		// A concurrent link of the same event into the same stream.
		return eventstore.AppendResult{}, &eventstore.StreamError{Stream: stream, Err: eventstore.ErrDuplicateEvent}
	}
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: link: %w", err)
	}
	if err := statusError(status, stream, expected, version); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.committed()
	return eventstore.AppendResult{Version: version}, nil
}

// DeleteStream implements eventstore.StreamAdmin.
func (s *Store) DeleteStream(ctx context.Context, stream string, expected eventstore.ExpectedVersion, mode eventstore.DeleteMode) error {
	if err := eventstore.ValidateDelete(stream, expected, mode); err != nil {
		return err
	}
	var status int16
	var version int64
	err := s.pool.QueryRow(ctx, s.q.deleteStream, stream, int64(expected), mode == eventstore.HardDelete).Scan(&status, &version)
	if err != nil {
		return fmt.Errorf("postgres: delete stream: %w", err)
	}
	if err := statusError(status, stream, expected, version); err != nil {
		return err
	}
	if mode == eventstore.HardDelete {
		s.fanout.forget(stream)
	}
	s.committed()
	return nil
}

// StreamInfo implements eventstore.StreamAdmin.
func (s *Store) StreamInfo(ctx context.Context, stream string) (eventstore.StreamInfo, error) {
	if err := eventstore.ValidateStreamID(stream); err != nil {
		return eventstore.StreamInfo{}, err
	}
	info := eventstore.StreamInfo{StreamID: stream}
	err := s.pool.QueryRow(ctx, s.q.streamInfo, stream).Scan(&info.Version, &info.Deleted, (*[]byte)(&info.Metadata), &info.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.StreamInfo{}, &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamNotFound}
	}
	if err != nil {
		return eventstore.StreamInfo{}, fmt.Errorf("postgres: stream info: %w", err)
	}
	info.CreatedAt = info.CreatedAt.UTC()
	return info, nil
}

// SetStreamMetadata implements eventstore.StreamAdmin.
func (s *Store) SetStreamMetadata(ctx context.Context, stream string, metadata json.RawMessage) error {
	if err := eventstore.ValidateMetadata(stream, metadata); err != nil {
		return err
	}
	var md []byte
	if len(metadata) > 0 {
		md = metadata
	}
	tag, err := s.pool.Exec(ctx, s.q.setMetadata, stream, md)
	if err != nil {
		return fmt.Errorf("postgres: set stream metadata: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamNotFound}
	}
	return nil
}

// committed wakes local subscriptions and other processes after a write
// that did not go through group commit.
func (s *Store) committed() {
	s.horizon.kick()
	s.notifier.kick()
}

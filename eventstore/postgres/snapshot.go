package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
)

// RecordSnapshot implements eventstore.Snapshotter.
func (s *Store) RecordSnapshot(ctx context.Context, snap eventstore.Snapshot) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	data := []byte(snap.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	var md []byte
	if len(snap.Metadata) > 0 {
		md = snap.Metadata
	}
	_, err := s.pool.Exec(ctx, s.q.recordSnapshot, snap.SourceID, snap.SourceVersion, snap.SourceType, snap.SchemaVersion, data, md)
	if err != nil {
		return fmt.Errorf("postgres: record snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot implements eventstore.Snapshotter.
func (s *Store) ReadSnapshot(ctx context.Context, sourceID string) (eventstore.Snapshot, error) {
	snap := eventstore.Snapshot{SourceID: sourceID}
	err := s.pool.QueryRow(ctx, s.q.readSnapshot, sourceID).Scan(&snap.SourceVersion, &snap.SourceType,
		&snap.SchemaVersion, (*[]byte)(&snap.Data), (*[]byte)(&snap.Metadata), &snap.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Snapshot{}, fmt.Errorf("%w: %q", eventstore.ErrSnapshotNotFound, sourceID)
	}
	if err != nil {
		return eventstore.Snapshot{}, fmt.Errorf("postgres: read snapshot: %w", err)
	}
	snap.CreatedAt = snap.CreatedAt.UTC()
	return snap, nil
}

// DeleteSnapshot implements eventstore.Snapshotter.
func (s *Store) DeleteSnapshot(ctx context.Context, sourceID string) error {
	if _, err := s.pool.Exec(ctx, s.q.deleteSnapshot, sourceID); err != nil {
		return fmt.Errorf("postgres: delete snapshot: %w", err)
	}
	return nil
}

// SaveSnapshots records and deletes many snapshots in one transaction and
// one round trip, with RecordSnapshot's rule that a newer snapshot is kept.
func (s *Store) SaveSnapshots(ctx context.Context, record []eventstore.Snapshot, del []string) error {
	if len(record) == 0 && len(del) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, snap := range record {
		if err := snap.Validate(); err != nil {
			return err
		}
		data := []byte(snap.Data)
		if len(data) == 0 {
			data = []byte("null")
		}
		var md []byte
		if len(snap.Metadata) > 0 {
			md = snap.Metadata
		}
		b.Queue(s.q.recordSnapshot, snap.SourceID, snap.SourceVersion, snap.SourceType, snap.SchemaVersion, data, md)
	}
	for _, id := range del {
		b.Queue(s.q.deleteSnapshot, id)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: save snapshots: %w", err)
	}
	return nil
}

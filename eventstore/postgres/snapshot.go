package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cohort-dev/cohort/eventstore"
)

// RecordSnapshot implements eventstore.Snapshotter.
func (s *Store) RecordSnapshot(ctx context.Context, snap eventstore.Snapshot) error {
	args, err := recordSnapshotArgs(snap)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.recordSnapshot, args...); err != nil {
		return fmt.Errorf("postgres: record snapshot: %w", err)
	}
	return nil
}

// recordSnapshotArgs validates snap and returns the arguments of the
// statement that records it.
func recordSnapshotArgs(snap eventstore.Snapshot) ([]any, error) {
	if err := snap.Validate(); err != nil {
		return nil, err
	}
	data, md := jsonColumns(snap.Data, snap.Metadata)
	return []any{snap.SourceID, snap.SourceVersion, snap.SourceType, snap.SchemaVersion, data, md}, nil
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

// SaveSnapshots implements eventstore.SnapshotSaver: it records and
// deletes many snapshots in one transaction and one round trip, with RecordSnapshot's rule that a newer snapshot is kept.
func (s *Store) SaveSnapshots(ctx context.Context, record []eventstore.Snapshot, del []string) error {
	if len(record) == 0 && len(del) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, snap := range record {
		args, err := recordSnapshotArgs(snap)
		if err != nil {
			return err
		}
		b.Queue(s.q.recordSnapshot, args...)
	}
	for _, id := range del {
		b.Queue(s.q.deleteSnapshot, id)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: save snapshots: %w", err)
	}
	return nil
}

// ReadSnapshotStream implements eventstore.SnapshotStreamReader: it reads,
// in one statement and one round trip, the
// snapshot of sourceID and the first count events of stream after the
// snapshot's version (after version 0 when there is none): what loading an
// aggregate needs. found reports whether a snapshot exists. A missing
// stream has no events and is no error; a soft-deleted one is
// ErrStreamDeleted.
func (s *Store) ReadSnapshotStream(ctx context.Context, sourceID, stream string, count int) (snap eventstore.Snapshot, found bool, evs []eventstore.RecordedEvent, err error) {
	if err := eventstore.ValidateStreamID(stream); err != nil {
		return snap, false, nil, err
	}
	if count <= 0 || count > eventstore.MaxReadCount {
		return snap, false, nil, &eventstore.InvalidArgumentError{Arg: "count", Reason: "out of range"}
	}
	rows, err := s.pool.Query(ctx, s.q.snapshotStream, sourceID, stream, count)
	if err != nil {
		return snap, false, nil, fmt.Errorf("postgres: read snapshot and stream: %w", err)
	}
	defer rows.Close()
	var (
		deleted                pgtype.Bool
		snapVersion            pgtype.Int8
		snapType               pgtype.Text
		snapSchema             pgtype.Int4
		snapCreated            pgtype.Timestamptz
		snapData, snapMeta     []byte
		v, position, version   pgtype.Int8
		id                     pgtype.UUID
		evStream, typ          pgtype.Text
		causation, correlation pgtype.UUID
		created                pgtype.Timestamptz
	)
	for rows.Next() {
		var data, meta []byte
		if err := rows.Scan(&deleted, &snapVersion, &snapType, &snapSchema, &snapData, &snapMeta, &snapCreated,
			&v, &position, &id, &evStream, &version, &typ, &data, &meta, &causation, &correlation, &created); err != nil {
			return snap, false, nil, fmt.Errorf("postgres: read snapshot and stream: %w", err)
		}
		if !position.Valid {
			continue // no events: the one row of the outer joins
		}
		e := eventstore.RecordedEvent{
			ID: id.Bytes, Type: typ.String, Data: data, Metadata: meta,
			CreatedAt: created.Time.UTC(), StreamID: stream, StreamVersion: v.Int64,
			OriginStreamID: evStream.String, OriginStreamVersion: version.Int64, Position: position.Int64,
		}
		if len(e.Metadata) == 0 {
			e.Metadata = nil
		}
		if causation.Valid {
			e.CausationID = causation.Bytes
		}
		if correlation.Valid {
			e.CorrelationID = correlation.Bytes
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return snap, false, nil, fmt.Errorf("postgres: read snapshot and stream: %w", err)
	}
	if deleted.Valid && deleted.Bool {
		return snap, false, nil, &eventstore.StreamError{Stream: stream, Err: eventstore.ErrStreamDeleted}
	}
	if snapVersion.Valid {
		snap = eventstore.Snapshot{SourceID: sourceID, SourceVersion: snapVersion.Int64, SourceType: snapType.String,
			SchemaVersion: int(snapSchema.Int32), Data: snapData, Metadata: snapMeta, CreatedAt: snapCreated.Time.UTC()}
		found = true
	}
	return snap, found, evs, nil
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
)

// Head returns the position of the last event readers of $all can see (0
// for none): the last event below the refreshed horizon. (The horizon
// itself may be a position no event holds: taken by a transaction that
// rolled back, or by an event deleted since.)
func (s *Store) Head(ctx context.Context) (int64, error) {
	safe, err := s.horizon.sync(ctx)
	if err != nil {
		return 0, err
	}
	var head int64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM `+s.q.schema+`.events WHERE position <= $1`, safe).Scan(&head)
	if err != nil {
		return 0, fmt.Errorf("postgres: head: %w", err)
	}
	return head, nil
}

// ListStreams returns up to limit streams whose ids start with prefix and
// sort after the id after, in id order, soft-deleted ones included.
func (s *Store) ListStreams(ctx context.Context, prefix, after string, limit int) ([]eventstore.StreamInfo, error) {
	if limit <= 0 || limit > eventstore.MaxReadCount {
		return nil, &eventstore.InvalidArgumentError{Arg: "limit", Reason: "out of range"}
	}
	rows, err := s.pool.Query(ctx, `SELECT stream_id, version, deleted, metadata, created_at
		FROM `+s.q.schema+`.streams
		WHERE stream_id > $1 AND starts_with(stream_id, $2)
		ORDER BY stream_id LIMIT $3`, after, prefix, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list streams: %w", err)
	}
	infos, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventstore.StreamInfo, error) {
		var i eventstore.StreamInfo
		err := r.Scan(&i.StreamID, &i.Version, &i.Deleted, (*[]byte)(&i.Metadata), &i.CreatedAt)
		i.CreatedAt = i.CreatedAt.UTC()
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list streams: %w", err)
	}
	return infos, nil
}

// SubscriptionInfo describes a persistent subscription.
type SubscriptionInfo struct {
	// Name is the subscription's name (SubscribeOptions.Name).
	Name string
	// Stream is the stream it follows; eventstore.AllStream for $all.
	Stream string
	// Checkpoint is the last acknowledged position (stream version for a
	// stream subscription) that was stored.
	Checkpoint int64
	// Lag counts the events after the checkpoint.
	Lag int64
	// Oldest is when the oldest event after the checkpoint was appended;
	// zero without lag.
	Oldest time.Time
	// Active reports whether some process holds the subscription.
	Active bool
	// UpdatedAt is when the subscription was created or its checkpoint last
	// stored, in UTC.
	UpdatedAt time.Time
}

// Subscriptions lists the persistent subscriptions with their lag.
func (s *Store) Subscriptions(ctx context.Context) ([]SubscriptionInfo, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return nil, err
	}
	q := s.q.schema
	rows, err := s.pool.Query(ctx, `SELECT name, stream_id, last_seen, updated_at FROM `+q+`.subscriptions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriptions: %w", err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SubscriptionInfo, error) {
		var i SubscriptionInfo
		err := r.Scan(&i.Name, &i.Stream, &i.Checkpoint, &i.UpdatedAt)
		i.UpdatedAt = i.UpdatedAt.UTC()
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriptions: %w", err)
	}
	for i := range subs {
		sub := &subs[i]
		var oldest *time.Time
		if sub.Stream == eventstore.AllStream {
			err = s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM `+q+`.events
				WHERE position > $1 AND position <= $2`, sub.Checkpoint, head).Scan(&sub.Lag, &oldest)
		} else {
			err = s.pool.QueryRow(ctx, `SELECT greatest(coalesce(max(version), 0) - $2, 0), NULL::timestamptz
				FROM `+q+`.streams WHERE stream_id = $1`, sub.Stream, sub.Checkpoint).Scan(&sub.Lag, &oldest)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: subscription %s: %w", sub.Name, err)
		}
		if oldest != nil {
			sub.Oldest = oldest.UTC()
		}
		err = s.pool.QueryRow(ctx, `SELECT holder IS NOT NULL AND expires_at > clock_timestamp() AND `+q+`.holder_alive(holder)
			FROM `+q+`.subscriptions WHERE name = $1`, sub.Name).Scan(&sub.Active)
		if err != nil {
			return nil, fmt.Errorf("postgres: subscription %s: %w", sub.Name, err)
		}
	}
	return subs, nil
}

// Drop removes the event store's schema and everything in it: every
// stream, snapshot and subscription. It cannot be undone.
func Drop(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if schema == "" {
		schema = DefaultSchema
	}
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("postgres: drop: %w", err)
	}
	return nil
}

// ReadCorrelated returns up to limit events with the correlation id, in
// global order.
func (s *Store) ReadCorrelated(ctx context.Context, correlationID uuid.UUID, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 || limit > eventstore.MaxReadCount {
		return nil, &eventstore.InvalidArgumentError{Arg: "limit", Reason: "out of range"}
	}
	return s.queryEvents(ctx, `SELECT 0::bigint, `+eventColumns+` FROM `+s.q.schema+`.events e
		WHERE e.correlation_id = $1 ORDER BY e.position LIMIT $2`, "", limit, pgUUID(correlationID), limit)
}

// LastCorrelated returns the position of the last event with the
// correlation id at a position after after, or 0 when there is none. It
// reads the events after after (no index holds correlation ids).
func (s *Store) LastCorrelated(ctx context.Context, correlationID uuid.UUID, after int64) (int64, error) {
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM `+s.q.schema+`.events
		WHERE position > $1 AND correlation_id = $2`, after, pgUUID(correlationID)).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("postgres: last correlated: %w", err)
	}
	return last, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
)

// Key deletions are told to every store on the database with a NOTIFY on
// the schema's keys channel, sent by the statement that deletes the key
// (it commits with it), with the subject as payload. Every store LISTENs
// for it on its listen connection (see listen.go) and tells its key
// watchers; after that connection was lost and is back, it tells them
// the empty subject: forget every key.

var _ eventstore.KeyStore = (*Store)(nil)

// keyQueries holds the key statements with the schema filled in.
type keyQueries struct {
	get, create, delete string
}

func newKeyQueries(schema, channel string) keyQueries {
	s := pgx.Identifier{schema}.Sanitize()
	return keyQueries{
		get: fmt.Sprintf(`SELECT wrapped FROM %s.keys WHERE subject = $1`, s),
		// The insert's row, or the row that was there first. A row another
		// transaction inserts concurrently is not in this statement's
		// snapshot: CreateKey then reads again.
		create: fmt.Sprintf(`WITH ins AS (
  INSERT INTO %[1]s.keys (subject, wrapped) VALUES ($1, $2)
  ON CONFLICT (subject) DO NOTHING RETURNING wrapped)
SELECT wrapped FROM ins
UNION ALL
SELECT wrapped FROM %[1]s.keys WHERE subject = $1 AND NOT EXISTS (SELECT 1 FROM ins)`, s),
		delete: fmt.Sprintf(`WITH del AS (
  INSERT INTO %[1]s.keys (subject, wrapped, forgotten_at) VALUES ($1, NULL, now())
  ON CONFLICT (subject) DO UPDATE SET wrapped = NULL,
    forgotten_at = coalesce(%[1]s.keys.forgotten_at, now()))
SELECT pg_notify('%[2]s', $1)`, s, channel),
	}
}

// keysChannel names the channel of schema's key deletions.
func keysChannel(schema string) string { return schemaChannel("cohort_keys", schema) }

// Key implements [eventstore.KeyStore].
func (s *Store) Key(ctx context.Context, subject string) ([]byte, error) {
	if err := eventstore.ValidateKeySubject(subject); err != nil {
		return nil, err
	}
	var wrapped []byte
	err := s.pool.QueryRow(ctx, s.kq.get, subject).Scan(&wrapped)
	return keyResult(subject, wrapped, err)
}

// CreateKey implements [eventstore.KeyStore].
func (s *Store) CreateKey(ctx context.Context, subject string, wrapped []byte) ([]byte, error) {
	if err := eventstore.ValidateKeySubject(subject); err != nil {
		return nil, err
	}
	if len(wrapped) == 0 {
		return nil, &eventstore.InvalidArgumentError{Arg: "wrapped", Reason: "empty"}
	}
	for {
		var stored []byte
		err := s.pool.QueryRow(ctx, s.kq.create, subject, wrapped).Scan(&stored)
		if !errors.Is(err, pgx.ErrNoRows) {
			return keyResult(subject, stored, err)
		}
		// Another transaction inserted the row after this statement's
		// snapshot was taken: it is committed now.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// DeleteKey implements [eventstore.KeyStore].
func (s *Store) DeleteKey(ctx context.Context, subject string) error {
	if err := eventstore.ValidateKeySubject(subject); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.kq.delete, subject); err != nil {
		return ClassifyUnavailable(fmt.Errorf("postgres: delete key: %w", err))
	}
	return nil
}

// WatchKeys implements [eventstore.KeyStore]. fn is called from the
// store's listen connection.
func (s *Store) WatchKeys(fn func(subject string)) (stop func()) {
	return s.keyWatchers.Add(fn)
}

// keyResult turns a key row read into Key's and CreateKey's results.
func keyResult(subject string, wrapped []byte, err error) ([]byte, error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("%w: %q", eventstore.ErrKeyNotFound, subject)
	case err != nil:
		return nil, ClassifyUnavailable(fmt.Errorf("postgres: read key: %w", err))
	case wrapped == nil:
		return nil, fmt.Errorf("%w: %q", eventstore.ErrKeyForgotten, subject)
	}
	return wrapped, nil
}

// keyNotice handles a key deletion's payload.
func (s *Store) keyNotice(subject string) {
	s.keyWatchers.Notify(subject)
}

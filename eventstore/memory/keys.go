package memory

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
)

var _ eventstore.KeyStore = (*Store)(nil)

// Key implements [eventstore.KeyStore].
func (s *Store) Key(ctx context.Context, subject string) ([]byte, error) {
	if err := s.keyCall(ctx, subject); err != nil {
		return nil, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	return s.db.key(subject)
}

// CreateKey implements [eventstore.KeyStore].
func (s *Store) CreateKey(ctx context.Context, subject string, wrapped []byte) ([]byte, error) {
	if err := s.keyCall(ctx, subject); err != nil {
		return nil, err
	}
	if len(wrapped) == 0 {
		return nil, &eventstore.InvalidArgumentError{Arg: "wrapped", Reason: "empty"}
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if _, ok := s.db.keys[subject]; !ok {
		s.db.keys[subject] = bytes.Clone(wrapped)
	}
	return s.db.key(subject)
}

// DeleteKey implements [eventstore.KeyStore]: the key's watchers, on
// every handle, are told before it returns.
func (s *Store) DeleteKey(ctx context.Context, subject string) error {
	if err := s.keyCall(ctx, subject); err != nil {
		return err
	}
	s.db.mu.Lock()
	s.db.keys[subject] = nil
	s.db.mu.Unlock()
	s.db.keyWatchers.Notify(subject)
	return nil
}

// WatchKeys implements [eventstore.KeyStore]. fn is called synchronously
// by DeleteKey, on any handle on the storage.
func (s *Store) WatchKeys(fn func(subject string)) (stop func()) {
	return s.db.keyWatchers.Add(fn)
}

// keyCall checks a key call's context, handle and subject.
func (s *Store) keyCall(ctx context.Context, subject string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return eventstore.ValidateKeySubject(subject)
}

// key returns a copy of subject's stored key. The caller holds db.mu.
func (db *storage) key(subject string) ([]byte, error) {
	k, ok := db.keys[subject]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %q", eventstore.ErrKeyNotFound, subject)
	case k == nil:
		return nil, fmt.Errorf("%w: %q", eventstore.ErrKeyForgotten, subject)
	}
	return bytes.Clone(k), nil
}

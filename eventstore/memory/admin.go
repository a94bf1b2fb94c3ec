package memory

import (
	"context"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// Head returns the position of the last event in $all.
func (s *Store) Head(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	if len(s.db.all) == 0 {
		return 0, nil
	}
	return s.db.all[len(s.db.all)-1].rec.Position, nil
}

// ReadCorrelated returns up to limit events with the correlation id, in
// global order.
func (s *Store) ReadCorrelated(ctx context.Context, correlationID uuid.UUID, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 || limit > eventstore.MaxReadCount {
		return nil, &eventstore.InvalidArgumentError{Arg: "limit", Reason: "out of range"}
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	var out []eventstore.RecordedEvent
	for _, e := range s.db.all {
		if e.rec.CorrelationID == correlationID {
			out = append(out, e.record())
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// LastCorrelated returns the position of the last event with the
// correlation id at a position after after, or 0 when there is none.
func (s *Store) LastCorrelated(ctx context.Context, correlationID uuid.UUID, after int64) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	for i := len(s.db.all) - 1; i >= 0 && s.db.all[i].rec.Position > after; i-- {
		if s.db.all[i].rec.CorrelationID == correlationID {
			return s.db.all[i].rec.Position, nil
		}
	}
	return 0, nil
}

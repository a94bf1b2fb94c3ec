package actors_test

import (
	"context"
	"errors"
	"sync"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// spyStore wraps a store to count what the runtime does with it and to
// inject failures.
type spyStore struct {
	actors.EventStore

	mu        sync.Mutex
	reads     map[string]int // ReadStream and ReadSnapshotStream calls by stream
	pages     map[string]int // ReadStream calls alone, by stream
	loads     map[string]int // ReadSnapshotStream calls alone (a load's first read), by stream
	conflicts int            // appends that failed with a version conflict
	acks      map[string]int // Ack calls by subscription name
	// failAppend, if set, may fail an append before it reaches the store.
	failAppend func(stream string) error
}

func spy(s actors.EventStore) *spyStore {
	return &spyStore{EventStore: s, reads: map[string]int{}, pages: map[string]int{}, loads: map[string]int{}, acks: map[string]int{}}
}

func (s *spyStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	s.mu.Lock()
	fail := s.failAppend
	s.mu.Unlock()
	var err error
	if fail != nil {
		err = fail(stream)
	}
	var res eventstore.AppendResult
	if err == nil {
		res, err = s.EventStore.Append(ctx, stream, expected, events)
	}
	if errors.Is(err, eventstore.ErrVersionConflict) {
		s.mu.Lock()
		s.conflicts++
		s.mu.Unlock()
	}
	return res, err
}

func (s *spyStore) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	s.reads[stream]++
	s.pages[stream]++
	s.mu.Unlock()
	return s.EventStore.ReadStream(ctx, stream, opts)
}

// pagesOf returns how many times stream was read with ReadStream.
func (s *spyStore) pagesOf(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages[stream]
}

// readCount returns how many times stream was read.
func (s *spyStore) readCount(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[stream]
}

func (s *spyStore) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	sub, err := s.EventStore.Subscribe(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &spySub{Subscription: sub, s: s, name: opts.Name}, nil
}

// ReadSnapshotStream counts a load's read of the stream.
func (s *spyStore) ReadSnapshotStream(ctx context.Context, sourceID, stream string, count int) (eventstore.Snapshot, bool, []eventstore.RecordedEvent, error) {
	s.mu.Lock()
	s.reads[stream]++
	s.loads[stream]++
	s.mu.Unlock()
	return s.EventStore.ReadSnapshotStream(ctx, sourceID, stream, count)
}

// loadsOf returns how many times stream was loaded (read from its
// snapshot on), leaving out the reads of a kept state's new events.
func (s *spyStore) loadsOf(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[stream]
}

func (s *spyStore) readsOf(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[stream]
}

func (s *spyStore) conflictCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflicts
}

func (s *spyStore) acksOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks[name]
}

type spySub struct {
	eventstore.Subscription
	s    *spyStore
	name string
}

func (sub *spySub) Ack(ev eventstore.RecordedEvent) error {
	sub.s.mu.Lock()
	sub.s.acks[sub.name]++
	sub.s.mu.Unlock()
	return sub.Subscription.Ack(ev)
}

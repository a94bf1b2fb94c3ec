package postgres

import (
	"context"
	"sync"
	"time"
)

// FanoutReads returns how many times s's shared reader of $all read the
// tables on its own (tail), how many reads made with the horizon's
// observations it took (offered), and how many times its subscriptions
// read the tables themselves, behind the shared window (fallback).
func FanoutReads(s *Store) (tail, offered, fallback int64) {
	return s.fanout.reads.Load(), s.fanout.offered.Load(), s.fanout.fallbacks.Load()
}

// FreezeLeases stops s's lease manager, as if its process were frozen,
// until thaw (idempotent) is called: its leases are neither renewed nor found lost,
// while its subscriptions go on delivering.
func FreezeLeases(s *Store) (thaw func()) {
	s.leases.frozen.Lock()
	return sync.OnceFunc(s.leases.frozen.Unlock)
}

// WriteCheckpoint stores a persistent subscription's checkpoint under a
// lease token, as its subscription does.
func WriteCheckpoint(ctx context.Context, s *Store, name string, cursor, token int64) error {
	return s.writeCheckpoint(ctx, name, cursor, token)
}

// OnHorizonObservation makes s call f with the start and end of each
// observation its horizon makes to follow the commits.
func OnHorizonObservation(s *Store, f func(start, end time.Time)) {
	s.horizon.onObserve.Store(&f)
}

// HorizonGapCap is the longest pause the horizon makes between two
// observations.
const HorizonGapCap = horizonGapCap

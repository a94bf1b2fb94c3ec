package actors

import (
	"context"
	"log/slog"
	"sync"

	"github.com/cohort-dev/cohort/eventstore"
)

// snapshotter writes snapshots off the command path. It keeps only the
// newest pending snapshot per source, so a slow store never grows the
// queue beyond one snapshot per aggregate.
type snapshotter struct {
	store   eventstore.Snapshotter
	log     *slog.Logger
	written func(sourceType string) // counts snapshots written

	mu      sync.Mutex
	pending map[string]eventstore.Snapshot
	order   []string
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newSnapshotter(store eventstore.Snapshotter, log *slog.Logger, written func(sourceType string)) *snapshotter {
	s := &snapshotter{
		store:   store,
		log:     log,
		written: written,
		pending: make(map[string]eventstore.Snapshot),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.run()
	return s
}

// record queues a snapshot, replacing an older pending one of the source.
func (s *snapshotter) record(snap eventstore.Snapshot) {
	s.mu.Lock()
	if _, ok := s.pending[snap.SourceID]; !ok {
		s.order = append(s.order, snap.SourceID)
	}
	s.pending[snap.SourceID] = snap
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *snapshotter) run() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
			s.flush(context.Background())
		case <-s.stop:
			return
		}
	}
}

// flush writes what is pending.
func (s *snapshotter) flush(ctx context.Context) {
	for {
		s.mu.Lock()
		if len(s.order) == 0 {
			s.mu.Unlock()
			return
		}
		id := s.order[0]
		s.order = s.order[1:]
		snap := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if err := s.store.RecordSnapshot(ctx, snap); err != nil {
			// A lost snapshot costs only a longer rebuild.
			s.log.Warn("snapshot failed", "source", id, "err", err)
		} else {
			s.written(snap.SourceType)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// close writes what is pending, within ctx, and stops.
func (s *snapshotter) close(ctx context.Context) error {
	close(s.stop)
	<-s.done
	s.flush(ctx)
	return ctx.Err()
}

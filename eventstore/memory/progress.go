package memory

import "sync"

// watchers holds the functions told about every checkpoint stored in a
// storage, through any handle.
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(subscription string, checkpoint int64)
}

// WatchProgress calls fn each time a persistent subscription's checkpoint
// is stored, through any handle on the storage, with the subscription's
// name and its checkpoint, until stop is called (stop is idempotent). fn
// is called synchronously, by the acknowledgement or timer that stores the
// checkpoint: it must return quickly and not call the store.
func (s *Store) WatchProgress(fn func(subscription string, checkpoint int64)) (stop func()) {
	w := &s.db.watchers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = make(map[int]func(string, int64))
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns, id)
	}
}

// stored tells the watchers that subscription's checkpoint is stored.
func (w *watchers) stored(subscription string, checkpoint int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fn := range w.fns {
		fn(subscription, checkpoint)
	}
}

package memory

// progress is a stored checkpoint, as told to WatchProgress's watchers.
type progress struct {
	subscription string
	checkpoint   int64
}

// WatchProgress calls fn each time the checkpoint of a persistent
// subscription to $all is stored, through any handle on the storage, with
// the subscription's name and its checkpoint (a global position), until
// stop is called (stop is idempotent). fn
// is called synchronously, by the acknowledgement or timer that stores the
// checkpoint: it must return quickly and not call the store.
func (s *Store) WatchProgress(fn func(subscription string, checkpoint int64)) (stop func()) {
	return s.db.watchers.Add(func(p progress) { fn(p.subscription, p.checkpoint) })
}

package actors

// ProgressWatcher is what a store offers so that waits for handlers that
// run in another process are pushed instead of polled: strong consistency
// and App.WaitFor wake when the handler's checkpoint is stored, wherever
// it runs. The PostgreSQL and memory stores implement it. With a store
// that does not, such waits poll the stored checkpoints instead.
type ProgressWatcher interface {
	// WatchProgress calls fn each time the checkpoint of a persistent
	// subscription to $all is stored, by any process using the store
	// (this one included), with the subscription's name and the checkpoint
	// (a global position), until stop is called. fn must return quickly and not call the store.
	// Notifications may be lost (a connection lost), come more than once
	// or out of order: a checkpoint is a lower bound.
	WatchProgress(fn func(subscription string, checkpoint int64)) (stop func())
}

// watchProgress makes the checkpoints stored for this application's
// handlers and process managers, by any process, advance their progress in
// the tracker. It reports whether the store pushes progress.
func (a *App) watchProgress() bool {
	w, ok := a.store.(ProgressWatcher)
	if !ok {
		return false
	}
	names := make(map[string]string, len(a.handlerSeq)) // subscription -> handler
	for _, r := range a.handlerSeq {
		if sub := r.subscription(); sub != "" {
			names[sub] = r.name()
		}
	}
	a.unwatch = w.WatchProgress(func(subscription string, checkpoint int64) {
		if name, ok := names[subscription]; ok {
			a.tracker.advance(name, checkpoint)
		}
	})
	return true
}

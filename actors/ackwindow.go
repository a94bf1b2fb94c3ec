package actors

// ackWindow is the ordered-acknowledgement window of an actor that hands a
// subscription's events to children running in parallel (a process
// manager's instances, a handler's partitions): children finish events out
// of order, and the subscription is acknowledged only up to the last event
// before which every event delivered has finished.
//
// A subscription that resumes in the same process delivers again the
// events still in flight: both copies are in the window, and an event's
// position counts the unfinished deliveries of both, so that neither copy
// is acknowledged before every delivery of that position has finished.
type ackWindow struct {
	order     []Event       // delivered, in order, not yet acknowledged
	remaining map[int64]int // position -> deliveries to children not yet finished
}

// newAckWindow returns an empty window.
func newAckWindow() *ackWindow {
	return &ackWindow{remaining: make(map[int64]int)}
}

// add appends ev, delivered to n children (0: nothing to wait for).
func (w *ackWindow) add(ev Event, n int) {
	w.order = append(w.order, ev)
	w.remaining[ev.Position] += n
}

// finish records that one delivery of the event at position pos finished.
func (w *ackWindow) finish(pos int64) {
	w.remaining[pos]--
}

// advance drops the events at the front of the window whose deliveries
// have all finished and returns the last of them; ok is false when there
// is none.
func (w *ackWindow) advance() (last Event, ok bool) {
	n := 0
	for n < len(w.order) && w.remaining[w.order[n].Position] <= 0 {
		n++
	}
	if n == 0 {
		return Event{}, false
	}
	last = w.order[n-1]
	for _, ev := range w.order[:n] {
		delete(w.remaining, ev.Position)
	}
	w.order = w.order[n:]
	return last, true
}

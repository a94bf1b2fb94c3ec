package actors

import "iter"

// ring keeps the latest values added to it, up to a capacity: once full,
// each value added replaces the oldest. It is not safe for concurrent use.
type ring[T any] struct {
	capacity int
	items    []T
	next     int // index of the oldest item, the next to replace, once full
}

// newRing returns an empty ring that keeps up to capacity values.
func newRing[T any](capacity int) ring[T] {
	return ring[T]{capacity: capacity}
}

// add keeps v, replacing the oldest value when the ring is full; it
// returns the value replaced, and whether there was one.
func (r *ring[T]) add(v T) (old T, replaced bool) {
	if len(r.items) < r.capacity {
		r.items = append(r.items, v)
		return old, false
	}
	old = r.items[r.next]
	r.items[r.next] = v
	r.next = (r.next + 1) % r.capacity
	return old, true
}

// all yields the values kept, oldest first.
func (r *ring[T]) all() iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := range r.items {
			if !yield(r.items[(r.next+i)%len(r.items)]) {
				return
			}
		}
	}
}

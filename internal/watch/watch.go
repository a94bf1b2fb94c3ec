package watch

import "sync"

// Set holds registered functions; its zero value is empty and ready. It is
// safe for concurrent use.
type Set[T any] struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(T)
}

// Add registers fn until stop is called; stop is idempotent.
func (s *Set[T]) Add(fn func(T)) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = make(map[int]func(T))
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.fns, id)
	}
}

// Notify calls every registered function with v, one after the other, in
// no particular order. A function stopped meanwhile is not called once
// stop has returned.
func (s *Set[T]) Notify(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fn := range s.fns {
		fn(v)
	}
}

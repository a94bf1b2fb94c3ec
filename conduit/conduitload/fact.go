package conduitload

import "slices"

// Fact is one value the load writes, with what the server may show of it
// (see the package documentation). Only one worker writes a fact; the
// ledger's lock guards it.
type Fact[T comparable] struct {
	last    T   // the last acknowledged value, or the initial one
	acked   int // acknowledged writes
	pending []T // values of writes after last whose outcome is unknown
	sticky  []T // values of writes that timed out
}

// NewFact returns a fact whose value is initial (acknowledged: the write
// that created its owner was).
func NewFact[T comparable](initial T) *Fact[T] { return &Fact[T]{last: initial} }

// Record notes a write of v with outcome o.
func (f *Fact[T]) Record(v T, o Outcome) {
	switch o {
	case Acked:
		f.last, f.pending = v, nil
		f.acked++
	case Unknown:
		f.pending = append(f.pending, v)
	case TimedOut:
		f.sticky = append(f.sticky, v)
	}
}

// Candidates returns the values the server may show, the last
// acknowledged one first.
func (f *Fact[T]) Candidates() []T {
	c := []T{f.last}
	for _, v := range slices.Concat(f.pending, f.sticky) {
		if !slices.Contains(c, v) {
			c = append(c, v)
		}
	}
	return c
}

// Certain returns the value the server must show, if only one is
// possible.
func (f *Fact[T]) Certain() (T, bool) {
	c := f.Candidates()
	return c[0], len(c) == 1
}

// Believed returns the value a worker should assume: the last one it
// wrote, acknowledged or not.
func (f *Fact[T]) Believed() T {
	if n := len(f.pending); n > 0 {
		return f.pending[n-1]
	}
	return f.last
}

// Acked returns how many writes of the fact were acknowledged.
func (f *Fact[T]) Acked() int { return f.acked }

// Allows reports whether the server may show v.
func (f *Fact[T]) Allows(v T) bool { return slices.Contains(f.Candidates(), v) }

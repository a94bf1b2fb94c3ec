package watch_test

import (
	"slices"
	"testing"

	"github.com/cohort-dev/cohort/internal/watch"
)

func TestSet(t *testing.T) {
	var s watch.Set[int]
	var a, b []int
	stopA := s.Add(func(v int) { a = append(a, v) })
	stopB := s.Add(func(v int) { b = append(b, v) })
	s.Notify(1)
	stopA()
	stopA() // idempotent
	s.Notify(2)
	stopB()
	s.Notify(3)
	if !slices.Equal(a, []int{1}) || !slices.Equal(b, []int{1, 2}) {
		t.Fatalf("a %v, b %v; want [1] and [1 2]", a, b)
	}
}

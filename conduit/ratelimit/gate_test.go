package ratelimit_test

import (
	"testing"

	"github.com/cohort-dev/cohort/conduit/ratelimit"
)

func TestGate(t *testing.T) {
	g, err := ratelimit.NewGate(2)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		enter bool
		want  bool
	}{
		{enter: true, want: true}, {enter: true, want: true}, {enter: true, want: false},
		{enter: false}, {enter: true, want: true}, {enter: true, want: false},
		{enter: false}, {enter: false}, {enter: true, want: true},
	}
	for i, s := range steps {
		if !s.enter {
			g.Leave()
			continue
		}
		if got := g.TryEnter(); got != s.want {
			t.Fatalf("step %d: TryEnter = %v, want %v", i, got, s.want)
		}
	}
	if _, err := ratelimit.NewGate(0); err == nil {
		t.Fatal("NewGate(0) accepted")
	}
}

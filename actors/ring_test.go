package actors

import (
	"slices"
	"testing"
	"time"
)

// TestRing: a ring keeps the latest values up to its capacity and yields
// them oldest first.
func TestRing(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		added    int
		want     []int
	}{
		{"empty", 3, 0, nil},
		{"partly full", 3, 2, []int{0, 1}},
		{"just full", 3, 3, []int{0, 1, 2}},
		{"one over", 3, 4, []int{1, 2, 3}},
		{"wrapped twice", 3, 7, []int{4, 5, 6}},
		{"capacity one", 1, 5, []int{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing[int](tt.capacity)
			for i := range tt.added {
				r.add(i)
			}
			if got := slices.Collect(r.all()); !slices.Equal(got, tt.want) {
				t.Fatalf("all() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestJournalKeepsLatest: the journal keeps the latest journalCommands
// commands and journalHandlings handlings, oldest first, and counts every
// command dispatched.
func TestJournalKeepsLatest(t *testing.T) {
	j := newJournal()
	const extra = 5
	for i := range journalCommands + extra {
		j.command(CommandRecord{Type: "c", Duration: time.Duration(i)})
	}
	for i := range journalHandlings + extra {
		j.handling(HandlingRecord{Handler: "h", Position: int64(i)})
	}
	if got := j.commands.Load(); got != journalCommands+extra {
		t.Fatalf("commands = %d, want %d", got, journalCommands+extra)
	}
	cmds := slices.Collect(j.cmds.all())
	if len(cmds) != journalCommands || cmds[0].Duration != time.Duration(extra) || cmds[len(cmds)-1].Duration != time.Duration(journalCommands+extra-1) {
		t.Fatalf("kept %d commands from %v to %v, want %d from %v", len(cmds), cmds[0].Duration, cmds[len(cmds)-1].Duration, journalCommands, time.Duration(extra))
	}
	hs := slices.Collect(j.handlings.all())
	if len(hs) != journalHandlings || hs[0].Position != extra || hs[len(hs)-1].Position != journalHandlings+extra-1 {
		t.Fatalf("kept %d handlings from %d to %d, want %d from %d", len(hs), hs[0].Position, hs[len(hs)-1].Position, journalHandlings, extra)
	}
}

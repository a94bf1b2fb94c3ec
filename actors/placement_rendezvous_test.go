package actors_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/actors"
)

// subscriptions returns n subscription names.
func subscriptions(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = actors.HandlerSubscription(fmt.Sprintf("projection-%d", i))
	}
	return names
}

// TestRendezvousPlacementOwners: every member computes the same owner,
// exactly one member owns each subscription, they spread over the
// members, and a member leaving moves only its own subscriptions.
func TestRendezvousPlacementOwners(t *testing.T) {
	members := []string{"node-a", "node-b", "node-c"}
	names := subscriptions(300)
	views := make(map[string]*actors.RendezvousPlacement)
	for _, m := range members {
		// Members in another order, and repeated: the same view.
		views[m] = actors.NewRendezvousPlacement(m, members[2], members[0], members[1], members[0])
	}
	count := make(map[string]int)
	before := make(map[string]string)
	for _, n := range names {
		var owners []string
		for _, m := range members {
			if views[m].Owns(n) {
				owners = append(owners, m)
			}
			if o := views[m].Owner(n); o != views[members[0]].Owner(n) {
				t.Fatalf("%s: %s sees owner %s, %s sees %s", n, m, o, members[0], views[members[0]].Owner(n))
			}
		}
		if len(owners) != 1 {
			t.Fatalf("%s owned by %v, want one member", n, owners)
		}
		count[owners[0]]++
		before[n] = owners[0]
	}
	for _, m := range members {
		// 100 each on average; a wide bound, for the hash's spread only.
		if count[m] < 60 {
			t.Errorf("owners %v: %s owns %d of %d", count, m, count[m], len(names))
		}
	}

	after := actors.NewRendezvousPlacement("node-a", "node-a", "node-b")
	for _, n := range names {
		o := after.Owner(n)
		if before[n] != "node-c" && o != before[n] {
			t.Errorf("%s moved from %s to %s, though %s stayed", n, before[n], o, before[n])
		}
		if o == "node-c" || o == "" {
			t.Errorf("%s owned by %q after node-c left", n, o)
		}
	}
}

// TestRendezvousPlacementChanged: SetMembers closes the channel Changed
// returned when this node's id or the members change, and only then; a
// node outside the members owns nothing, and with no members nobody does.
func TestRendezvousPlacementChanged(t *testing.T) {
	p := actors.NewRendezvousPlacement("a", "a", "b")
	steps := []struct {
		name    string
		self    string
		members []string
		changed bool
		ownsAny bool
	}{
		{"same members, other order", "a", []string{"b", "a"}, false, true},
		{"a member joins", "a", []string{"a", "b", "c"}, true, true},
		{"this node is removed", "a", []string{"b", "c"}, true, false},
		{"this node comes back under another id", "a2", []string{"a2", "b", "c"}, true, true},
		{"no members", "a2", nil, true, false},
	}
	names := subscriptions(30)
	for _, s := range steps {
		ch := p.Changed()
		p.SetMembers(s.self, s.members)
		select {
		case <-ch:
			if !s.changed {
				t.Errorf("%s: Changed closed", s.name)
			}
		default:
			if s.changed {
				t.Errorf("%s: Changed not closed", s.name)
			}
		}
		owns := 0
		for _, n := range names {
			if p.Owns(n) {
				owns++
			}
		}
		if (owns > 0) != s.ownsAny {
			t.Errorf("%s: owns %d of %d", s.name, owns, len(names))
		}
	}
	if o := p.Owner(names[0]); o != "" {
		t.Errorf("owner without members: %q", o)
	}
}

// TestRendezvousPlacementConcurrent: membership changes while others ask
// who owns what (for the race detector).
func TestRendezvousPlacementConcurrent(t *testing.T) {
	p := actors.NewRendezvousPlacement("a", "a", "b")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 {
					p.SetMembers("a", []string{"a", "b", fmt.Sprint(j % 3)})
					continue
				}
				select {
				case <-p.Changed():
				default:
				}
				p.Owns(fmt.Sprint(j))
				p.Members()
			}
		})
	}
	wg.Wait()
}

package actors

import (
	"hash/fnv"
	"slices"
	"sync"
)

// RendezvousPlacement is a Placement for a cluster: each subscription is
// owned by the member with the highest hash of (member, subscription)
// (rendezvous hashing), so subscriptions spread evenly over the members,
// and when a member leaves only its own subscriptions move, each to the
// member that comes next for it. Every node computes the same owner from
// the same members: feed it the cluster's membership (SetMembers) as it
// changes. It is safe for concurrent use.
type RendezvousPlacement struct {
	mu      sync.Mutex
	self    string
	members []string // sorted, without duplicates
	changed chan struct{}
}

// NewRendezvousPlacement returns a placement for the node self among
// members (self among them, or it owns nothing).
func NewRendezvousPlacement(self string, members ...string) *RendezvousPlacement {
	p := &RendezvousPlacement{changed: make(chan struct{})}
	p.SetMembers(self, members)
	return p
}

// SetMembers replaces this node's id and the cluster's members (member
// ids, e.g. protoactor's member ids); a change of either closes the
// channel Changed returned. While self is not among members, this node
// owns nothing.
func (p *RendezvousPlacement) SetMembers(self string, members []string) {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	p.mu.Lock()
	defer p.mu.Unlock()
	if self == p.self && slices.Equal(ms, p.members) {
		return
	}
	p.self, p.members = self, ms
	close(p.changed)
	p.changed = make(chan struct{})
}

// Members returns this node's id and the members, sorted.
func (p *RendezvousPlacement) Members() (self string, members []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.self, slices.Clone(p.members)
}

// Owner returns the member that owns subscription, or "" without members.
func (p *RendezvousPlacement) Owner(subscription string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return rendezvousOwner(p.members, subscription)
}

// Owns implements Placement: this node owns subscription when it is among
// the members and wins its rendezvous.
func (p *RendezvousPlacement) Owns(subscription string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.self != "" && rendezvousOwner(p.members, subscription) == p.self
}

// Changed implements Placement.
func (p *RendezvousPlacement) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// rendezvousOwner returns the member of members with the highest weight
// for key ("" without members); ties go to the smaller id.
func rendezvousOwner(members []string, key string) string {
	var owner string
	var best uint64
	for _, m := range members {
		if w := rendezvousWeight(m, key); owner == "" || w > best {
			owner, best = m, w
		}
	}
	return owner
}

// rendezvousWeight hashes member and key (FNV-1a, finished with
// SplitMix64's mixer so that similar names spread): the same on every
// node, unlike hash/maphash, whose seeds are per process.
func rendezvousWeight(member, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

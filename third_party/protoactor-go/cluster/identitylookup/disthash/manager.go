package disthash

import (
	"github.com/asynkron/protoactor-go/actor"
	clustering "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// PartitionActivatorActorName is the name used for the partition activator actor.
	PartitionActivatorActorName = "partition-activator"
)

// Manager coordinates partition ownership and routing for virtual actors.
type Manager struct {
	cluster        *clustering.Cluster
	topologySub    *eventstream.Subscription
	placementActor *actor.PID
	rdvMutex       sync.RWMutex
	rdv            *clustering.Rendezvous
	// COHORT: the addresses of the last topology's members, and a channel
	// closed when the next topology replaces it (both under rdvMutex), so
	// that GetWithin stops waiting for an owner that left.
	members map[string]bool
	changed chan struct{}
}

func newPartitionManager(c *clustering.Cluster) *Manager {
	return &Manager{
		cluster: c,
		rdv:     clustering.NewRendezvous(),
		members: map[string]bool{},
		changed: make(chan struct{}),
	}
}

// Start initializes the manager and begins listening for topology changes.
func (pm *Manager) Start() {
	pm.cluster.Logger().Info("Started partition manager")
	system := pm.cluster.ActorSystem

	activatorProps := actor.PropsFromProducer(func() actor.Actor { return newPlacementActor(pm.cluster, pm) })
	pm.placementActor, _ = system.Root.SpawnNamed(activatorProps, PartitionActivatorActorName)
	pm.cluster.Logger().Info("Started partition placement actor")

	pm.topologySub = system.EventStream.
		Subscribe(func(ev interface{}) {
			if topology, ok := ev.(*clustering.ClusterTopology); ok {
				pm.onClusterTopology(topology)
			}
		})
}

// Stop terminates the placement actor and unsubscribes from topology events.
func (pm *Manager) Stop() {
	system := pm.cluster.ActorSystem
	system.EventStream.Unsubscribe(pm.topologySub)

	err := system.Root.PoisonFuture(pm.placementActor).Wait()
	if err != nil {
		pm.cluster.Logger().Error("Failed to shutdown partition placement actor", slog.Any("error", err))
	}

	pm.cluster.Logger().Info("Stopped PartitionManager")
}

// PidOfActivatorActor returns the PID of the partition activator on the given node.
func (pm *Manager) PidOfActivatorActor(addr string) *actor.PID {
	return actor.NewPID(addr, PartitionActivatorActorName)
}

func (pm *Manager) onClusterTopology(tplg *clustering.ClusterTopology) {
	pm.rdvMutex.Lock()
	defer pm.rdvMutex.Unlock()

	// gather member addresses to provide a concise summary log while
	// keeping detailed member data available at debug level
	memberAddrs := make([]string, len(tplg.Members))
	for i, m := range tplg.Members {
		addr := m.Host + ":" + strconv.Itoa(int(m.Port))
		pm.cluster.Logger().Debug("Topology member", slog.String("id", m.Id), slog.String("address", addr), slog.String("kinds", strings.Join(m.Kinds, ",")))
		memberAddrs[i] = addr
	}
	// log the overall topology change in a single info log
	pm.cluster.Logger().Info("onClusterTopology", slog.Uint64("topology-hash", tplg.TopologyHash), slog.Int("member-count", len(memberAddrs)), slog.String("members", strings.Join(memberAddrs, ",")))

	pm.rdv = clustering.NewRendezvous()
	pm.rdv.UpdateMembers(tplg.Members)
	// COHORT: the new members, and the waits of GetWithin told.
	pm.members = make(map[string]bool, len(tplg.Members))
	for _, m := range tplg.Members {
		pm.members[m.Address()] = true
	}
	close(pm.changed)
	pm.changed = make(chan struct{})
	pm.cluster.ActorSystem.Root.Send(pm.placementActor, tplg)
}

// Get resolves the PID responsible for the given cluster identity.
// Returns nil if the cluster kind is unknown or activation failed.
// COHORT: it waits for the activation at most the cluster's
// RequestTimeoutTime (5 s by default), which was hard-coded; see GetWithin.
func (pm *Manager) Get(identity *clustering.ClusterIdentity) *actor.PID {
	return pm.GetWithin(identity, pm.cluster.Config.RequestTimeoutTime)
}

// GetWithin (COHORT) is Get waiting at most timeout for the owner's
// activation, so that a request waits no longer than its own timeout
// when the owner is unreachable. The owner is chosen under the read lock,
// which is released before the wait: held across it, a wait on a crashed
// owner blocked the topology update that removes that owner (and the
// cluster provider feeding it) until the wait ended. It also stops
// waiting, and returns nil, once a topology without the owner arrives:
// the activation request may never be answered then (remote can lose a
// request to a member that is leaving, without a dead letter), and a new
// lookup finds the identity's new owner.
func (pm *Manager) GetWithin(identity *clustering.ClusterIdentity, timeout time.Duration) *actor.PID {
	if timeout <= 0 {
		return nil
	}
	pm.rdvMutex.RLock()
	ownerAddress := pm.rdv.GetByClusterIdentity(identity)
	changed := pm.changed
	pm.rdvMutex.RUnlock()
	if ownerAddress == "" {
		return nil
	}

	identityOwnerPid := pm.PidOfActivatorActor(ownerAddress)
	request := &clustering.ActivationRequest{
		ClusterIdentity: identity,
		RequestId:       "",
	}
	future := pm.cluster.ActorSystem.Root.RequestFuture(identityOwnerPid, request, timeout)
	var (
		res  interface{}
		err  error
		done = make(chan struct{})
	)
	go func() { // ends when the future completes or times out
		defer close(done)
		res, err = future.Result()
	}()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-changed:
			pm.rdvMutex.RLock()
			left := !pm.members[ownerAddress]
			changed = pm.changed
			pm.rdvMutex.RUnlock()
			if left {
				return nil
			}
		}
	}
	if err != nil {
		return nil
	}
	typed, ok := res.(*clustering.ActivationResponse)
	if !ok || typed.Failed {
		return nil
	}
	return typed.Pid
}

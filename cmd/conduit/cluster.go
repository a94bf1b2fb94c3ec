package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/cohort-dev/cohort/actors"
	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/httpapi"
)

// clusterAddr splits -cluster-addr into the host and port to bind.
func (c Config) clusterAddr() (string, int, error) {
	addr := c.ClusterAddr
	if addr == "" {
		addr = DefaultClusterAddr
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("-cluster-addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("-cluster-addr %q: the port is not a number in 0..65535", addr)
	}
	return host, port, nil
}

// membership is the configuration of the membership in the database:
// -cluster-ttl and -cluster-heartbeat (zero: the provider's defaults) and
// the runtime's protocol; the caller adds the logger.
func (c Config) membership() clusterpg.Config {
	return clusterpg.Config{TTL: c.ClusterTTL, HeartbeatInterval: c.ClusterHeartbeat, Protocol: actors.ClusterProtocol}
}

// joinCluster returns the runtime's cluster configuration with -cluster:
// membership in the database's members table (migrated here), kept by a
// provider that Close closes, and TLS between the members with the
// -cluster-tls-* flags (loaded by Run). Without -cluster it returns nil.
func (m *Main) joinCluster(ctx context.Context) (*actors.ClusterConfig, error) {
	if m.Config.ClusterName == "" {
		return nil, nil
	}
	host, port, err := m.Config.clusterAddr()
	if err != nil {
		return nil, err
	}
	if err := clusterpg.Migrate(ctx, m.pool, ""); err != nil {
		return nil, fmt.Errorf("cluster members table: %w", err)
	}
	mc := m.Config.membership()
	mc.Logger = m.Logger
	if m.members, err = clusterpg.New(ctx, m.pool, mc); err != nil {
		return nil, err
	}
	// An expelled node must stop: Failed reports it to the program.
	m.unwatch = make(chan struct{})
	go func(expelled, done <-chan struct{}) { // ends on expulsion or when Close closes done
		select {
		case <-expelled:
			select {
			case m.failed <- m.members.Err():
			default:
			}
		case <-done:
		}
	}(m.members.Expelled(), m.unwatch)
	return &actors.ClusterConfig{Name: m.Config.ClusterName, Provider: m.members,
		Host: host, Port: port, AdvertisedAddress: m.Config.ClusterAdvertise, TLS: m.memberTLS}, nil
}

// errExpelled is the cluster check's failure once the membership has
// expelled this node (it is stopping then).
var errExpelled = errors.New("expelled from the cluster")

// clusterCheck is the readiness condition of a member: not expelled.
func (m *Main) clusterCheck() httpapi.Check {
	return httpapi.Check{Name: "cluster", Probe: func(context.Context) error {
		select {
		case <-m.members.Expelled():
			return fmt.Errorf("%w: %w", errExpelled, m.members.Err())
		default:
			return nil
		}
	}}
}

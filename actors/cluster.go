package actors

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
)

// ClusterConfig makes an App a member of a protoactor-go cluster: its
// aggregates become cluster identities, each shard of an aggregate type
// active on one member (placed by rendezvous hashing, moved when members
// join or leave), and a command dispatched on any member runs on the
// member its shard lives on. Process managers' instances are cluster
// identities too, in shards of their own: a process manager's
// coordinator (its subscription) runs on one member, placed as handlers
// are, and hands each event to its instances wherever they live. Every
// member registers the same aggregates, process managers, routes, event
// types and error types, with the same Config.Shards and
// MaxLiveAggregates: they decide which shard an id belongs to.
type ClusterConfig struct {
	// Name is the cluster's name; members of one cluster give the same.
	// Required.
	Name string
	// Provider keeps the member list, e.g. the PostgreSQL membership of
	// package actors/cluster/postgres, or one of protoactor's own
	// providers. Required. The App starts it and shuts it down.
	Provider cluster.ClusterProvider
	// Host is the address the member's gRPC server binds (default
	// 127.0.0.1). An unspecified address (0.0.0.0, ::) needs an
	// AdvertisedAddress.
	Host string
	// Port is the port the member binds; 0 picks a free one.
	Port int
	// AdvertisedAddress is the host:port other members reach this one at
	// (default: the bound address). Start checks that it reaches this
	// member.
	AdvertisedAddress string
	// TLS, when set, secures the gRPC traffic between members: one
	// configuration serves both sides. The member's server presents
	// Certificates (or GetCertificate's) and, with ClientCAs, requires
	// and verifies the certificate of each member that dials it (mutual
	// TLS; ClientAuth left zero means tls.RequireAndVerifyClientCert
	// then). Dialing the other members, it verifies their certificates
	// against RootCAs (nil: the system's roots) and the host of their
	// advertised address (unless ServerName names one for all), and
	// presents Certificates when asked. So every member's certificate
	// names its advertised host (a DNS name or an IP address) and, for
	// mutual TLS, allows both server and client authentication. Nil
	// keeps the traffic plaintext. Every member of a cluster gives TLS or
	// none does: a member the others cannot talk to is still a member of
	// the membership, and commands to or from its shards fail, at their
	// deadline, with ErrTimeout. The configuration is not modified.
	TLS *tls.Config
}

// clusterKindPrefix prefixes the cluster kind of each aggregate type's
// shards.
const clusterKindPrefix = "cohort.aggregate."

// Validate checks the configuration.
func (c *ClusterConfig) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("actors: Cluster.Name is empty")
	case c.Provider == nil:
		return errors.New("actors: Cluster.Provider is nil")
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("actors: Cluster.Port %d out of range 0..65535", c.Port)
	}
	host := c.withDefaults().Host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() && c.AdvertisedAddress == "" {
		return fmt.Errorf("actors: Cluster.Host %s binds every interface: give Cluster.AdvertisedAddress", host)
	}
	if c.AdvertisedAddress != "" {
		h, p, err := net.SplitHostPort(c.AdvertisedAddress)
		if err != nil {
			return fmt.Errorf("actors: Cluster.AdvertisedAddress: %w", err)
		}
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 || h == "" {
			return fmt.Errorf("actors: Cluster.AdvertisedAddress %q is not host:port with a port in 1..65535", c.AdvertisedAddress)
		}
	}
	if c.TLS != nil {
		return validateTLS(c.TLS)
	}
	return nil
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	return c
}

// clusterKind names the cluster kind of an aggregate type's shards.
func clusterKind(aggregate string) string {
	// protoactor keys identities as kind/identity and splits at the
	// first slash.
	return clusterKindPrefix + strings.ReplaceAll(aggregate, "/", "_")
}

// clusterNode is the App's membership of its cluster.
type clusterNode struct {
	c       *cluster.Cluster
	addr    string       // this member's advertised address
	names   commandNames // the routed command types' names on the wire
	members *memberWatch // which members are in the topology
}

// joinCluster makes the App a member of its cluster: it binds the
// address, checks that the advertised address reaches it, and starts the
// cluster member with a kind per aggregate type, whose shards (started
// by aggregateKind.start) it places. It sets a.cluster before the member
// starts, and back to nil on failure. A failure leaves no member behind.
func (a *App) joinCluster() (err error) {
	cfg := a.cfg.Cluster.withDefaults()
	names, err := newCommandNames(a.registry, a.routes)
	if err != nil {
		return err
	}
	host, port, advertised, err := probeAddress(cfg)
	if err != nil {
		return err
	}
	kinds := make([]*cluster.Kind, 0, len(a.aggregates))
	for name, k := range a.aggregates {
		kinds = append(kinds, cluster.NewKind(clusterKind(name), k.props))
	}
	for _, h := range a.handlerSeq {
		if r, ok := h.(*pmRunner); ok {
			r.ensureStats()
			perShard := max(1, r.cfg.MaxLiveInstances/a.cfg.Shards)
			kinds = append(kinds, cluster.NewKind(processKind(r.cfg.Name), processShardProps(r, perShard)))
		}
	}
	var ropts []remote.ConfigOption
	if cfg.AdvertisedAddress != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(advertised))
	}
	if cfg.TLS != nil {
		ropts = append(ropts, tlsOptions(cfg.TLS)...)
	}
	c := cluster.New(a.system, cluster.Configure(cfg.Name, cfg.Provider, disthash.New(),
		remote.Configure(host, port, ropts...), cluster.WithKinds(kinds...)))
	// The other members send commands to this one's shards as soon as the
	// provider has made it a member, while StartMember still runs: the
	// shards need the node (its command names, its address) from then on.
	a.cluster = &clusterNode{c: c, addr: advertised, names: names, members: watchMembers(a.system)}
	// protoactor panics when its remote cannot listen or the provider
	// fails to start: that is Start's error, and the member is shut down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: join cluster %s at %s: %v", ErrClusterStart, cfg.Name, advertised, r)
			shutdownQuietly(c)
			a.cluster = nil
		}
	}()
	c.StartMember()
	return nil
}

// shutdownQuietly shuts down a member that failed to start, which may
// panic on the parts that did not start.
func shutdownQuietly(c *cluster.Cluster) {
	defer func() { _ = recover() }()
	c.Shutdown(false)
}

// probeAddress binds the configured address, picking the port when it is
// 0, and checks that the advertised address reaches the bound socket: a
// connection to it must arrive on this socket with a token only this
// call knows (over plain TCP, before the member's gRPC server, with or
// without TLS, listens there). It returns the host and port for
// protoactor's remote to bind (the probe's socket is closed first) and
// the advertised address.
func probeAddress(cfg ClusterConfig) (host string, port int, advertised string, err error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return "", 0, "", fmt.Errorf("%w: %w", ErrClusterStart, err)
	}
	defer lis.Close()
	port = lis.Addr().(*net.TCPAddr).Port
	advertised = cfg.AdvertisedAddress
	if advertised == "" {
		advertised = lis.Addr().String() // as protoactor's remote names a member it does not advertise
	}
	if err := probe(lis, advertised); err != nil {
		return "", 0, "", fmt.Errorf("%w: advertised address %s does not reach this node: %w", ErrClusterStart, advertised, err)
	}
	return cfg.Host, port, advertised, nil
}

// probeTimeout bounds the check of the advertised address.
const probeTimeout = 2 * time.Second

// probe dials addr and checks that the connection arrives on lis.
func probe(lis net.Listener, addr string) error {
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	got := make(chan bool, 1)
	go func() { // ends when lis is closed, by probeAddress, or on its first connection
		for {
			conn, err := lis.Accept()
			if err != nil {
				got <- false
				return
			}
			_ = conn.SetDeadline(time.Now().Add(probeTimeout))
			buf := make([]byte, len(token))
			_, err = io.ReadFull(conn, buf)
			_ = conn.Close()
			if err == nil && string(buf) == string(token) {
				got <- true
				return
			}
		}
	}()
	conn, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := conn.Write(token); err != nil {
		return err
	}
	select {
	case ok := <-got:
		if ok {
			return nil
		}
	case <-time.After(probeTimeout):
	}
	return errors.New("another process answers there")
}

// leave shuts the member down gracefully: the provider marks it left,
// its shards stop (each after the commands it was given) and the other
// members take them over.
func (n *clusterNode) leave(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // bounded by protoactor's own shutdown (a 2 s wait, gRPC's 10 s)
		defer close(done)
		n.c.Shutdown(true)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actors: close: leave the cluster: %w", ctx.Err())
	}
}

// Package postgres is cluster membership in PostgreSQL: a protoactor-go
// cluster.ClusterProvider whose members are rows of a table, as Orleans
// keeps its membership in a SQL table. A cluster needs nothing beyond the
// PostgreSQL its event store already uses.
//
// # The members table
//
// Migrate creates the table in its own schema (DefaultSchema unless
// Config.Schema names another), with its own migrations, apart from the
// event store's. A row per member: the cluster's name, the member id (the
// actor system's id, new at every start, so a restarted node is always a
// new member), the advertised host and port, the cluster kinds, when it
// started, its last heartbeat and TTL, and its status (alive, left, dead).
//
// # Joining, heartbeats and expiry
//
// When the cluster starts a member, StartMember inserts its row and marks
// dead any older member that advertised the same address (it crashed, and
// this is its restart: no node waits for the old one to expire). Every
// Config.HeartbeatInterval the member renews its row's heartbeat and reads
// the live members, in one round trip, and feeds them to the cluster's
// member list (cluster.MemberList.UpdateClusterTopology), which tells the
// cluster which members joined and left. Liveness is judged by the
// database's clock only: a member is live while its row is alive and its
// heartbeat is younger than its TTL, so every node reads the same
// membership whatever its own clock says.
//
// A member that shuts down gracefully marks its row left, and the others
// drop it at their next read. One that crashes or freezes stops renewing
// its row, and every node drops it once its TTL has passed; protoactor
// then blocks its member id for good.
//
// # Expulsion: a node that finds itself removed stops
//
// A heartbeat renews a row only within half its TTL of the previous one,
// and a member whose last heartbeat began longer ago than that by its own
// clock counts itself expelled, as it does when its renewal finds its row
// expired, marked dead or left, or deleted. An expelled node stops
// heartbeating and feeding the topology, closes Expelled and reports an
// *ExpelledError from Err; its owner must shut it down. It cannot rejoin:
// the other nodes block its member id, which is its actor system's. A new
// actor system joins as a new member. The half-TTL margin keeps a node
// from counting itself a member while another has already removed it.
//
// The database being unreachable for longer than half the TTL therefore
// expels every member; choose Config.TTL longer than the outages the
// cluster should outlive.
//
// # What this package is not
//
// It is membership only. It is not wired into actors.App yet: aggregates
// are not cluster identities, handlers are not placed by the cluster, and
// no command crosses nodes (see the README's "Cluster (in progress)").
package postgres

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
// When the cluster starts a member, StartMember opens the member's
// session: a database connection, configured as the pool's, that the
// member holds for its whole life, and in which it holds a session
// advisory lock under a key of its own (the row's lock_key). It inserts
// its row through the session and marks dead any older member that
// advertised the same address (this is its restart: no node waits for the
// old one to expire). Every Config.HeartbeatInterval the member renews its
// row's heartbeat and reads the live members, in one round trip through
// its session, and feeds them to the cluster's member list
// (cluster.MemberList.UpdateClusterTopology), which tells the cluster
// which members joined and left. Liveness is judged by the database alone,
// so every node reads the same membership whatever its own clock says: a
// member is live while its row is alive, its heartbeat is younger than its
// TTL by the database's clock, and its session still holds its lock
// (pg_locks, which every role may read).
//
// A member that shuts down gracefully marks its row left, and the others
// drop it at their next read. So do they when its process dies (SIGKILL,
// a crash): the operating system closes its connection, the session ends
// and its lock with it, and every node drops the member at its next read,
// within about a heartbeat interval, whatever its TTL. A frozen process
// (SIGSTOP, a long pause) keeps its session, stops renewing its row, and
// every node drops it once its TTL has passed; so does a host cut off from
// the network, whose session lingers on the server until TCP notices.
// protoactor then blocks the member id for good. The session must be a
// server session of its own: connect directly or through a pooler in
// session mode, never in transaction mode.
//
// # Incompatible nodes refuse to join
//
// A member's row records its Config.Protocol. A node whose protocol
// differs from a live member's refuses to join: StartMember returns an
// *IncompatibleMemberError naming both, writes no row, and starts nothing
// (the cluster's StartMember panics with the error). Members that left,
// died or expired do not count, nor does one the node supersedes at its
// own address. Joins serialize on a transaction advisory lock, so that two
// nodes of different protocols starting at once cannot both join.
//
// # Expulsion: a node that finds itself removed stops
//
// A heartbeat renews a row only within half its TTL of the previous one,
// and a member whose last heartbeat began longer ago than that by its own
// clock counts itself expelled, as it does when its renewal finds its row
// expired, marked dead or left, or deleted, and when its session is lost
// (its connection closed, or its server session terminated): the other
// nodes drop it at their next read, and it finds out at its next
// heartbeat, a heartbeat interval later at most. A heartbeat that takes
// longer than a quarter of the TTL is cancelled on the server and the
// session kept; one whose server does not answer for another quarter
// loses it. An expelled node stops heartbeating and feeding the topology,
// closes Expelled and reports an *ExpelledError from Err; its owner must
// shut it down. It cannot rejoin: the other nodes block its member id,
// which is its actor system's. A new actor system joins as a new member.
// The half-TTL margin keeps a node from counting itself a member while
// another has already removed it.
//
// The database being unreachable for longer than half the TTL therefore
// expels every member; choose Config.TTL longer than the outages the
// cluster should outlive. A restart of the database ends every session,
// and so expels every member.
//
// # Using it
//
// actors.ClusterConfig takes the provider: an App whose Config.Cluster
// names it is a member of the cluster, its aggregates cluster identities
// placed over the members this package lists, and its handlers placed
// over the same members (see the actors package's "Across a cluster").
// Give Config.Protocol actors.ClusterProtocol, so that nodes whose
// messages differ refuse to join. Conduit does this with -cluster (see
// cmd/conduit). The provider is membership only: which member runs what
// is the cluster's and the App's business.
package postgres

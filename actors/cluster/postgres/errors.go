package postgres

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidConfig: Config.Validate refused the configuration.
	ErrInvalidConfig = errors.New("cluster/postgres: invalid config")
	// ErrStarted: StartMember or StartClient was called on a provider
	// that was already started or shut down. A provider serves one
	// cluster start.
	ErrStarted = errors.New("cluster/postgres: provider already started")
	// ErrNoAddress: the cluster's actor system has no remote address
	// (host and port) to advertise; the cluster's remote must be started
	// first, as cluster.Cluster.StartMember does.
	ErrNoAddress = errors.New("cluster/postgres: no remote address to advertise")
	// ErrExpelled: this node is no longer a member of the cluster. The
	// error is an *ExpelledError.
	ErrExpelled = errors.New("cluster/postgres: expelled from the cluster")
	// ErrIncompatibleMember: StartMember refused to join a cluster whose
	// live members have another Config.Protocol. The error is an
	// *IncompatibleMemberError.
	ErrIncompatibleMember = errors.New("cluster/postgres: incompatible member")
)

// ExpelCause says why a node was expelled.
type ExpelCause int

// The causes of an expulsion.
const (
	// CauseMissedHeartbeats: no heartbeat of this node succeeded within
	// the renew window (half the TTL) by its own clock, so the other
	// nodes remove it, or soon will.
	CauseMissedHeartbeats ExpelCause = iota + 1
	// CauseExpired: the database found the node's row expired when it
	// came to renew it.
	CauseExpired
	// CauseSuperseded: a newer member joined with the same advertised
	// address (the node was restarted, or another took its address) and
	// marked this one dead.
	CauseSuperseded
	// CauseRemoved: the node's row was deleted or marked left by someone
	// else.
	CauseRemoved
	// CauseConnectionLost: the node's session (the database connection
	// it holds as a member) was lost, so the other nodes no longer count
	// it live.
	CauseConnectionLost
)

// String returns the cause's name.
func (c ExpelCause) String() string {
	switch c {
	case CauseMissedHeartbeats:
		return "missed heartbeats"
	case CauseExpired:
		return "expired"
	case CauseSuperseded:
		return "superseded by a newer member at its address"
	case CauseRemoved:
		return "removed"
	case CauseConnectionLost:
		return "connection lost"
	}
	return fmt.Sprintf("ExpelCause(%d)", int(c))
}

// ExpelledError reports that this node is no longer a member of the
// cluster: the other nodes removed it from their topology (and block its
// member id), so it must stop; it cannot rejoin under the same member id.
type ExpelledError struct {
	Cluster  string // the cluster's name
	MemberID string // this node's member id (its actor system's id)
	// Cause is what the node found: its heartbeats late, its row
	// expired, superseded or removed, or its session lost.
	Cause ExpelCause
}

// Error describes the expulsion.
func (e *ExpelledError) Error() string {
	return fmt.Sprintf("cluster/postgres: member %s expelled from cluster %q: %v", e.MemberID, e.Cluster, e.Cause)
}

// Unwrap returns ErrExpelled.
func (e *ExpelledError) Unwrap() error { return ErrExpelled }

// IncompatibleMemberError reports that StartMember refused to join: a live
// member of the cluster has another Config.Protocol than this node's. The
// node wrote no row; the cluster's StartMember panics with this error.
type IncompatibleMemberError struct {
	Cluster        string // the cluster's name
	Protocol       string // this node's Config.Protocol
	MemberID       string // a live member whose protocol differs
	MemberProtocol string // that member's protocol
}

// Error names both protocols.
func (e *IncompatibleMemberError) Error() string {
	return fmt.Sprintf("cluster/postgres: cannot join cluster %q with protocol %q: live member %s has protocol %q",
		e.Cluster, e.Protocol, e.MemberID, e.MemberProtocol)
}

// Unwrap returns ErrIncompatibleMember.
func (e *IncompatibleMemberError) Unwrap() error { return ErrIncompatibleMember }

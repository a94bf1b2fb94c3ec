package postgres

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config configures a Provider. The zero value is valid: every field has a
// default.
type Config struct {
	// Schema is the PostgreSQL schema of the members table (default
	// DefaultSchema). Migrate must have created the table there. Several
	// clusters may share one table: rows are keyed by the protoactor
	// cluster's name.
	Schema string
	// TTL is how long a member stays live without a heartbeat (default
	// 10 s), judged by the database's clock. A member that does not renew
	// its row within TTL is removed from every node's topology and cannot
	// come back under the same member id. The database being unreachable
	// for longer than TTL/2 expels every node, so TTL bounds the outage a
	// cluster outlives as well as the time to notice a frozen node.
	TTL time.Duration
	// HeartbeatInterval is how often a member renews its row and every
	// node reads the live members (default 1 s), and so about how long
	// the others take to drop a member whose process died; at most TTL/4,
	// so that a few late or failed heartbeats do not expel a member.
	HeartbeatInterval time.Duration
	// Protocol names what this node expects of the others (the messages
	// it sends and understands, how it places identities): empty by
	// default. It is stored in the member's row, and a node whose
	// Protocol differs from a live member's refuses to join with an
	// *IncompatibleMemberError. Change it only with a change that running
	// nodes cannot work with; the cluster must then be stopped before
	// nodes of the new protocol start (members that left, died or
	// expired do not count).
	Protocol string
	// Logger receives warnings about failed heartbeats and reads, and the
	// expulsion of this node (default: discarded).
	Logger *slog.Logger
}

// Validate reports a configuration that New refuses, with an error that
// wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case len(c.Schema) > 63:
		return fmt.Errorf("%w: schema name longer than 63 bytes", ErrInvalidConfig)
	case c.TTL < 0 || c.HeartbeatInterval < 0:
		return fmt.Errorf("%w: negative interval", ErrInvalidConfig)
	}
	d := c.withDefaults()
	if d.TTL < 100*time.Millisecond {
		return fmt.Errorf("%w: TTL %v is below 100ms", ErrInvalidConfig, d.TTL)
	}
	if d.HeartbeatInterval > d.TTL/4 {
		return fmt.Errorf("%w: HeartbeatInterval %v is more than a quarter of TTL %v", ErrInvalidConfig, d.HeartbeatInterval, d.TTL)
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = min(time.Second, c.TTL/4)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// renewWindow is how long after its last heartbeat a member may still
// renew its row, by the database's clock; a node whose last heartbeat
// began longer ago by its own clock counts itself expelled.
func (c Config) renewWindow() time.Duration { return c.TTL / 2 }

// statementTimeout bounds each round trip to the database. Bounding reads
// to well under the renew window keeps a read whose snapshot predates a
// member's last renewal from judging that member expired while the member
// still counts itself live (see heartbeat).
func (c Config) statementTimeout() time.Duration { return c.TTL / 4 }

package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cohort-dev/cohort/eventstore"
)

// Progress notifications: storing the checkpoint of a persistent
// subscription to $all (a global position; a stream subscription's is a
// stream version, and is not notified) sends a NOTIFY on the schema's
// progress channel, in the statement that stores it, with the payload
// "<checkpoint> <subscription name>". Every
// store on the database LISTENs for it, so that waits for a handler
// running in another process wake when its checkpoint is stored instead of
// polling it (see WatchProgress).
//
// The statement commits asynchronously (synchronous_commit off): a NOTIFY
// holds PostgreSQL's database-wide notification lock until its transaction
// has committed, which would otherwise include the WAL flush, and every
// notifying transaction queues behind it. A checkpoint lost to a crash of
// PostgreSQL is as one not yet stored: its events are delivered again,
// which at-least-once delivery already allows.

// maxProgressName bounds the subscription names notified: a NOTIFY payload
// holds less than 8,000 bytes. A longer name's checkpoints are stored
// without notification (waits for it find them by polling).
const maxProgressName = 7900

// plainSchema is a schema name that can stand in a channel name as is.
var plainSchema = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// progressChannel names the channel of schema's progress notifications.
func progressChannel(schema string) string { return schemaChannel("cohort_progress", schema) }

// schemaChannel names a channel of kind for schema: a channel name is an
// identifier of at most 63 bytes, so a long or unusual schema name is
// replaced by a digest of it.
func schemaChannel(kind, schema string) string {
	if plainSchema.MatchString(schema) && len(kind)+1+len(schema) <= 63 {
		return kind + "." + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return kind + "_" + hex.EncodeToString(sum[:16])
}

// checkpointQuery stores a checkpoint ($1 the subscription, $2 the
// checkpoint, $3 the holder's lease token) when it moves forward and the
// lease is still the holder's, and notifies channel of it if the
// subscription follows $all; schema is
// quoted already. Checkpoints are stored at most once per
// CheckpointInterval or CheckpointThreshold events, so the notifications
// are as coalesced as the checkpoints.
func checkpointQuery(schema, channel string) string {
	return fmt.Sprintf(`WITH cp AS (
  UPDATE %s.subscriptions SET last_seen = $2, updated_at = now()
  WHERE name = $1 AND last_seen < $2 AND token = $3 RETURNING name, stream_id, last_seen)
SELECT set_config('synchronous_commit', 'off', true),
  CASE WHEN cp.stream_id = '%s' AND octet_length(cp.name) <= %d
    THEN pg_notify('%s', cp.last_seen || ' ' || cp.name) END
FROM cp`, schema, eventstore.AllStream, maxProgressName, channel)
}

// progress is a stored checkpoint, as told to WatchProgress's watchers.
type progress struct {
	subscription string
	checkpoint   int64
}

// WatchProgress calls fn each time the checkpoint of a persistent
// subscription to $all is stored in the store's schema, by any process
// (this one included), with the subscription's name and its checkpoint (a
// global position), until stop is called
// (stop is idempotent). fn is called from the store's LISTEN connection,
// in the order notifications arrive: it must return quickly and not call
// the store. Notifications sent while that connection is lost are missed:
// a watcher that must not miss progress also polls Checkpoint, rarely.
func (s *Store) WatchProgress(fn func(subscription string, checkpoint int64)) (stop func()) {
	return s.progress.Add(func(p progress) { fn(p.subscription, p.checkpoint) })
}

// progressed delivers a progress notification's payload to the watchers.
func (s *Store) progressed(payload string) {
	cp, name, ok := strings.Cut(payload, " ")
	checkpoint, err := strconv.ParseInt(cp, 10, 64)
	if !ok || err != nil {
		s.log.Warn("progress notification not understood", "channel", s.progressChannel, "payload", payload)
		return
	}
	s.progress.Notify(progress{subscription: name, checkpoint: checkpoint})
}

// Package projectors is Conduit's read model in PostgreSQL: the tables,
// the projectors that keep them from the events, and the queries the API
// reads them with.
//
// Three projectors each own their tables: "users" (accounts events:
// users, with profiles' username, bio and image), "blog" (authors,
// follows, articles, tags, favorites and each follower's feed) and
// "comments". A Projector is an actors.BatchHandler: it writes a batch of
// events and its checkpoint in one transaction, in one round trip, and
// skips events at or below its checkpoint, so that a redelivered batch
// changes nothing; a batch with nothing for its projection only moves the
// checkpoint forward. Register them with strong consistency so that a
// strongly consistent dispatch returns only once they show its events.
//
// Rebuild empties a projector's tables and resets it so that it projects
// every event again from the origin the next time the application starts.
// RebuildOnline rebuilds one while it serves (blue/green): the next
// generation of its tables is filled from the origin in a schema of its
// own, then takes the serving tables' place in one transaction. The
// projections table records each projection's serving generation, its
// declared version (Versioned; Register reports those stored with another
// version) and a rebuild requested by an operator (RequestRebuild,
// TakeRebuildRequests; the cohort command sets it with SQL).
package projectors

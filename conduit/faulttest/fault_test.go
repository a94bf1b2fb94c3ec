package faulttest

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

var (
	flagKills    = flag.Int("fault.kills", 3, "SIGKILLs of Conduit")
	flagRestarts = flag.Int("fault.pg-restarts", 2, "immediate restarts of PostgreSQL")
	flagRivals   = flag.Int("fault.rivals", 1, "rounds of a second Conduit process writing to the same aggregates")
	flagWorkers  = flag.Int("fault.workers", 4, "concurrent load workers")
	flagUsers    = flag.Int("fault.users", 4, "users per worker")
	flagRound    = flag.Duration("fault.round", 3*time.Second, "mean load time before each fault")
	flagDowntime = flag.Duration("fault.pg-downtime", 8*time.Second, "how long PostgreSQL stays down at every second restart, beyond stopping and starting")
	flagRecovery = flag.Duration("fault.max-recovery", 5*time.Second, "target time for Conduit to acknowledge a write once PostgreSQL is back")
	flagSeed     = flag.Uint64("fault.seed", 0, "seed of the faults' moments and the load (0: random)")
	flagLong     = flag.Bool("fault.long", false, "long configuration: 20 kills, 10 PostgreSQL restarts, 3 rivals, 8 workers, 8 s rounds")
	flagReport   = flag.String("fault.report", "", "also write the figures to this file")
)

// TestCrashSafety runs the fault suite (see the package documentation).
// The default configuration is quick enough for every go test ./...; a
// failure prints the seed that reproduces its faults' moments and load.
func TestCrashSafety(t *testing.T) {
	cfg := Config{
		Kills:            *flagKills,
		PostgresRestarts: *flagRestarts,
		Rivals:           *flagRivals,
		Workers:          *flagWorkers,
		UsersPerWorker:   *flagUsers,
		Round:            *flagRound,
		PostgresDowntime: *flagDowntime,
		MaxRecovery:      *flagRecovery,
		Race:             raceEnabled,
		Seed:             *flagSeed,
		PostgresBinDir:   os.Getenv(pgtest.EnvBinDir),
		WorkDir:          workDir(t),
		Logf:             t.Logf,
		Logger:           clusterLogger(),
	}
	if *flagLong {
		cfg.Kills, cfg.PostgresRestarts, cfg.Rivals = 20, 10, 3
		cfg.Workers, cfg.UsersPerWorker, cfg.Round = 8, 6, 8*time.Second
	}
	// Bounded whatever happens: the quick configuration takes about a
	// minute on two busy cores.
	limit := 6*time.Minute + time.Duration(cfg.Kills+cfg.PostgresRestarts+cfg.Rivals+1)*(cfg.Round*3/2+30*time.Second) +
		time.Duration(cfg.PostgresRestarts)*cfg.PostgresDowntime
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()

	res, err := Run(ctx, cfg)
	if res != nil {
		t.Log("\n" + res.Summary())
		if *flagReport != "" {
			if werr := os.WriteFile(*flagReport, []byte(res.Summary()), 0o644); werr != nil {
				t.Error(werr)
			}
		}
	}
	if res != nil && res.LogTail != "" {
		t.Logf("end of the servers' log:\n%s", res.LogTail)
	}
	if err != nil {
		t.Fatalf("seed %d: %v (server log: %s)", res.Seed, err, res.ServerLog)
	}
	if res.Kills != cfg.Kills || res.PostgresRestarts != cfg.PostgresRestarts || res.Rivals != cfg.Rivals {
		t.Errorf("injected %d kills, %d restarts and %d rivals, want %d, %d and %d",
			res.Kills, res.PostgresRestarts, res.Rivals, cfg.Kills, cfg.PostgresRestarts, cfg.Rivals)
	}
	if res.Verify.Checked == 0 {
		t.Error("no acknowledged write was checked")
	}
	if !res.OK() {
		t.Errorf("seed %d: the suite found problems (above); server log: %s", res.Seed, res.ServerLog)
	}
}

// clusterLogger returns the logger of the PostgreSQL cluster's and the
// balancer's logs: their warnings on stderr with -v, nothing otherwise.
func clusterLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

// workDir returns a directory for the binary, the servers' log and any
// diagnostics, removed after the test unless it failed.
func workDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "cohort-fault-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the servers' log and diagnostics in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

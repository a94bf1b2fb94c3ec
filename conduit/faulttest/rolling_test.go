package faulttest

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

var flagRollingRounds = flag.Int("fault.rolling-rounds", 1, "rolling restarts of every node in TestRollingRestart")

// TestRollingRestart runs RollingRestart: three Conduit processes on one
// database behind the balancer, each restarted in turn under a steady
// load. No request of the load may fail, every acknowledged write must be
// visible at the end, and the read model must equal a rebuild.
func TestRollingRestart(t *testing.T) {
	testRollingRestart(t, nil, raceEnabled)
}

// TestRollingRestartCluster is TestRollingRestart with the three
// processes members of one cluster (-cluster): each restart makes its
// node leave the cluster, its aggregates' shards and handlers move to the
// others, and come back when it joins again.
func TestRollingRestartCluster(t *testing.T) {
	args, _, err := ClusterArgs(3)
	if err != nil {
		t.Fatal(err)
	}
	testRollingRestart(t, args, raceEnabled && clusterRaceFree)
}

func testRollingRestart(t *testing.T, nodeArgs func(int) []string, race bool) {
	cfg := RollingConfig{
		Nodes:          3,
		Rounds:         *flagRollingRounds,
		NodeArgs:       nodeArgs,
		Workers:        *flagWorkers,
		UsersPerWorker: *flagUsers,
		Race:           race,
		Seed:           *flagSeed,
		PostgresBinDir: os.Getenv(pgtest.EnvBinDir),
		WorkDir:        workDir(t),
		Logf:           t.Logf,
		Logger:         clusterLogger(),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute+time.Duration(cfg.Rounds)*3*time.Minute)
	defer cancel()

	res, err := RollingRestart(ctx, cfg)
	if res != nil {
		t.Log("\n" + res.Summary())
		if res.LogTail != "" {
			t.Logf("end of the servers' log:\n%s", res.LogTail)
		}
	}
	if err != nil {
		t.Fatalf("seed %d: %v (server log: %s)", res.Seed, err, res.ServerLog)
	}
	if want := cfg.Nodes * cfg.Rounds; res.Restarts != want {
		t.Errorf("restarted %d nodes, want %d", res.Restarts, want)
	}
	if res.Verify.Checked == 0 {
		t.Error("no acknowledged write was checked")
	}
	if !res.OK() {
		t.Errorf("seed %d: the rolling restart found problems (above); server log: %s", res.Seed, res.ServerLog)
	}
}

package faulttest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestClusterKill runs ClusterFault with KillMember: one of three
// members killed with SIGKILL under the mixed load. The commands for the
// aggregates whose shards lived on it must be served by the others
// within a generous bound (the target is 3 s; the figures are printed),
// and the checks at the end must pass: no acknowledged write lost, no
// command applied twice, the read model equal to a rebuild.
func TestClusterKill(t *testing.T) {
	res := runClusterFault(t, KillMember)
	if max := Percentile(res.Moved, 100); max > 10*time.Second {
		t.Errorf("the dead member's aggregates were served elsewhere only %v after the kill (p50 %v), want within 10 s", ms(max), ms(Percentile(res.Moved, 50)))
	}
}

// TestClusterFreeze runs ClusterFault with FreezeMember: one of three
// members stopped with SIGSTOP for longer than the membership's TTL, then
// let go on. The commands for its aggregates must be served by the
// others while it is still frozen (once the membership dropped it), and
// when it wakes it must not write over them: the checks at the end
// (versions without gaps or duplicates, no command applied twice, the
// read model equal to a rebuild) must pass; it must find itself expelled
// and exit with a failure.
func TestClusterFreeze(t *testing.T) {
	res := runClusterFault(t, FreezeMember)
	// Expelled, it must stop, and say it failed: a supervisor that
	// restarts a process only on failure must restart it.
	if res.VictimExit == nil {
		t.Errorf("the frozen member, when it woke: %s; want it to exit with a failure", res.VictimEnd)
	}
	if max := Percentile(res.Moved, 100); max >= res.Freeze {
		t.Errorf("the frozen member's aggregates were served elsewhere only %v after SIGSTOP, not while it was frozen (%v)", ms(max), res.Freeze)
	}
}

func runClusterFault(t *testing.T, fault MemberFault) *ClusterFaultResult {
	cfg := ClusterFaultConfig{
		Fault:          fault,
		Race:           raceEnabled && clusterRaceFree,
		Workers:        *flagWorkers,
		UsersPerWorker: *flagUsers,
		Seed:           *flagSeed,
		PostgresBinDir: os.Getenv(pgtest.EnvBinDir),
		WorkDir:        workDir(t),
		Logf:           t.Logf,
		Logger:         clusterLogger(),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	res, err := ClusterFault(ctx, cfg)
	if res != nil {
		if len(res.Members) > 0 {
			t.Log("\n" + res.Summary())
		}
		if res.LogTail != "" {
			t.Logf("end of the servers' log:\n%s", res.LogTail)
		}
	}
	if err != nil {
		t.Fatalf("seed %d: %v (server log: %s)", res.Seed, err, res.ServerLog)
	}
	if res.Verify.Checked == 0 {
		t.Error("no acknowledged write was checked")
	}
	if !res.OK() {
		t.Errorf("seed %d: the cluster fault found problems (above); server log: %s", res.Seed, res.ServerLog)
	}
	return res
}

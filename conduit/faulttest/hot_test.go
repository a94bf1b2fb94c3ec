package faulttest

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

var flagHotUnclustered = flag.Bool("fault.hot-unclustered", false, "TestHotAggregate without -cluster, for comparison (expect conflicts, and commands answered 409)")

// TestHotAggregate runs HotAggregate: one article favorited and
// unfavorited by nine users through all three members of a cluster. The
// article has one activation, so after a warm-up the nodes report almost
// no version conflicts (the figures are printed; at most 2 allowed), and
// no favorite is applied twice.
func TestHotAggregate(t *testing.T) {
	cfg := HotConfig{
		Unclustered:    *flagHotUnclustered,
		Race:           raceEnabled && clusterRaceFree,
		PostgresBinDir: os.Getenv(pgtest.EnvBinDir),
		WorkDir:        workDir(t),
		Logf:           t.Logf,
		Logger:         clusterLogger(),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	res, err := HotAggregate(ctx, cfg)
	if res != nil {
		t.Log("\n" + res.Summary())
		if res.LogTail != "" {
			t.Logf("end of the servers' log:\n%s", res.LogTail)
		}
	}
	if err != nil {
		t.Fatalf("%v (server log: %s)", err, res.ServerLog)
	}
	if res.Commands == 0 {
		t.Error("no command acknowledged in the steady phase")
	}
	if !cfg.Unclustered && res.Conflicts > 2 {
		t.Errorf("%d version conflicts in the steady phase (%d commands), want at most 2", res.Conflicts, res.Commands)
	}
	if !res.OK() {
		t.Errorf("the hot aggregate found problems (above); server log: %s", res.ServerLog)
	}
}

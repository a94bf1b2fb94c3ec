package conduitload_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/conduit/conduitload"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/httpapi"
)

func TestMain(m *testing.M) {
	conduittest.RegisterTemplate()
	pgtest.Main(m)
}

func TestFactCandidates(t *testing.T) {
	f := conduitload.NewFact("a")
	if v, ok := f.Certain(); !ok || v != "a" {
		t.Fatalf("new fact: %q %v", v, ok)
	}
	f.Record("b", conduitload.Rejected)
	f.Record("c", conduitload.Unknown)
	if got := f.Candidates(); !slices.Equal(got, []string{"a", "c"}) || f.Believed() != "c" {
		t.Fatalf("after an unknown write: %q, believed %q", got, f.Believed())
	}
	f.Record("d", conduitload.TimedOut)
	f.Record("e", conduitload.Acked)
	// The unknown write cannot take effect after the acknowledged one;
	// the timed-out one still can.
	if got := f.Candidates(); !slices.Equal(got, []string{"e", "d"}) {
		t.Fatalf("after an acknowledged write: %q", got)
	}
	if f.Allows("c") || !f.Allows("d") || f.Acked() != 1 {
		t.Fatalf("allows c %v, d %v, acked %d", f.Allows("c"), f.Allows("d"), f.Acked())
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		r    conduitload.Response
		want conduitload.Outcome
	}{
		{conduitload.Response{Status: 201}, conduitload.Acked},
		{conduitload.Response{Status: 204}, conduitload.Acked},
		{conduitload.Response{Status: 404}, conduitload.Rejected},
		{conduitload.Response{Status: 422}, conduitload.Rejected},
		{conduitload.Response{Status: 500}, conduitload.Unknown},
		{conduitload.Response{Status: 503}, conduitload.Unknown},
	} {
		if got := tc.r.Outcome(); got != tc.want {
			t.Errorf("%d: %v, want %v", tc.r.Status, got, tc.want)
		}
	}
	// Nothing listens on a port just closed: never sent.
	srv := httptest.NewServer(nil)
	api := srv.URL
	srv.Close()
	r := conduitload.NewClient(api, time.Second).Do(context.Background(), "GET", "/tags", "", nil)
	if r.Outcome() != conduitload.Refused {
		t.Errorf("refused connection: %v (%v), want refused", r.Outcome(), r.Err)
	}
}

// TestWorkloadAndVerify runs the load against an in-process Conduit,
// verifies it, then damages the read model and expects Verify to say so.
func TestWorkloadAndVerify(t *testing.T) {
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	tokens, err := httpapi.NewTokens([]byte(strings.Repeat("k", 32)), 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Config{App: app, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := conduitload.NewClient(srv.URL+"/api", 30*time.Second)
	w := conduitload.New(conduitload.Config{Client: client, Workers: 3, UsersPerWorker: 3, Logf: t.Logf})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	w.Run(ctx)
	snap := w.Stats().Snapshot()
	t.Logf("seed %d\n%s", w.Seed(), snap.Table())
	for _, op := range []conduitload.Op{conduitload.OpRegister, conduitload.OpPublish, conduitload.OpFavorite} {
		if snap.Counts[op][conduitload.Acked] == 0 {
			t.Fatalf("no %v acknowledged", op)
		}
	}
	if n := snap.Writes(conduitload.Unknown) + snap.Writes(conduitload.TimedOut); n > 0 {
		t.Fatalf("%d writes of unknown outcome without any fault", n)
	}

	verifyCtx, cancelVerify := context.WithTimeout(t.Context(), time.Minute)
	defer cancelVerify()
	rep, err := w.Verify(verifyCtx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checked == 0 || int64(rep.Checked) != rep.AckedWrites-snap.Anomalies {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("checked %d acknowledged writes in %d facts", rep.Checked, rep.Facts)

	// Lose a favorite and a rename behind the server's back.
	if _, err := db.Exec(t.Context(), `DELETE FROM conduit.favorites WHERE ctid = (SELECT ctid FROM conduit.favorites LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(t.Context(), `UPDATE conduit.users SET username = 'someone_else' WHERE id = (SELECT min(id) FROM conduit.users)`); err != nil {
		t.Fatal(err)
	}
	rep, err = w.Verify(verifyCtx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) == 0 || len(rep.Inconsistent) == 0 {
		t.Fatalf("damage not reported: %+v", rep)
	}
	t.Logf("damage reported: lost %q, inconsistent %q", rep.Lost, rep.Inconsistent)
}

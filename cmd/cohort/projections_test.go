package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestProjectionsAndRebuild: the projections of a serving application
// are listed with their generation, version, position and lag, and a
// rebuild asked for from the command line is taken by the serving
// application, followed to its switch, and shows as the next generation.
func TestProjectionsAndRebuild(t *testing.T) {
	url := conduittest.NewConnString(t)
	app := conduittest.Start(t, pgtest.NewPool(t, url), nil)
	for _, name := range []string{"jake", "celeb"} {
		if _, err := app.RegisterUser(context.Background(), conduit.Registration{Username: name, Email: name + "@example.com", Password: "password"}); err != nil {
			t.Fatal(err)
		}
	}
	db := "-database-url=" + url
	code, out, errOut := cohort(t, db, "projections")
	if code != exitOK || !strings.Contains(out, "PROJECTION") || !strings.Contains(out, "comments") {
		t.Fatalf("projections: %d %q %q", code, out, errOut)
	}
	if !hasRow(out, "users", "1", "1") {
		t.Fatalf("projections: users not at generation 1, version 1:\n%s", out)
	}
	code, out, errOut = cohort(t, db, "rebuild", "users")
	if code != exitOK || !strings.Contains(out, "users: generation 2 serving") || !strings.Contains(errOut, "100.0%") {
		t.Fatalf("rebuild users: %d %q %q", code, out, errOut)
	}
	code, out, _ = cohort(t, db, "projections")
	if code != exitOK || !hasRow(out, "users", "2", "1") {
		t.Fatalf("projections after the rebuild: %d\n%s", code, out)
	}
	if code, _, errOut := cohort(t, db, "rebuild", "nosuch"); code != exitError || !strings.Contains(errOut, `no projection "nosuch"`) {
		t.Fatalf("rebuild nosuch: %d %q", code, errOut)
	}
	if code, _, _ := cohort(t, db, "rebuild"); code != exitUsage {
		t.Fatalf("rebuild without a name: exit %d, want %d", code, exitUsage)
	}
}

// hasRow reports whether out has a line starting with the fields.
func hasRow(out string, fields ...string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		pos, head int64
		elapsed   float64
		want      []string
	}{
		{0, 100, 0, []string{"0.0%", "0/100", "ETA ?"}},
		{50, 100, 10, []string{"50.0%", "50/100", "ETA 10s"}},
		{100, 100, 4, []string{"100.0%", "ETA 0s"}},
		{0, 0, 0, []string{"100.0%"}},
	}
	for _, tt := range tests {
		got := progressLine("users", 2, tt.pos, tt.head, tt.elapsed)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("progressLine(%d, %d, %v) = %q, lacks %q", tt.pos, tt.head, tt.elapsed, got, w)
			}
		}
	}
}

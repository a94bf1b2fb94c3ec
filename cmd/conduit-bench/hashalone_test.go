package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// TestCompareRegistrationsWithHashes checks the arithmetic and the table
// lines of the registrations against the password hash alone: the
// runtime's share of a registration is 1 − Conduit's registrations/s over
// the hashes/s alone, beside the CRUD baseline's.
func TestCompareRegistrationsWithHashes(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		conduit, crud, hashes float64
		renames, lowered      bool
		wantShare             float64
		wantLines             []string
		absent                []string
	}{
		{
			name: "within the target", conduit: 95, crud: 99, hashes: 100, renames: true, wantShare: 0.05,
			wantLines: []string{
				"registrations/s, 10 workers: conduit 95.0/s, crud 99.0/s, password hashes alone 100/s",
				"runtime's share of a registration: 1 − conduit/hashes",
				"5.0 %", "≤ 10 % ✓",
				"CRUD baseline's share: 1 − crud/hashes", "1.0 %",
				"renames/s: conduit",
			},
		},
		{
			name: "missed, no CRUD baseline, no renames", conduit: 36, hashes: 45, wantShare: 0.2,
			wantLines: []string{"password hashes alone 45.0/s", "20.0 %", "≤ 10 % ✗"},
			absent:    []string{"CRUD baseline's share", "renames/s: conduit", "crud 0"},
		},
		{
			name: "hashing lowered: no verdict", conduit: 104, crud: 450, hashes: 5000, lowered: true, wantShare: 0.9792,
			wantLines: []string{"97.9 %", "(the target is at Conduit's hash cost)"},
			absent:    []string{"✓", "✗"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Report{Workers: 10, HashingLowered: tc.lowered, Hashes: &HashRate{Hashes: 1000, Workers: 10, Wall: time.Second, PerSecond: tc.hashes}}
			r.Phases = append(r.Phases, PhaseResult{Phase: PhaseRegisterPar, PerSecond: tc.conduit})
			if tc.crud > 0 {
				r.Phases = append(r.Phases, PhaseResult{Phase: crudPrefix + PhaseRegisterPar, PerSecond: tc.crud})
			}
			if tc.renames {
				r.Phases = append(r.Phases, PhaseResult{Phase: "http-rename", PerSecond: 300}, PhaseResult{Phase: crudPrefix + "http-rename", PerSecond: 2000})
			}
			c := compare(r)
			if c == nil {
				t.Fatal("no comparison")
			}
			if c.ConduitRegisterPerSecond != tc.conduit || c.CRUDRegisterPerSecond != tc.crud || c.HashesPerSecond != tc.hashes ||
				math.Abs(c.RuntimeShare-tc.wantShare) > 1e-9 {
				t.Fatalf("comparison %+v, want share %v", c, tc.wantShare)
			}
			if tc.crud > 0 && math.Abs(c.CRUDShare-(1-tc.crud/tc.hashes)) > 1e-9 {
				t.Errorf("CRUD share %v", c.CRUDShare)
			}
			r.Comparison = c
			var b bytes.Buffer
			if err := r.WriteTable(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, want := range tc.wantLines {
				if !strings.Contains(out, want) {
					t.Errorf("the table lacks %q:\n%s", want, out)
				}
			}
			for _, no := range tc.absent {
				if strings.Contains(out, no) {
					t.Errorf("the table has %q:\n%s", no, out)
				}
			}
		})
	}
	// Without the hashes alone, no share is computed.
	c := compare(Report{Phases: []PhaseResult{{Phase: PhaseRegisterPar, PerSecond: 36}}})
	if c == nil || c.HashesPerSecond != 0 || c.RuntimeShare != 0 {
		t.Errorf("comparison without hashes %+v", c)
	}
}

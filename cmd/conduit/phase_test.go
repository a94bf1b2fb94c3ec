package main

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/conduittest"
)

// TestReadyChecks: a node is ready only while it serves (not starting,
// draining or stopping) and its database answers a ping.
func TestReadyChecks(t *testing.T) {
	up := conduittest.NewDatabase(t)
	down, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	tests := []struct {
		name    string
		phase   phase
		pool    *pgxpool.Pool
		failing []string
	}{
		{"serving", phaseServing, up, nil},
		{"starting", phaseStarting, up, []string{"serving"}},
		{"draining", phaseDraining, up, []string{"serving"}},
		{"stopping", phaseStopping, up, []string{"serving"}},
		{"database down", phaseServing, down, []string{"store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMain(Config{}, io.Discard)
			m.pool = tt.pool
			m.phase.Store(int32(tt.phase))
			var failing []string
			for _, c := range m.readyChecks() {
				if err := c.Probe(context.Background()); err != nil {
					failing = append(failing, c.Name)
				}
			}
			if !slices.Equal(failing, tt.failing) {
				t.Fatalf("failing checks %v, want %v", failing, tt.failing)
			}
		})
	}
}

package pgmigrate_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		fs       fstest.MapFS
		versions []int
		wantErr  bool
	}{
		{"sorted", fstest.MapFS{
			"m/0010_b.sql": {Data: []byte("b")}, "m/0002_a.sql": {Data: []byte("a")}, "m/README": {},
		}, []int{2, 10}, false},
		{"duplicate", fstest.MapFS{"m/1_a.sql": {}, "m/01_b.sql": {}}, nil, true},
		{"no version", fstest.MapFS{"m/init.sql": {}}, nil, true},
		{"zero", fstest.MapFS{"m/0_init.sql": {}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := pgmigrate.Load(tt.fs, "m")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			for i, v := range tt.versions {
				if ms[i].Version != v {
					t.Fatalf("versions %+v, want %v", ms, tt.versions)
				}
			}
		})
	}
}

func TestApplyOnceUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.MustPool(t, pgtest.Empty())
	ms := []pgmigrate.Migration{
		{Version: 1, Name: "1_t.sql", SQL: "CREATE TABLE {{schema}}.t (n int)"},
		{Version: 2, Name: "2_row.sql", SQL: "INSERT INTO {{schema}}.t VALUES (1)"},
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pgmigrate.Apply(ctx, pool, "My Schema", ms) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ms = append(ms, pgmigrate.Migration{Version: 3, Name: "3_row.sql", SQL: "INSERT INTO {{schema}}.t VALUES (2)"})
	if err := pgmigrate.Apply(ctx, pool, "My Schema", ms); err != nil {
		t.Fatal(err)
	}
	var n, sum int
	if err := pool.QueryRow(ctx, `SELECT count(*), sum(n) FROM "My Schema".t`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 3 {
		t.Fatalf("rows = %d, sum = %d: migrations applied more or less than once", n, sum)
	}
	bad := append(ms, pgmigrate.Migration{Version: 4, Name: "4_bad.sql", SQL: "INSERT INTO {{schema}}.t VALUES (3); SELECT nonsense"})
	if err := pgmigrate.Apply(ctx, pool, "My Schema", bad); err == nil {
		t.Fatal("a failing migration reported success")
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM "My Schema".t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("a failed migration left its changes: %d rows, %v", n, err)
	}
}

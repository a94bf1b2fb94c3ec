package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// ceilingBatch is the rows per commit of the batched ceiling.
const ceilingBatch = 100

// ceiling measures what raw pgx does on the same server, for context: rows
// like a username change inserted by Config.Workers connections, one
// durable commit per row, then ceilingBatch rows per commit; and what the
// event store does alone (appends of one event by Config.Workers writers,
// as the aggregates make them, without the runtime).
func (m *Main) ceiling(ctx context.Context) error {
	rows := m.Config.CeilingRows
	if rows == 0 {
		return nil
	}
	if err := m.srv.create(ctx, dbCeiling, ""); err != nil {
		return err
	}
	defer m.srv.drop(context.WithoutCancel(ctx), dbCeiling)
	pool, err := m.srv.pool(ctx, dbCeiling, int32(m.Config.Workers))
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `CREATE TABLE raw_inserts (
		id         bigserial   PRIMARY KEY,
		username   text        NOT NULL,
		payload    jsonb       NOT NULL,
		created_at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	if err != nil {
		return err
	}
	const insert = `INSERT INTO raw_inserts (username, payload) VALUES ($1, $2)`
	const insertMany = `INSERT INTO raw_inserts (username, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])`
	payload := func(i int) string {
		return fmt.Sprintf(`{"user_id":"%08d-0000-7000-8000-000000000000","username":"%s","previous":"%s"}`, i, username(i, 1), username(i, 0))
	}
	workers := m.Config.Workers
	for _, c := range []struct {
		title string
		batch int
	}{
		{fmt.Sprintf("%s single-row inserts, %d connections, a commit each", thousands(rows), workers), 1},
		{fmt.Sprintf("%s rows, %d per commit, %d connections", thousands(rows), ceilingBatch, workers), ceilingBatch},
	} {
		bar := m.progress.start("   ceiling: "+c.title, rows)
		start := time.Now()
		_, err := runWorkers(ctx, workers, func(ctx context.Context, worker int, do func(func() error) error) error {
			per := (rows + workers - 1) / workers
			from, to := worker*per, min(rows, (worker+1)*per)
			for i := from; i < to; i += c.batch {
				n := min(c.batch, to-i)
				err := do(func() error {
					if n == 1 {
						_, err := pool.Exec(ctx, insert, username(i, 1), payload(i))
						return err
					}
					names, payloads := make([]string, n), make([]string, n)
					for j := range n {
						names[j], payloads[j] = username(i+j, 1), payload(i+j)
					}
					_, err := pool.Exec(ctx, insertMany, names, payloads)
					return err
				})
				if err != nil {
					return err
				}
				bar.add(n)
			}
			return nil
		})
		wall := time.Since(start)
		bar.finish()
		if err != nil {
			return fmt.Errorf("raw inserts: %w", err)
		}
		m.report.Ceiling = append(m.report.Ceiling, Ceiling{Title: c.title, Rows: rows, Wall: wall, PerSecond: float64(rows) / wall.Seconds()})
	}
	var count int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM raw_inserts").Scan(&count); err != nil {
		return err
	}
	if count != 2*rows {
		return errors.New("raw inserts: rows missing")
	}
	return m.storeCeiling(ctx, pool, payload)
}

// storeCeiling appends rows events, one per append, from Config.Workers
// writers to Config.Users streams (each writer its own streams, round by
// round, at the expected version), as aggregates do.
func (m *Main) storeCeiling(ctx context.Context, pool *pgxpool.Pool, payload func(int) string) error {
	rows, workers, streams := m.Config.CeilingRows, m.Config.Workers, m.Config.Users
	if err := postgres.Migrate(ctx, pool, postgres.DefaultSchema); err != nil {
		return err
	}
	store, err := postgres.New(ctx, pool, postgres.Config{})
	if err != nil {
		return err
	}
	defer store.Close()
	title := fmt.Sprintf("%s event store appends of one event, %d writers (no runtime)", thousands(rows), workers)
	bar := m.progress.start("   ceiling: "+title, rows)
	start := time.Now()
	_, err = runWorkers(ctx, workers, func(ctx context.Context, worker int, do func(func() error) error) error {
		var own []int // this writer's streams
		for st := worker; st < streams; st += workers {
			own = append(own, st)
		}
		versions := make([]int64, len(own))
		for k := worker; k < rows && len(own) > 0; k += workers {
			i := (k / workers) % len(own)
			err := do(func() error {
				_, err := store.Append(ctx, fmt.Sprintf("ceiling-%d", own[i]), eventstore.Exact(versions[i]),
					[]eventstore.EventData{{Type: "accounts.UsernameChanged", Data: []byte(payload(k))}})
				return err
			})
			if err != nil {
				return err
			}
			versions[i]++
			bar.add(1)
		}
		return nil
	})
	wall := time.Since(start)
	bar.finish()
	if err != nil {
		return fmt.Errorf("store appends: %w", err)
	}
	n := int(bar.n.Load())
	m.report.Ceiling = append(m.report.Ceiling, Ceiling{Title: title, Rows: n, Wall: wall, PerSecond: float64(n) / wall.Seconds(), Store: true})
	return nil
}

package faulttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// diagnose gathers what explains a Conduit that stopped acknowledging
// writes: from its operations listener, the runtime's state (handlers and
// their positions) and a goroutine dump; from the database, the
// subscriptions, the projections' checkpoints, the last position, the
// sessions at work and the advisory locks. It writes them to a file in dir
// and returns the file's path and the database part, for the error.
func diagnose(ctx context.Context, proc *Conduit, connString, dir, name string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var b strings.Builder
	if proc != nil {
		for _, path := range []string{"/api/state", "/debug/pprof/goroutine?debug=2"} {
			fmt.Fprintf(&b, "== GET %s%s\n%s\n\n", proc.Admin, path, fetch(ctx, proc.Admin+path))
		}
	}
	db := databaseState(ctx, connString)
	b.WriteString(db)
	file := filepath.Join(dir, name+".txt")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return fmt.Sprintf("(cannot write diagnostics: %v)\n%s", err, db)
	}
	return fmt.Sprintf("diagnostics in %s\n%s", file, db)
}

func fetch(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return err.Error()
	}
	return string(body)
}

// databaseState describes the event store's and the read model's progress
// and PostgreSQL's sessions and advisory locks.
func databaseState(ctx context.Context, connString string) string {
	var b strings.Builder
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return fmt.Sprintf("database: %v\n", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range []struct{ title, sql string }{
		{"last position", `SELECT max(position) FROM cohort.events`},
		{"subscriptions (name, last seen)", `SELECT name, last_seen FROM cohort.subscriptions ORDER BY name`},
		{"projection checkpoints (name, position)", `SELECT name, position FROM conduit.projection_checkpoints ORDER BY name`},
		{"sessions at work (pid, state, wait, transaction age, query)", `
			SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, ''), now() - xact_start, left(query, 160)
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`},
		{"advisory locks (key, pid, granted)", `SELECT objid, pid, granted FROM pg_locks WHERE locktype = 'advisory' ORDER BY objid`},
	} {
		fmt.Fprintf(&b, "== %s\n", q.title)
		rows, err := conn.Query(ctx, q.sql)
		if err != nil {
			fmt.Fprintf(&b, "%v\n", err)
			continue
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				fmt.Fprintf(&b, "%v\n", err)
				break
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := rows.Err(); err != nil {
			fmt.Fprintf(&b, "%v\n", err)
		}
		rows.Close()
	}
	return b.String()
}

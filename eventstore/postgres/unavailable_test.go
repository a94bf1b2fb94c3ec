package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// TestClassifyUnavailable: errors that say PostgreSQL is unreachable or
// restarting, or that a transaction lost a conflict, unwrap to
// eventstore.ErrUnavailable with a reason; other errors are left as they
// are. The errors come from a real server where one can be provoked.
func TestClassifyUnavailable(t *testing.T) {
	ctx := context.Background()
	conn := newDatabase(t)
	tests := []struct {
		name       string
		err        func(t *testing.T) error
		wantReason string // "" means not unavailable
	}{
		{"admin shutdown (57P01, the backend terminated)", func(t *testing.T) error {
			c := mustConnect(t, conn)
			_, err := c.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
			return fmt.Errorf("postgres: read: %w", err)
		}, "57P01"},
		{"connection lost (the next query on a terminated connection)", func(t *testing.T) error {
			c := mustConnect(t, conn)
			_, _ = c.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
			_, err := c.Exec(ctx, "SELECT 1")
			return err
		}, "connection lost"},
		{"connection refused", func(t *testing.T) error {
			_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?connect_timeout=5", closedPort(t)))
			return err
		}, "connection refused"},
		{"pool acquire timeout", func(t *testing.T) error {
			cfg, err := pgxpool.ParseConfig(conn)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			held, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Release()
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err = pool.Acquire(short)
			return err
		}, "timeout"},
		{"crash shutdown", pgError("57P02"), "57P02"},
		{"cannot connect now", pgError("57P03"), "57P03"},
		{"connection failure", pgError("08006"), "08006"},
		{"too many connections", pgError("53300"), "53300"},
		{"serialization failure", pgError("40001"), "40001"},
		{"deadlock", pgError("40P01"), "40P01"},
		{"unique violation", pgError("23505"), ""},
		{"undefined table (a real one)", func(t *testing.T) error {
			_, err := mustConnect(t, conn).Exec(ctx, "SELECT * FROM no_such_table")
			return err
		}, ""},
		{"no such database (a connect error the server answered)", func(t *testing.T) error {
			cfg, err := pgx.ParseConfig(conn)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Database = "no_such_database"
			_, err = pgx.ConnectConfig(ctx, cfg)
			return err
		}, ""},
		{"canceled by the caller", func(*testing.T) error { return context.Canceled }, ""},
		{"version conflict", func(*testing.T) error { return &eventstore.VersionConflictError{Stream: "s"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.err(t)
			if src == nil {
				t.Fatal("no error provoked")
			}
			got := postgres.ClassifyUnavailable(src)
			var u *eventstore.UnavailableError
			isU := errors.As(got, &u)
			if isU != errors.Is(got, eventstore.ErrUnavailable) {
				t.Fatalf("errors.As and errors.Is disagree on %v", got)
			}
			switch {
			case tt.wantReason == "" && isU:
				t.Fatalf("%v classified as unavailable (%s)", src, u.Reason)
			case tt.wantReason == "" && got != src:
				t.Fatalf("%v changed to %v", src, got)
			case tt.wantReason != "" && !isU:
				t.Fatalf("%v (%T) not classified as unavailable", src, src)
			case tt.wantReason != "" && !containsFold(u.Reason, tt.wantReason):
				t.Fatalf("reason %q, want it to mention %q", u.Reason, tt.wantReason)
			case tt.wantReason != "" && !errors.Is(got, src):
				t.Fatalf("%v does not unwrap to the original error", got)
			}
		})
	}
}

// pgError returns a PostgreSQL error with the code, as the server sends it.
func pgError(code string) func(*testing.T) error {
	return func(*testing.T) error {
		return fmt.Errorf("postgres: append: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "test"})
	}
}

// mustConnect opens a connection, closed at t's cleanup.
func mustConnect(t *testing.T, conn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func containsFold(s, sub string) bool {
	return len(sub) == 0 || strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

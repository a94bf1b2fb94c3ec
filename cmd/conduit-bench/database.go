package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pglocal"
)

// benchMasterKey is the master key of the benchmark's Conduits: its
// databases hold made-up users only.
var benchMasterKey = []byte("conduit-bench master key, public")

// server is the PostgreSQL server the benchmark runs on: a throwaway local
// cluster, or the server of DATABASE_URL. The benchmark works in databases
// of its own there, named after a random run id, and drops them all at the
// end.
type server struct {
	cluster *pglocal.Cluster // nil with DATABASE_URL
	admin   string           // connection string of the maintenance database
	base    *url.URL         // a connection URL whose database is replaced
	prefix  string           // of this run's databases
	created []string         // databases to drop
	// noStatements says why the throwaway cluster does not preload
	// pg_stat_statements (empty when it does, or with DATABASE_URL).
	noStatements string
}

// Databases of a run, by role.
const (
	dbWork    = "work"    // where phases run
	dbEmpty   = "empty"   // migrated, no events: the reset
	dbUsers   = "users"   // after the registrations: the seed's dump
	dbCeiling = "ceiling" // the raw pgx ceiling's table
)

// startServer starts a throwaway cluster, or checks the server of
// databaseURL.
func startServer(ctx context.Context, m *Main) (*server, error) {
	s := &server{prefix: "conduit_bench_" + strings.ToLower(rand.Text()[:8]) + "_"}
	if m.Config.DatabaseURL != "" {
		s.admin = m.Config.DatabaseURL
		m.Logger.Info("using the server of DATABASE_URL; the benchmark creates and drops databases of its own there")
	} else {
		// A throwaway cluster with PostgreSQL's durable defaults, which
		// pglocal keeps: fsync=on, synchronous_commit=on.
		// pg_stat_statements, when installed, counts the statements of
		// each request.
		var settings map[string]string
		if _, err := statementsLibrary(m.Config.PostgresBinDir); err != nil {
			s.noStatements = fmt.Sprintf("statements not counted: %v", err)
		} else {
			settings = map[string]string{"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "top"}
		}
		c, err := pglocal.Start(ctx, pglocal.Config{BinDir: m.Config.PostgresBinDir, Logger: m.Logger, Settings: settings})
		if err != nil {
			return nil, err
		}
		s.cluster = c
		s.admin = c.ConnString("postgres")
		m.Logger.Info("throwaway PostgreSQL started", "data_dir", c.DataDir(), "port", c.Port())
	}
	u, err := url.Parse(s.admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.Join(errors.New("DATABASE_URL must be a postgres:// URL"), s.close())
	}
	s.base = u
	if err := s.exec(ctx, "SELECT 1"); err != nil {
		return nil, errors.Join(fmt.Errorf("connect to PostgreSQL: %w", err), s.close())
	}
	return s, nil
}

// name returns the database name of a role.
func (s *server) name(role string) string { return s.prefix + role }

// connString returns a connection string to the database of a role.
func (s *server) connString(role string) string {
	u := *s.base
	u.Path = "/" + s.name(role)
	return u.String()
}

// pool opens a pool on the database of a role.
func (s *server) pool(ctx context.Context, role string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(s.connString(role))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", role, err)
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("connect to %s: %w", role, err)
	}
	return p, nil
}

// create creates the database of a role, empty or as a copy of the
// database of the role from, which nobody may be connected to.
func (s *server) create(ctx context.Context, role, from string) error {
	sql := "CREATE DATABASE " + pgx.Identifier{s.name(role)}.Sanitize()
	if from != "" {
		sql += " TEMPLATE " + pgx.Identifier{s.name(from)}.Sanitize()
	}
	if err := s.exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s: %w", role, err)
	}
	if !slices.Contains(s.created, role) {
		s.created = append(s.created, role)
	}
	return nil
}

// copy replaces the database of role to with a copy of that of role from
// (the seed's dump and restore): nobody may be connected to either.
func (s *server) copy(ctx context.Context, from, to string) error {
	if err := s.drop(ctx, to); err != nil {
		return err
	}
	return s.create(ctx, to, from)
}

// drop drops the database of a role if it exists.
func (s *server) drop(ctx context.Context, role string) error {
	if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.name(role)}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", role, err)
	}
	return nil
}

// settings returns the server's version and durability settings.
func (s *server) settings(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version, fsync, syncCommit string
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')").
		Scan(&version, &fsync, &syncCommit)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL %s, fsync=%s, synchronous_commit=%s", version, fsync, syncCommit), nil
}

// queryRow runs one query on the maintenance database and scans its row.
func (s *server) queryRow(ctx context.Context, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// exec runs one statement on the maintenance database.
func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// close drops the run's databases and stops the throwaway cluster.
func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if s.cluster == nil {
		for _, role := range s.created {
			errs = append(errs, s.drop(ctx, role))
		}
	} else {
		// Stopping a throwaway cluster removes it, databases and all.
		errs = append(errs, s.cluster.Stop())
	}
	s.created = nil
	return errors.Join(errs...)
}

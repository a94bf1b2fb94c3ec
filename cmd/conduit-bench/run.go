package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/cohort-dev/cohort/conduit/password"
)

// Main is the benchmark program: the database server, the phases and the
// report. Run runs the selected phases and writes the report; Close drops
// the benchmark's databases and stops the throwaway server.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Stdout receives the report; Stderr progress and logs.
	Stdout, Stderr io.Writer

	srv      *server
	progress *progress
	rec      *recorder
	report   Report
}

// NewMain returns a program writing its report to stdout and its progress
// and logs to stderr.
func NewMain(cfg Config, stdout, stderr io.Writer) *Main {
	logOut := stderr
	if cfg.Quiet {
		logOut = io.Discard
	}
	return &Main{
		Config:   cfg,
		Logger:   slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Stdout:   stdout,
		Stderr:   stderr,
		progress: newProgress(stderr, cfg.Quiet),
		rec:      newRecorder(),
	}
}

// Run runs the selected phases, each bounded by Config.PhaseTimeout, and
// writes the report to Stdout. It returns the first phase's failure.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	m.report = Report{
		Command: "go run ./cmd/conduit-bench " + strings.Join(cfg.Args, " "),
		Started: time.Now().UTC(),
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Users:   cfg.Users, Renames: cfg.Renames, Workers: cfg.Workers,
		Hashing:        hashing(cfg.Password),
		HashingLowered: cfg.LoweredHashing(),
		Phases:         []PhaseResult{},
	}
	if strings.TrimSpace(strings.Join(cfg.Args, " ")) == "" {
		m.report.Command = "go run ./cmd/conduit-bench"
	}
	if cfg.CPUProfileDir != "" {
		if err := os.MkdirAll(cfg.CPUProfileDir, 0o755); err != nil {
			return err
		}
	}
	var err error
	needDB := !cfg.HTTP || cfg.URL == "" || cfg.DatabaseURL != ""
	if needDB {
		if m.srv, err = startServer(ctx, m); err != nil {
			return err
		}
		if m.report.Database, err = m.srv.settings(ctx); err != nil {
			return fmt.Errorf("read server settings: %w", err)
		}
		if m.srv.cluster != nil {
			m.report.Database += " (throwaway local cluster)"
		}
	} else {
		m.report.Database = "the running Conduit's (not measured here)"
	}
	if cfg.Runs(PhaseCeiling) {
		if m.srv == nil {
			m.report.Notes = append(m.report.Notes, "The raw pgx ceiling needs DATABASE_URL with -url: skipped.")
		} else if err := m.phase(ctx, PhaseCeiling, m.ceiling); err != nil {
			return err
		}
	}
	if cfg.HTTP {
		m.report.Mode = "HTTP API, strong consistency (every handler runs, as in a server)"
		err = m.runHTTP(ctx)
	} else {
		consistency := "eventual consistency (the seed's)"
		if cfg.Strong {
			consistency = "STRONG consistency (as a server; the seed's was eventual)"
		}
		m.report.Mode = "in-process, " + consistency + ", commands dispatched as the seed's Conduit.B did (validated, hashed; no uniqueness claims)"
		if cfg.Via == ViaUseCases {
			m.report.Mode = "in-process, " + consistency + ", through the use cases RegisterUser and UpdateUser (uniqueness claims included)"
		}
		err = m.runInProcess(ctx)
	}
	if err != nil {
		return err
	}
	if cfg.LoweredHashing() {
		m.report.Notes = append(m.report.Notes, fmt.Sprintf(
			"Password hashing was LOWERED on request (%s); registration figures at Conduit's cost need a run without -hash-*.", hashing(cfg.Password)))
	}
	if cfg.JSON {
		return m.report.WriteJSON(m.Stdout)
	}
	return m.report.WriteTable(m.Stdout)
}

// Report returns what Run measured.
func (m *Main) Report() Report { return m.report }

// phase runs f bounded by the phase timeout, with a CPU profile if asked.
func (m *Main) phase(ctx context.Context, name string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, m.Config.PhaseTimeout)
	defer cancel()
	if dir := m.Config.CPUProfileDir; dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := f(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("%s: did not finish within -timeout %s: %w", name, m.Config.PhaseTimeout, err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// add appends a phase's figures to the report if the phase was selected
// (phases also run unselected to prepare the data of later ones). The
// CRUD baseline's phases and the HTTP renames go with the phases they
// mirror.
func (m *Main) add(r PhaseResult) {
	name := strings.TrimPrefix(r.Phase, crudPrefix)
	if name == "http-rename" {
		name = PhaseRenameWarm
	}
	if m.Config.Runs(name) {
		m.report.Phases = append(m.report.Phases, r)
	}
}

// Close drops the benchmark's databases and stops the throwaway server.
func (m *Main) Close() error {
	if m.srv == nil {
		return nil
	}
	err := m.srv.close()
	m.srv = nil
	return err
}

func hashing(p password.Params) string {
	s := fmt.Sprintf("Argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
	if p == password.DefaultParams {
		return s + " (Conduit's)"
	}
	d := password.DefaultParams
	return fmt.Sprintf("%s, LOWERED from Conduit's m=%d KiB, t=%d, p=%d (the seed replaced its hashing too)", s, d.Memory, d.Time, d.Threads)
}

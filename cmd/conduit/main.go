// Command conduit serves the RealWorld "Conduit" API on the Cohort
// runtime.
//
//	go run ./cmd/conduit                  # local PostgreSQL in ./conduit-data, API on :8080
//	go run ./cmd/conduit -addr :3000      # or PORT=3000
//	DATABASE_URL=postgres://... go run ./cmd/conduit
//
// Without DATABASE_URL it starts its own PostgreSQL cluster from the
// server binaries installed on the machine, keeping the data in the data
// directory (-data) across runs. It migrates the event store and the read
// model, serves the API under /api, logs with slog (-log-json for JSON),
// and shuts down gracefully on SIGINT or SIGTERM.
//
// For load balancers, GET /healthz answers 200 while the process serves
// and GET /readyz answers 200 when it is ready to take requests (serving,
// its database answering a ping), 503 otherwise. On SIGTERM it drains:
// /readyz answers 503 at once while the API keeps serving for -drain (5 s
// by default), then it shuts down. cmd/conduit-lb is a balancer for
// several Conduits on one DATABASE_URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "rebuild" {
		os.Exit(rebuild(os.Args[2:]))
	}
	cfg, err := ParseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conduit:", err)
		os.Exit(2)
	}
	// SIGTERM (an orchestrator stopping the node) drains first; SIGINT
	// (an operator's Ctrl-C) does not.
	term, stopTerm := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopTerm()
	ctx, stop := signal.NotifyContext(term, os.Interrupt)
	defer stop()

	m := NewMain(cfg, os.Stderr)
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("conduit failed to start", "err", err)
		_ = m.Close(context.Background())
		os.Exit(1)
	}
	failed := false // stopped by a failure, not a signal: the exit status says so
	select {
	case <-ctx.Done():
		if term.Err() != nil && cfg.Drain > 0 {
			drain(m, cfg.Drain)
		}
		m.Logger.Info("shutting down")
	case err := <-m.Failed():
		m.Logger.Error("conduit stopped", "err", err)
		failed = true
	}
	stop()
	stopTerm()
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := m.Close(shutdown); err != nil {
		m.Logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
	m.Logger.Info("stopped")
	if failed {
		os.Exit(1)
	}
}

// drain keeps the node serving, not ready, for d: until load balancers
// have seen its GET /readyz answer 503 and send its requests elsewhere.
// Another SIGINT or SIGTERM, or a failure, ends it at once.
func drain(m *Main, d time.Duration) {
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	m.Drain()
	m.Logger.Info("draining: not ready, still serving; a second signal stops at once", "for", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case sig := <-again:
		m.Logger.Info("drain cut short", "signal", sig.String())
	case err := <-m.Failed():
		m.Logger.Error("conduit failed while draining", "err", err)
	}
}

// rebuild runs the rebuild subcommand and returns the exit code.
func rebuild(args []string) int {
	cfg, names, err := ParseRebuildArgs(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stderr, RebuildUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "conduit rebuild: %v\n\n%s", err, RebuildUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(cfg, os.Stderr)
	sum, err := m.Rebuild(ctx, names, os.Stderr)
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if cerr := m.Close(shutdown); err == nil {
		err = cerr
	}
	if err != nil {
		m.Logger.Error("rebuild failed", "err", err)
		return 1
	}
	fmt.Printf("rebuilt %s: %d events in %v (%.0f events/s)\n", strings.Join(sum.Projections, ", "),
		sum.Events, sum.Took.Round(time.Millisecond), sum.EventsPerSecond())
	return 0
}

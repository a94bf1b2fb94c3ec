// Command conduit-soak holds a mixed load on Conduit for a bounded time
// and reports, interval by interval, throughput, errors, latency, memory
// and goroutines, to catch leaks and slow degradation.
//
//	go run ./cmd/conduit-soak -duration 10m              # Conduit in process, throwaway PostgreSQL
//	go run ./cmd/conduit-soak -duration 1m -interval 5s -workers 16
//	go run ./cmd/conduit-soak -database postgres://...   # Conduit in process on that database (it migrates and writes to it)
//	go run ./cmd/conduit-soak -api http://host:8080/api  # drive a running server (no memory figures)
//
// Conduit runs in this process unless -api is given, so that its memory
// and goroutines can be measured; the load (package conduitload) records
// every acknowledged write, and at the end the command checks through the
// API that none was lost. It then stops the load, lets the server idle,
// and compares goroutines and the live heap with their values before the
// load: a goroutine count that does not come back, or a live heap that
// keeps growing, is reported as a suspected leak.
//
// The exit status is 0 when nothing was lost and no leak is suspected, 1
// otherwise, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conduit-soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conduit-soak:", err)
		os.Exit(1)
	}
	if !rep.ok() {
		os.Exit(1)
	}
}

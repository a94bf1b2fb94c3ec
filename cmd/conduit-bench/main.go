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
	cfg, err := ParseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conduit-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain(cfg, os.Stdout, os.Stderr)
	runErr := m.Run(ctx)
	closeErr := m.Close()
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "conduit-bench:", runErr)
	}
	if closeErr != nil {
		fmt.Fprintln(os.Stderr, "conduit-bench: cleanup:", closeErr)
	}
	if runErr != nil || closeErr != nil {
		os.Exit(1)
	}
}

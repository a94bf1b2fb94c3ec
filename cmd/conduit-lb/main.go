// Command conduit-lb is a minimal load balancer for several Conduit
// processes on one database, so that running them behind one address
// needs nothing but Go:
//
//	go run ./cmd/conduit-lb -addr :8080 -backend http://127.0.0.1:8081 -backend http://127.0.0.1:8082 -backend http://127.0.0.1:8083
//
// It sends each request to the next ready backend in turn, checks each
// backend's GET /readyz every -check-interval, skips a backend whose check
// fails or that refuses a connection, and sends a request that could not
// reach its backend (and a GET or HEAD whose connection broke) to the next
// one. See internal/balancer. It logs with slog (-log-json for JSON) and
// shuts down gracefully on SIGINT or SIGTERM. For production, use a
// balancer of your platform with the same checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cohort-dev/cohort/internal/balancer"
)

// Config is the command's configuration, from flags.
type Config struct {
	// Addr is the listen address (-addr, default ":8080").
	Addr string
	// Balancer holds the backends (-backend, repeated or comma-separated)
	// and the readiness checks (-check-interval, -check-timeout).
	Balancer balancer.Config
	// LogJSON logs JSON instead of text (-log-json).
	LogJSON bool
}

// ParseConfig reads the flags in args.
func ParseConfig(args []string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("conduit-lb", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	fs.Func("backend", "a backend's base URL, http://host:port (repeat the flag, or separate them with commas)", func(s string) error {
		for item := range strings.SplitSeq(s, ",") {
			u, err := url.Parse(strings.TrimSpace(item))
			if err != nil {
				return err
			}
			cfg.Balancer.Backends = append(cfg.Balancer.Backends, u)
		}
		return nil
	})
	fs.DurationVar(&cfg.Balancer.CheckInterval, "check-interval", balancer.DefaultCheckInterval, "how often each backend's readiness (GET /readyz) is checked")
	fs.DurationVar(&cfg.Balancer.CheckTimeout, "check-timeout", balancer.DefaultCheckTimeout, "how long a readiness check may take before the backend counts as not ready")
	fs.BoolVar(&cfg.LogJSON, "log-json", false, "log JSON instead of text")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(nil)
			fs.Usage()
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Balancer.CheckInterval <= 0 || cfg.Balancer.CheckTimeout <= 0 {
		return Config{}, errors.New("-check-interval and -check-timeout: want a positive duration")
	}
	if err := cfg.Balancer.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func main() {
	cfg, err := ParseConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conduit-lb:", err)
		os.Exit(2)
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(h)
	cfg.Balancer.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("conduit-lb", "err", err)
		os.Exit(1)
	}
	if err := run(ctx, cfg, ln, log); err != nil {
		log.Error("conduit-lb", "err", err)
		os.Exit(1)
	}
}

// run serves on ln until ctx is done, then shuts down gracefully.
func run(ctx context.Context, cfg Config, ln net.Listener, log *slog.Logger) error {
	b, err := balancer.New(cfg.Balancer)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	checks, stopChecks := context.WithCancel(context.Background())
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		b.Run(checks)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	backends := make([]string, len(cfg.Balancer.Backends))
	for i, u := range cfg.Balancer.Backends {
		backends[i] = u.String()
	}
	log.Info("conduit-lb is serving", "addr", ln.Addr().String(), "backends", backends)

	select {
	case <-ctx.Done():
		err = nil
	case err = <-served:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	stopChecks()
	<-checked
	st := b.Stats()
	log.Info("stopped", "requests", st.Requests, "retried", st.Retried, "refused", st.Refused, "failed", st.Failed)
	return err
}

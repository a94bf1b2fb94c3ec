package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/httpapi"
	"github.com/cohort-dev/cohort/internal/pglocal"
	"github.com/cohort-dev/cohort/internal/telemetry"
)

// Main is the running program: the database and the adapters on it (the
// pool, the event store), the application built on them, and the HTTP
// server. Run starts them; Close stops them in reverse order.
type Main struct {
	Config Config
	Logger *slog.Logger

	cluster   *pglocal.Cluster    // nil with DATABASE_URL
	members   *clusterpg.Provider // with -cluster
	memberTLS *tls.Config         // with the -cluster-tls-* flags
	unwatch   chan struct{}       // closed by Close: stops watching members for an expulsion
	pool      *pgxpool.Pool
	store     *postgres.Store
	tel       *telemetry.Telemetry
	app       *conduit.App
	listener  net.Listener // the API's, bound before anything starts; served by server once ready
	server    *http.Server
	addr      net.Addr
	admin     *http.Server
	adminAddr net.Addr
	failed    chan error
	phase     atomic.Int32 // a phase
}

// NewMain returns a program logging to w.
func NewMain(cfg Config, w io.Writer) *Main {
	var h slog.Handler = slog.NewTextHandler(w, nil)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(w, nil)
	}
	// Records logged with a request's context carry its trace ids.
	return &Main{Config: cfg, Logger: slog.New(telemetry.LogHandler(h)), failed: make(chan error, 1)}
}

// Run starts everything and returns once the API is serving.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	// The certificates are read first: a wrong file fails the start
	// before anything is started.
	var err error
	if m.memberTLS, err = m.Config.clusterTLS(); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(m.Config.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, dataDirMode); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	secret, err := jwtSecret(m.Config.JWTSecret, dataDir)
	if err != nil {
		return err
	}
	tokens, err := httpapi.NewTokens(secret, m.Config.TokenTTL)
	if err != nil {
		return err
	}
	key, err := claimsKey(m.Config.ClaimsKey, dataDir)
	if err != nil {
		return err
	}
	master, err := masterKey(m.Config.MasterKey, dataDir)
	if err != nil {
		return err
	}
	// The API's address is taken before the database is started or the
	// cluster joined: a node started on an address still in use (its
	// predecessor still draining) fails here, having joined nothing.
	// Connections wait in the backlog until the API serves.
	if m.listener, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return err
	}
	connString := m.Config.DatabaseURL
	if connString == "" {
		if connString, err = m.startLocalDatabase(ctx, dataDir); err != nil {
			return err
		}
	} else {
		m.Logger.Info("using the database of DATABASE_URL")
	}
	if m.pool, err = connect(ctx, connString); err != nil {
		return err
	}

	// Tracing from the OTEL_* environment; metrics for the admin listener.
	if m.tel, err = telemetry.Setup(ctx, "conduit"); err != nil {
		return err
	}
	if m.tel.Tracing {
		m.Logger.Info("tracing on", "exporter", os.Getenv("OTEL_TRACES_EXPORTER"))
	}
	storeMetrics, err := telemetry.NewStoreMetrics(m.tel.MeterProvider)
	if err != nil {
		return err
	}
	if err := m.openStore(ctx, storeMetrics); err != nil {
		return err
	}
	appCfg := conduit.Config{Store: m.store, DB: m.pool, ReadSchema: m.Config.ReadSchema,
		Password: m.Config.Password, MaxHashes: m.Config.MaxHashes, Logger: m.Logger, ClaimsKey: key,
		MasterKey: master, MeterProvider: m.tel.MeterProvider}
	if m.tel.Tracing {
		appCfg.TracerProvider = m.tel.TracerProvider
	}
	if appCfg.Cluster, err = m.joinCluster(ctx); err != nil {
		return err
	}
	if m.app, err = conduit.New(ctx, appCfg); err != nil {
		return err
	}
	if len(m.Config.Rebuild) > 0 {
		names := m.Config.Rebuild
		if slices.Contains(names, "all") {
			names = nil
		}
		if err := m.app.Rebuild(ctx, names...); err != nil {
			return err
		}
		m.Logger.Info("projections reset; they replay from the first event", "projections", m.Config.Rebuild)
	}
	if err := m.app.Start(ctx); err != nil {
		return err
	}
	apiCfg := httpapi.Config{App: m.app, Tokens: tokens, Logger: m.Logger, Limits: m.Config.Limits, TrustTraceContext: m.Config.TrustTraceContext,
		Ready: m.readyChecks()}
	if m.tel.Tracing {
		apiCfg.TracerProvider = m.tel.TracerProvider
	}
	handler, err := httpapi.NewHandler(apiCfg)
	if err != nil {
		return err
	}
	if m.Config.AdminAddr != "" {
		if err := m.serveAdmin(); err != nil {
			return err
		}
	}
	ln := m.listener
	m.addr = ln.Addr()
	m.server = &http.Server{
		Handler:           m.closingWhileDraining(handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.failed <- err
		}
	}()
	m.phase.CompareAndSwap(int32(phaseStarting), int32(phaseServing))
	m.Logger.Info("Conduit is serving", "api", "http://"+displayAddr(m.addr)+"/api")
	return nil
}

// serveAdmin starts the operations listener.
func (m *Main) serveAdmin() error {
	ln, err := net.Listen("tcp", m.Config.AdminAddr)
	if err != nil && m.Config.AdminAddr == DefaultAdminAddr {
		// Another process (another Conduit) has the default port: the API
		// does not need the operations listener to serve.
		m.Logger.Warn("no operations listener: the default address is taken; choose one with -admin-addr", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	m.adminAddr = ln.Addr()
	m.admin = &http.Server{
		Handler:           adminHandler(m.Config.AdminAddr, m.app, m.tel.Metrics, m.Logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := m.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.failed <- fmt.Errorf("admin listener: %w", err)
		}
	}()
	m.Logger.Info("operations listener", "live_actors", "http://"+displayAddr(m.adminAddr)+"/",
		"metrics", "http://"+displayAddr(m.adminAddr)+"/metrics")
	return nil
}

// AdminAddr returns the operations listener's address (nil when off),
// once Run returned.
func (m *Main) AdminAddr() net.Addr { return m.adminAddr }

// Failed reports a failure of the running server or of the local
// PostgreSQL.
func (m *Main) Failed() <-chan error { return m.failed }

// Addr returns the address the API listens on, once Run returned.
func (m *Main) Addr() net.Addr { return m.addr }

// Close shuts down the HTTP server (letting requests finish), the
// application, the event store, the pool and the local PostgreSQL, within
// ctx.
func (m *Main) Close(ctx context.Context) error {
	m.phase.Store(int32(phaseStopping))
	var errs []error
	if m.server != nil {
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	} else if m.listener != nil { // Run failed before serving
		if err := m.listener.Close(); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	if m.admin != nil {
		if err := m.admin.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("admin listener: %w", err))
		}
	}
	if m.app != nil {
		if err := m.app.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.members != nil {
		close(m.unwatch)
		if err := m.members.Close(); err != nil { // after the App left: its row is marked left already
			errs = append(errs, fmt.Errorf("cluster membership: %w", err))
		}
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("event store: %w", err))
		}
	}
	if m.tel != nil {
		if err := m.tel.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: %w", err))
		}
	}
	if m.pool != nil {
		m.pool.Close()
	}
	if m.cluster != nil {
		if err := m.cluster.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// connect opens a pool and checks that the database answers.
func connect(ctx context.Context, connString string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	if cfg.MaxConns < 20 {
		cfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ping, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pool.Ping(ping); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return pool, nil
}

// displayAddr shows a wildcard listen address as localhost.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}

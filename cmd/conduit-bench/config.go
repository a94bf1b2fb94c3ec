package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cohort-dev/cohort/conduit/password"
)

// Phase names, in the order they run (the seed's order).
const (
	PhaseRegisterSeq = "register-seq" // 1: registrations, one at a time
	PhaseRegisterPar = "register-par" // 2: registrations in parallel chunks
	PhaseRenameWarm  = "rename-warm"  // 3: renames, aggregates in memory
	PhaseWorkflow    = "workflow"     // 4: authors created, then renames with the author workflow
	PhaseRenameCold  = "rename-cold"  // 5: renames from a fresh application
	PhaseRebuild     = "rebuild"      // 6: the users projection rebuilt from the origin
	PhaseCeiling     = "ceiling"      // raw pgx inserts on the same server
)

// AllPhases lists every phase in running order.
var AllPhases = []string{PhaseRegisterSeq, PhaseRegisterPar, PhaseRenameWarm, PhaseWorkflow, PhaseRenameCold, PhaseRebuild, PhaseCeiling}

// The seed's sizes, the defaults.
const (
	DefaultUsers   = 5_000
	DefaultRenames = 100_000
	DefaultWorkers = 10
)

// The HTTP workload, the defaults with -http: 1,000 users
// registered by the workers, then 20,000 renames, beside the ceilings.
const (
	DefaultHTTPUsers   = 1_000
	DefaultHTTPRenames = 20_000
)

// DefaultHTTPPhases are the phases -http runs unless -phases says
// otherwise.
var DefaultHTTPPhases = []string{PhaseRegisterPar, PhaseRenameWarm, PhaseCeiling}

// How the in-process phases dispatch (-via).
const (
	// ViaCommands dispatches the commands the use cases would, as the
	// seed's Conduit.B did: validated, passwords hashed, eventually
	// consistent, without the uniqueness claims (the names are unique by
	// construction).
	ViaCommands = "commands"
	// ViaUseCases calls RegisterUser and UpdateUser, uniqueness claims
	// included, with conduit.ToolOptions.EventualAccounts.
	ViaUseCases = "usecases"
)

// Config is the benchmark's configuration, from flags and the environment.
type Config struct {
	// Users registered in each registration phase (-users).
	Users int
	// Renames in each rename phase (-renames).
	Renames int
	// Workers dispatch concurrently in the parallel phases (-workers); the
	// seed's 10 processes.
	Workers int
	// Phases to run (-phases), in running order; phases that need an
	// earlier one's data bring it along without measuring it.
	Phases []string
	// Via says how the in-process phases dispatch (-via): ViaCommands or
	// ViaUseCases.
	Via string
	// Strong dispatches the in-process phases' commands with strong
	// consistency (-consistency strong), as a server does, instead of the
	// seed's eventual consistency: each waits for the projections it runs.
	Strong bool
	// Password are the Argon2id parameters of the registrations' hashes
	// (-hash-memory, -hash-time, -hash-threads); the default is Conduit's.
	Password password.Params
	// HTTP drives the phases through the HTTP API (-http) of the server at
	// URL (-url), or of a Conduit server the benchmark starts itself.
	HTTP bool
	URL  string
	// CRUD drives, with -http, a CRUD baseline too (-crud): the same
	// routes written directly on pgx, served by the benchmark on the same
	// PostgreSQL server, so that Conduit is compared with it in one run.
	CRUD bool
	// CeilingRows is the number of raw inserts of the pgx ceiling
	// (-ceiling-rows).
	CeilingRows int
	// PhaseTimeout bounds each phase (-timeout).
	PhaseTimeout time.Duration
	// Poll is how often projection checkpoints are read (-poll).
	Poll time.Duration
	// JSON writes the report as JSON instead of a table (-json).
	JSON bool
	// Quiet turns off progress and logs on stderr (-quiet).
	Quiet bool
	// CPUProfileDir, if set, receives a CPU profile per phase (-cpuprofile).
	CPUProfileDir string
	// PostgresBinDir holds the PostgreSQL server binaries (-pg-bin).
	PostgresBinDir string
	// DatabaseURL, from DATABASE_URL, points at a server to use instead of
	// a throwaway local cluster; its role must be allowed to create
	// databases, and its database only serves to create and drop the
	// benchmark's own.
	DatabaseURL string
	// Args are the command-line arguments, for the report.
	Args []string
}

// LoweredHashing reports whether the password hashes are cheaper than
// Conduit's.
func (c Config) LoweredHashing() bool { return c.Password != password.DefaultParams }

// Runs reports whether phase is selected.
func (c Config) Runs(phase string) bool { return slices.Contains(c.Phases, phase) }

// ParseConfig reads flags from args and settings from getenv.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cfg := Config{DatabaseURL: getenv("DATABASE_URL"), Args: args}
	fs := flag.NewFlagSet("conduit-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&cfg.Users, "users", DefaultUsers, "users registered in each registration phase (with -http: 1,000)")
	fs.IntVar(&cfg.Renames, "renames", DefaultRenames, "username changes in each rename phase (with -http: 20,000)")
	fs.IntVar(&cfg.Workers, "workers", DefaultWorkers, "concurrent dispatchers in the parallel phases")
	phases := fs.String("phases", "all", "phases to run: all, or a comma-separated list of "+strings.Join(AllPhases, ", ")+
		" (with -http: "+strings.Join(DefaultHTTPPhases, ",")+")")
	memory := fs.Uint("hash-memory", uint(password.DefaultParams.Memory), "Argon2id memory per password hash, in KiB (lower than Conduit's only when asked)")
	passes := fs.Uint("hash-time", uint(password.DefaultParams.Time), "Argon2id passes per password hash")
	threads := fs.Uint("hash-threads", uint(password.DefaultParams.Threads), "Argon2id threads per password hash")
	fs.StringVar(&cfg.Via, "via", ViaCommands, "in-process dispatch: commands (the seed's Conduit.B: validated, hashed, no uniqueness claims) or usecases (RegisterUser and UpdateUser, claims included)")
	consistency := fs.String("consistency", "eventual", "in-process dispatch consistency: eventual (the seed's) or strong (as a server)")
	fs.BoolVar(&cfg.HTTP, "http", false, "drive the phases through the HTTP API instead of in-process")
	fs.BoolVar(&cfg.CRUD, "crud", true, "with -http: drive a CRUD baseline (the same routes on pgx, same PostgreSQL) after Conduit, and compare")
	fs.StringVar(&cfg.URL, "url", "", "with -http: the API of a running Conduit (http://host:port/api); empty starts one in-process")
	fs.IntVar(&cfg.CeilingRows, "ceiling-rows", 100_000, "single-row inserts of the raw pgx ceiling")
	fs.DurationVar(&cfg.PhaseTimeout, "timeout", 10*time.Minute, "bound on each phase")
	fs.DurationVar(&cfg.Poll, "poll", 2*time.Millisecond, "how often projection checkpoints are read")
	fs.BoolVar(&cfg.JSON, "json", false, "write the report as JSON on stdout instead of a table")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "no progress bars or logs on stderr")
	fs.StringVar(&cfg.CPUProfileDir, "cpuprofile", "", "directory receiving a CPU profile per phase (<phase>.pprof)")
	fs.StringVar(&cfg.PostgresBinDir, "pg-bin", "", "directory of the PostgreSQL server binaries (default: found on PATH or in /usr/lib/postgresql/*/bin)")
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
	if cfg.HTTP {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["users"] {
			cfg.Users = DefaultHTTPUsers
		}
		if !set["renames"] {
			cfg.Renames = DefaultHTTPRenames
		}
		if !set["phases"] {
			*phases = strings.Join(DefaultHTTPPhases, ",")
		}
	}
	switch {
	case cfg.Users < 1 || cfg.Renames < 0 || cfg.CeilingRows < 0:
		return Config{}, errors.New("-users must be positive, -renames and -ceiling-rows not negative")
	case cfg.Workers < 1 || cfg.Workers > 1000:
		return Config{}, errors.New("-workers must be within 1..1000")
	case cfg.PhaseTimeout <= 0 || cfg.Poll <= 0:
		return Config{}, errors.New("-timeout and -poll must be positive")
	case cfg.URL != "" && !cfg.HTTP:
		return Config{}, errors.New("-url needs -http")
	case cfg.Via != ViaCommands && cfg.Via != ViaUseCases:
		return Config{}, fmt.Errorf("-via must be %s or %s", ViaCommands, ViaUseCases)
	case *consistency != "eventual" && *consistency != "strong":
		return Config{}, errors.New("-consistency must be eventual or strong")
	}
	cfg.Strong = *consistency == "strong"
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("-url %q is not an http(s) URL", cfg.URL)
		}
		cfg.URL = strings.TrimRight(cfg.URL, "/")
	}
	var err error
	if cfg.Phases, err = parsePhases(*phases); err != nil {
		return Config{}, err
	}
	if *memory > 1<<32-1 || *passes > 1<<32-1 || *threads > 255 {
		return Config{}, errors.New("hash parameters out of range")
	}
	cfg.Password = password.Params{Memory: uint32(*memory), Time: uint32(*passes), Threads: uint8(*threads)}
	if err := cfg.Password.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parsePhases returns the selected phases in running order.
func parsePhases(s string) ([]string, error) {
	if s == "all" {
		return slices.Clone(AllPhases), nil
	}
	var picked []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(AllPhases, p) {
			return nil, fmt.Errorf("-phases: no phase %q (phases: all, %s)", p, strings.Join(AllPhases, ", "))
		}
		picked = append(picked, p)
	}
	var phases []string
	for _, p := range AllPhases {
		if slices.Contains(picked, p) {
			phases = append(phases, p)
		}
	}
	return phases, nil
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/httpapi"
)

// apiClient calls the RealWorld API.
type apiClient struct {
	base string // ends in /api
	http *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	tr := &http.Transport{
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     time.Minute,
	}
	return &apiClient{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// userDoc is the API's user document.
type userDoc struct {
	User struct {
		Username string  `json:"username"`
		Email    string  `json:"email,omitempty"`
		Password string  `json:"password,omitempty"`
		Token    string  `json:"token,omitempty"`
		Bio      *string `json:"bio,omitempty"`
	} `json:"user"`
}

// call sends a user document and decodes the answer, which must have the
// status want.
func (c *apiClient) call(ctx context.Context, method, path, token string, in userDoc, want int) (userDoc, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return userDoc{}, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return userDoc{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return userDoc{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return userDoc{}, err
	}
	if res.StatusCode != want {
		return userDoc{}, fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(data))
	}
	var out userDoc
	if err := json.Unmarshal(data, &out); err != nil {
		return userDoc{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return out, nil
}

// ownServer is a Conduit server the benchmark runs itself, as cmd/conduit
// would (every handler, strong consistency), on the work database.
type ownServer struct {
	run    *appRun
	server *http.Server
	served chan error
}

// startOwnServer migrates the work database and serves the API on a
// loopback port.
func (m *Main) startOwnServer(ctx context.Context) (*ownServer, string, error) {
	if err := m.srv.create(ctx, dbWork, ""); err != nil {
		return nil, "", err
	}
	pool, err := m.srv.pool(ctx, dbWork, appPoolConns)
	if err != nil {
		return nil, "", err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, "", err
	}
	logOut := io.Writer(m.Stderr)
	if m.Config.Quiet {
		logOut = io.Discard
	}
	run, err := newRun(ctx, pool, conduit.Config{Password: m.Config.Password, ClaimsKey: claimsKey, MasterKey: benchMasterKey,
		Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))}, conduit.ToolOptions{})
	if err != nil {
		return nil, "", err
	}
	app := run.app
	s := &ownServer{run: run, served: make(chan error, 1)}
	s.run.started = time.Now()
	if err := app.Start(ctx); err != nil {
		return nil, "", errors.Join(err, s.run.close())
	}
	tokens, err := httpapi.NewTokens([]byte(rand.Text()+rand.Text()), 0)
	if err != nil {
		return nil, "", errors.Join(err, s.run.close())
	}
	handler, err := httpapi.NewHandler(httpapi.Config{App: app, Tokens: tokens})
	if err != nil {
		return nil, "", errors.Join(err, s.run.close())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", errors.Join(err, s.run.close())
	}
	s.server = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.server.Serve(ln) }()
	return s, "http://" + ln.Addr().String() + "/api", nil
}

// close shuts the server down, then the application.
func (s *ownServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.server.Shutdown(ctx)
	if serveErr := <-s.served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, s.run.close())
}

// httpUser is a user registered through the API.
type httpUser struct {
	name, token string
}

// maxRenameErrors is how many renames may fail before a phase gives up.
const maxRenameErrors = 100

// profileGetCount is how many GETs of profiles, alone, measure the statements
// of one.
const profileGetCount = 200

// profileGets measures the statements of GET /api/profiles/:username
// alone, sent by the reader, so that the rename phase can take the
// reader's share out of its count.
func (m *Main) profileGets(ctx context.Context, probe *readProbe, sys system, users []httpUser, stats *statementCounter) (readsProfile, error) {
	if err := stats.reset(ctx); err != nil {
		return nil, fmt.Errorf("reset pg_stat_statements: %w", err)
	}
	for i := range profileGetCount {
		status, err := probe.get(ctx, "/profiles/"+url.PathEscape(users[i%len(users)].name))
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("GET /api/profiles/%s answered %d", users[i%len(users)].name, status)
		}
	}
	calls, err := stats.count(ctx, sys.db)
	if err != nil {
		return nil, err
	}
	return profileReads(calls, profileGetCount), nil
}

// crudPrefix starts the names of the CRUD baseline's phases.
const crudPrefix = "crud-"

// system is a server the HTTP phases drive.
type system struct {
	prefix string // of its phases' names: "" for Conduit, crudPrefix
	title  string // before its phases' titles
	db     string // the role of its database, whose statements are counted; "" if not the benchmark's
}

// runHTTP drives the registration and rename phases through the API, of
// the server at Config.URL or of one it starts, then through the CRUD
// baseline's on the same PostgreSQL server, and compares them; with the
// parallel registrations of a server it starts, it measures the password
// hash alone first. The other phases need control of the server's process
// and database.
func (m *Main) runHTTP(ctx context.Context) error {
	stats := &statementCounter{note: "statements not counted: the benchmark has no database of its own (-url without DATABASE_URL)"}
	if m.srv != nil {
		stats = startStatements(ctx, m.srv, m.srv.noStatements)
	}
	var skipped []string
	for _, p := range []string{PhaseWorkflow, PhaseRenameCold, PhaseRebuild} {
		if m.Config.Runs(p) {
			skipped = append(skipped, p)
		}
	}
	if len(skipped) > 0 {
		m.report.Notes = append(m.report.Notes, fmt.Sprintf("Skipped in -http mode (they need control of the server's handlers, process and database): %s.",
			strings.Join(skipped, ", ")))
	}
	switch {
	case !m.Config.Runs(PhaseRegisterPar):
	case m.Config.URL != "":
		m.report.Notes = append(m.report.Notes, "The password hash alone is measured only beside a server the benchmark runs itself "+
			"(-url: the server's hashing and machine are its own): skipped.")
	default:
		// Right before Conduit's registrations, which it is compared with.
		if err := m.phase(ctx, phaseHashAlone, m.hashAlone); err != nil {
			return err
		}
	}
	if err := m.runConduitHTTP(ctx, stats); err != nil {
		return err
	}
	switch {
	case !m.Config.CRUD:
	case m.srv == nil:
		m.report.Notes = append(m.report.Notes, "The CRUD baseline needs DATABASE_URL with -url: skipped.")
	default:
		crud, base, err := m.startCRUDServer(ctx)
		if err != nil {
			return fmt.Errorf("crud baseline: %w", err)
		}
		m.report.Mode += "; then the CRUD baseline (pgx, one statement per request) on the same PostgreSQL"
		err = m.httpPhases(ctx, base, system{prefix: crudPrefix, title: "CRUD baseline: ", db: dbCRUD}, stats)
		if err = errors.Join(err, crud.close()); err != nil {
			return err
		}
	}
	m.report.Comparison = compare(m.report)
	return nil
}

// runConduitHTTP runs the HTTP phases on the Conduit at Config.URL, or on
// one it serves itself.
func (m *Main) runConduitHTTP(ctx context.Context, stats *statementCounter) (err error) {
	base, sys := m.Config.URL, system{}
	if base == "" {
		var own *ownServer
		if own, base, err = m.startOwnServer(ctx); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, own.close()) }()
		m.report.Mode += "; the benchmark serves the API itself on a loopback port"
		sys.db = dbWork
	} else {
		m.report.Mode += "; server at " + base
	}
	return m.httpPhases(ctx, base, sys, stats)
}

// httpPhases runs the phases against the API at base.
func (m *Main) httpPhases(ctx context.Context, base string, sys system, stats *statementCounter) error {
	cfg := m.Config
	client := newAPIClient(base, cfg.Workers)
	defer client.http.CloseIdleConnections()
	// A run id keeps names unique on a server that outlives the run.
	run := strings.ToLower(rand.Text()[:6])
	if cfg.Runs(PhaseRegisterSeq) {
		err := m.phase(ctx, sys.prefix+PhaseRegisterSeq, func(ctx context.Context) error {
			_, err := m.httpRegister(ctx, client, sys, PhaseRegisterSeq, run+"-s", 1)
			return err
		})
		if err != nil {
			return err
		}
	}
	var users []httpUser
	if cfg.Runs(PhaseRegisterPar) || cfg.Runs(PhaseRenameWarm) {
		err := m.phase(ctx, sys.prefix+PhaseRegisterPar, func(ctx context.Context) error {
			var err error
			users, err = m.httpRegister(ctx, client, sys, PhaseRegisterPar, run+"-p", cfg.Workers)
			return err
		})
		if err != nil {
			return err
		}
	}
	if cfg.Runs(PhaseRenameWarm) {
		return m.phase(ctx, sys.prefix+"http-rename", func(ctx context.Context) error {
			return m.httpRenames(ctx, client, base, sys, users, stats)
		})
	}
	return nil
}

// httpRegister registers Config.Users users with POST /api/users, in
// contiguous chunks over workers.
func (m *Main) httpRegister(ctx context.Context, c *apiClient, sys system, phase, prefix string, workers int) ([]httpUser, error) {
	n := m.Config.Users
	title := sys.title + fmt.Sprintf("1  register %s users sequentially (POST /api/users)", thousands(n))
	if phase == PhaseRegisterPar {
		title = sys.title + fmt.Sprintf("2  register %s users in %d parallel chunks (POST /api/users)", thousands(n), workers)
	}
	users := make([]httpUser, n)
	bar := m.progress.start(title, n)
	start := time.Now()
	lat, err := runChunks(ctx, n, workers, bar, func(ctx context.Context, i int) error {
		var in userDoc
		in.User.Username = fmt.Sprintf("%s%05d", prefix, i)
		in.User.Email = in.User.Username + "@bench.example"
		in.User.Password = fmt.Sprintf("password-%d", i)
		out, err := c.call(ctx, http.MethodPost, "/users", "", in, http.StatusCreated)
		users[i] = httpUser{name: in.User.Username, token: out.User.Token}
		return err
	})
	wall := time.Since(start)
	bar.finish()
	if err != nil {
		return nil, err
	}
	m.add(PhaseResult{Phase: sys.prefix + phase, Title: title, Commands: n, Wall: wall, PerSecond: float64(n) / wall.Seconds(),
		Latency: &lat.latency, Tenths: lat.tenths})
	return users, nil
}

// httpRenames changes usernames Config.Renames times with PUT /api/user,
// each user's renames in order on one worker, while one more client reads
// profiles to see when the renames show (readProbe). A failed rename is
// counted, not fatal, up to maxRenameErrors. The statements the server
// ran in its database during the renames are counted when it is the
// benchmark's.
func (m *Main) httpRenames(ctx context.Context, c *apiClient, base string, sys system, users []httpUser, stats *statementCounter) error {
	cfg := m.Config
	n, total := len(users), cfg.Renames
	title := sys.title + fmt.Sprintf("3  %s renames (PUT /api/user), %d writers, 1 reader (GET /api/profiles/:username)", thousands(total), cfg.Workers)
	probe := newReadProbe(base, n)
	counted := sys.db != "" && stats.available()
	var perGet readsProfile
	if counted {
		var err error
		if perGet, err = m.profileGets(ctx, probe, sys, users, stats); err != nil {
			return err
		}
	}
	if err := stats.reset(ctx); err != nil {
		return fmt.Errorf("reset pg_stat_statements: %w", err)
	}
	readCtx, stopReading := context.WithCancel(ctx)
	read := make(chan struct{})
	go func() {
		defer close(read)
		probe.run(readCtx)
	}()
	var failed atomic.Int64
	bar := m.progress.start(title, total)
	start := time.Now()
	lat, err := runWorkers(ctx, cfg.Workers, func(ctx context.Context, worker int, do func(func() error) error) error {
		for round := 1; ; round++ {
			for u := worker; u < n; u += cfg.Workers {
				if (round-1)*n+u >= total {
					return nil
				}
				var in userDoc
				in.User.Username = fmt.Sprintf("%s-r%d", users[u].name, round)
				sent := probe.sent(u, round, in.User.Username)
				err := do(func() error {
					out, err := c.call(ctx, http.MethodPut, "/user", users[u].token, in, http.StatusOK)
					if err == nil && out.User.Username != in.User.Username {
						err = fmt.Errorf("PUT /api/user answered username %q, want %q", out.User.Username, in.User.Username)
					}
					return err
				})
				switch {
				case err == nil:
					sent.ack(probe)
				case ctx.Err() != nil:
					return ctx.Err()
				case failed.Add(1) > maxRenameErrors:
					return fmt.Errorf("more than %d renames failed, the last: %w", maxRenameErrors, err)
				default:
					m.Logger.Warn("rename failed", "error", err)
				}
				bar.add(1)
			}
		}
	})
	wall := time.Since(start)
	stopReading()
	<-read
	bar.finish()
	if err != nil {
		return err
	}
	readLag := probe.result()
	st := &Statements{Note: stats.note, Reads: readLag.Reads}
	switch {
	case counted:
		calls, err := stats.count(ctx, sys.db)
		if err != nil {
			return err
		}
		st = renameStatements(calls, total, readLag.Reads, perGet)
	case sys.db == "":
		st.Note = "statements not counted: the server's database is not the benchmark's"
	}
	r := PhaseResult{Phase: sys.prefix + "http-rename", Title: title, Commands: total, Wall: wall,
		PerSecond: float64(total) / wall.Seconds(), Latency: &lat.latency, Tenths: lat.tenths,
		Errors: int(failed.Load()), ReadLag: &readLag, Statements: st}
	if sys.prefix == "" {
		r.Notes = []string{"each PUT /api/user authenticates (JWT, one user read), dispatches UpdateUser with strong consistency " +
			"(its events, the new name's claim and the old one's release in one atomic append; answered once the users projection has them; " +
			"the author workflow and the blog projection follow), and answers from the aggregate's state"}
	} else {
		r.Notes = []string{"each PUT /api/user verifies the JWT and runs one UPDATE ... RETURNING (unique indexes on username and email); " +
			"each GET /api/profiles/:username one SELECT"}
	}
	m.add(r)
	return nil
}

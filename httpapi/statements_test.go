package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
)

// statements records the SQL statements sent on a pool: those sent with
// a request's context (its own round trips: reads, claims read back) and
// all of them (the event store's commits, subscriptions and projectors
// included, which run on contexts of their own).
type statements struct {
	mu  sync.Mutex
	all int
}

// requestStatements are the statements one request sent.
type requestStatements struct {
	mu  sync.Mutex
	sql []string
}

type requestStatementsKey struct{}

// uncountedKey marks the context of the test's own statements.
type uncountedKey struct{}

// checkpointPoll matches the statement of a strongly consistent dispatch
// that waits over 50 ms (actors' remoteGrace) and polls the handler's
// stored checkpoint: how many a request sends depends on the machine's
// load, not on the endpoint, so they are not counted as the request's.
const checkpointPoll = `SELECT stream_id, last_seen FROM "cohort".subscriptions WHERE name = $1`

func (s *statements) record(ctx context.Context, sql string) {
	if ctx.Value(uncountedKey{}) != nil {
		return
	}
	s.mu.Lock()
	s.all++
	s.mu.Unlock()
	sql = strings.Join(strings.Fields(sql), " ")
	if r, ok := ctx.Value(requestStatementsKey{}).(*requestStatements); ok && sql != checkpointPoll {
		r.mu.Lock()
		r.sql = append(r.sql, sql)
		r.mu.Unlock()
	}
}

func (s *statements) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

// TraceQueryStart implements pgx.QueryTracer.
func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.record(ctx, d.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (*statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (*statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer: each statement of a batch
// counts.
func (s *statements) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	s.record(ctx, d.SQL)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (*statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// newCountingAPI returns an API whose database statements are recorded,
// and a function that runs one request and returns the statements it sent
// with its context (but checkpointPoll), and how many statements were
// sent on the pool until the handlers had processed its events.
func newCountingAPI(t *testing.T) (*api, func(method, path, token string, body any) (response, []string, int)) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(conduittest.NewConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	stmts := &statements{}
	cfg.ConnConfig.Tracer = stmts
	db, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	var current *requestStatements
	var mu sync.Mutex
	a := newAPIOn(t, db, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			rs := current
			mu.Unlock()
			if rs != nil {
				r = r.WithContext(context.WithValue(r.Context(), requestStatementsKey{}, rs))
			}
			next.ServeHTTP(w, r)
		})
	})
	run := func(method, path, token string, body any) (response, []string, int) {
		t.Helper()
		rs := &requestStatements{}
		mu.Lock()
		current = rs
		mu.Unlock()
		before := stmts.total()
		res := a.do(method, path, token, body)
		mu.Lock()
		current = nil
		mu.Unlock()
		settle(t, a.app)
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return res, rs.sql, stmts.total() - before
	}
	return a, run
}

// settle waits until every handler has processed every stored event.
func settle(t *testing.T, app *conduit.App) {
	t.Helper()
	ctx := context.WithValue(t.Context(), uncountedKey{}, true)
	head, err := app.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range conduit.HandlerNames() {
		if err := app.Runtime().WaitFor(ctx, h, head); err != nil {
			t.Fatalf("wait for %s: %v", h, err)
		}
	}
}

// TestStatementsPerEndpoint: the statements each endpoint sends with the
// request's context. An authenticated request reads its user once, at
// authentication, and the handler and the use case take it from there; a
// write answers from the aggregate's state and the authenticated user,
// not from the read model, when the read model adds nothing to the
// answer. Each request is measured the second time it is made, so that
// the aggregates it writes to are loaded: what a cold aggregate costs is
// not the endpoint's.
func TestStatementsPerEndpoint(t *testing.T) {
	a, run := newCountingAPI(t)
	alice, bob := a.register("alice"), a.register("bob")
	a.publish(alice, "Seed")
	rename := 0
	cases := []struct {
		name         string
		method, path string
		token        string
		body         func() any
		status       int
		want         int
		// warm, if set, is the method of the request made first on the
		// path, so that the one measured changes what it did (unfollows
		// what the one measured follows, say); else the same request is
		// made twice.
		warm string
	}{
		// A registration reads who holds the username and the email (two
		// statements each) before it hashes, so that a taken value costs
		// no hash; the claims themselves are written with the user's events.
		// The new user's data key is created in one more statement.
		{name: "POST users", method: "POST", path: "/users", status: http.StatusCreated, want: 5,
			body: func() any {
				rename++
				name := "carol" + itoa(rename)
				return map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password"}}
			}},
		{name: "GET user", method: "GET", path: "/user", token: alice.token, status: http.StatusOK, want: 1},
		{name: "PUT user rename", method: "PUT", path: "/user", token: bob.token, status: http.StatusOK, want: 1,
			body: func() any {
				rename++
				return map[string]any{"user": map[string]any{"username": "bob" + itoa(rename)}}
			}},
		{name: "PUT user bio", method: "PUT", path: "/user", token: bob.token, status: http.StatusOK, want: 1,
			body: func() any {
				rename++
				return map[string]any{"user": map[string]any{"bio": "bio " + itoa(rename)}}
			}},
		{name: "GET profile anonymous", method: "GET", path: "/profiles/alice", status: http.StatusOK, want: 1},
		{name: "GET profile", method: "GET", path: "/profiles/alice", token: bob.token, status: http.StatusOK, want: 2},
		{name: "POST articles", method: "POST", path: "/articles", token: alice.token, status: http.StatusCreated, want: 2,
			body: func() any {
				rename++
				return map[string]any{"article": map[string]any{"title": "Title " + itoa(rename),
					"description": "d", "body": "b", "tagList": []string{"t"}}}
			}},
		{name: "POST follow", method: "POST", path: "/profiles/alice/follow", token: bob.token, status: http.StatusOK, want: 2,
			warm: "DELETE"},
		{name: "DELETE follow", method: "DELETE", path: "/profiles/alice/follow", token: bob.token, status: http.StatusOK, want: 2,
			warm: "POST"},
		// The favorites count comes from the read model: the article's
		// state holds every user who favorited it, too much to copy for
		// each answer.
		{name: "POST favorite", method: "POST", path: "/articles/seed/favorite", token: bob.token, status: http.StatusOK, want: 3,
			warm: "DELETE"},
		{name: "DELETE favorite", method: "DELETE", path: "/articles/seed/favorite", token: bob.token, status: http.StatusOK, want: 3,
			warm: "POST"},
		{name: "GET articles anonymous", method: "GET", path: "/articles", status: http.StatusOK, want: 2},
		{name: "GET articles", method: "GET", path: "/articles", token: bob.token, status: http.StatusOK, want: 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sql []string
			var all int
			for i := range 2 {
				var body any
				if c.body != nil {
					body = c.body()
				}
				method := c.method
				if i == 0 && c.warm != "" {
					method = c.warm
				}
				var res response
				res, sql, all = run(method, c.path, c.token, body)
				if res.status != c.status {
					t.Fatalf("%s %s: status %d, want %d: %s", method, c.path, res.status, c.status, res.raw)
				}
			}
			t.Logf("%s %s: %d statements with the request's context, %d on the pool until handled", c.method, c.path, len(sql), all)
			if len(sql) != c.want {
				t.Errorf("%s %s sent %d statements with its context, want %d:\n%s", c.method, c.path, len(sql), c.want,
					strings.Join(sql, "\n"))
			}
		})
	}
}

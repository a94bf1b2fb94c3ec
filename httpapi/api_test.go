package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/httpapi"
)

func TestMain(m *testing.M) {
	conduittest.RegisterTemplate()
	pgtest.Main(m)
}

var secret = []byte("0123456789abcdef0123456789abcdef")

// api is a running API on a fresh database.
type api struct {
	t      *testing.T
	app    *conduit.App
	url    string
	tokens *httpapi.Tokens
}

func newAPI(t *testing.T) *api {
	t.Helper()
	return newAPIWith(t, nil)
}

// newAPIWith is newAPI with the configuration changed by configure (if
// not nil).
func newAPIWith(t *testing.T, configure func(*httpapi.Config)) *api {
	t.Helper()
	return newAPIOn(t, conduittest.NewDatabase(t), configure, nil)
}

// newAPIOn is newAPIWith on db, its handler wrapped by wrap (if not nil).
func newAPIOn(t *testing.T, db *pgxpool.Pool, configure func(*httpapi.Config), wrap func(http.Handler) http.Handler) *api {
	t.Helper()
	app := conduittest.Start(t, db, nil)
	tokens, err := httpapi.NewTokens(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{App: app, Tokens: tokens, MaxBodyBytes: 64 << 10}
	if configure != nil {
		configure(&cfg)
	}
	h, err := httpapi.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // before the application closes: cleanups run last-in first-out
	return &api{t: t, app: app, url: srv.URL + "/api", tokens: tokens}
}

// tokenValue matches a token in a JSON document.
var tokenValue = regexp.MustCompile(`"token":"[A-Za-z0-9_.-]*"`)

// response is a decoded answer.
type response struct {
	status int
	raw    string
	doc    map[string]any
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
func (a *api) do(method, path, token string, body any) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	r := response{status: res.StatusCode, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.doc); err != nil {
			a.t.Fatalf("%s %s: %d, body is not JSON: %q", method, path, res.StatusCode, data)
		}
	}
	// A token is random base64: it may spell anything.
	scanned := tokenValue.ReplaceAllString(r.raw, `"token":""`)
	for _, leak := range []string{"$argon2", "SQLSTATE", "pgx", "goroutine ", "panic", "conduit:", "actors:", "eventstore:"} {
		if strings.Contains(scanned, leak) {
			a.t.Fatalf("%s %s: response leaks %q: %s", method, path, leak, r.raw)
		}
	}
	return r
}

// must asserts the status and returns the response.
func (a *api) must(status int, method, path, token string, body any) response {
	a.t.Helper()
	r := a.do(method, path, token, body)
	if r.status != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

type user struct{ name, token string }

func (a *api) register(name string) user {
	a.t.Helper()
	r := a.must(http.StatusCreated, "POST", "/users", "",
		map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password"}})
	return user{name: name, token: field[string](a.t, r.doc, "user", "token")}
}

func (a *api) publish(u user, title string, tags ...string) string {
	a.t.Helper()
	if tags == nil {
		tags = []string{}
	}
	r := a.must(http.StatusCreated, "POST", "/articles", u.token, map[string]any{"article": map[string]any{
		"title": title, "description": "about " + title, "body": "body of " + title, "tagList": tags}})
	return field[string](a.t, r.doc, "article", "slug")
}

// field digs a value out of a JSON document.
func field[T any](t *testing.T, doc any, path ...any) T {
	t.Helper()
	v := doc
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q in %v", path, k, doc)
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("%v: no element %d in %v", path, k, doc)
			}
			v = s[k]
		}
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%v: %#v is not a %T", path, v, out)
	}
	return out
}

// errorsOf returns the messages of an error field.
func errorsOf(t *testing.T, r response, f string) string {
	t.Helper()
	errs, ok := r.doc["errors"].(map[string]any)
	if !ok {
		t.Fatalf("no errors object: %s", r.raw)
	}
	msgs, _ := errs[f].([]any)
	return fmt.Sprint(msgs...)
}

// on returns a with failures reported to t (a subtest).
func (a *api) on(t *testing.T) *api {
	c := *a
	c.t = t
	return &c
}

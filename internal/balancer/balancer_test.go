package balancer_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/internal/balancer"
)

// node is a test backend: it answers every request with its name and the
// request's body, and /readyz with 200 unless told otherwise.
type node struct {
	name     string
	srv      *httptest.Server
	notReady atomic.Bool
	hangUp   atomic.Bool // close the connection without an answer
	served   atomic.Int64
}

func newNode(t *testing.T, name string) *node {
	t.Helper()
	n := &node{name: name}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if n.notReady.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		if n.hangUp.Load() {
			panic(http.ErrAbortHandler)
		}
		n.served.Add(1)
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, n.name+" "+r.Method+" "+string(body))
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) url() *url.URL { return mustURL(n.srv.URL) }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// refusedURL returns the URL of a port on which nothing listens.
func refusedURL(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return mustURL("http://" + addr)
}

// newBalancer returns a balancer over backends and the URL it serves on.
func newBalancer(t *testing.T, backends ...*url.URL) (*balancer.Balancer, string) {
	t.Helper()
	b, err := balancer.New(balancer.Config{Backends: backends, CheckTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv.URL
}

// send sends a request and returns the status and body.
func send(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRoundRobin: requests go to each backend in turn.
func TestRoundRobin(t *testing.T) {
	a, b, c := newNode(t, "a"), newNode(t, "b"), newNode(t, "c")
	_, lb := newBalancer(t, a.url(), b.url(), c.url())
	for range 9 {
		if status, body := send(t, http.MethodGet, lb+"/api/tags", ""); status != http.StatusOK {
			t.Fatalf("GET: %d %s", status, body)
		}
	}
	for _, n := range []*node{a, b, c} {
		if got := n.served.Load(); got != 3 {
			t.Errorf("%s served %d of 9 requests, want 3", n.name, got)
		}
	}
}

// TestSkipsNotReady: a backend whose readiness check fails gets no
// request until it passes again.
func TestSkipsNotReady(t *testing.T) {
	a, b := newNode(t, "a"), newNode(t, "b")
	bal, lb := newBalancer(t, a.url(), b.url())
	b.notReady.Store(true)
	bal.CheckAll(context.Background())
	if got := bal.Ready(); !slices.Equal(got, []bool{true, false}) {
		t.Fatalf("ready %v, want [true false]", got)
	}
	for range 4 {
		if status, body := send(t, http.MethodPost, lb+"/api/users", "x"); status != http.StatusOK || !strings.HasPrefix(body, "a ") {
			t.Fatalf("POST: %d %q, want a's answer", status, body)
		}
	}
	b.notReady.Store(false)
	bal.CheckAll(context.Background())
	for range 4 {
		send(t, http.MethodGet, lb+"/", "")
	}
	if got := b.served.Load(); got != 2 {
		t.Fatalf("b served %d of 4 requests once ready again, want 2", got)
	}
}

// TestRetries: a refused connection is tried on the next backend, with
// its body, whatever the method, and marks the backend not ready; a GET
// whose connection broke after it was sent is tried on the next backend,
// a POST is answered 502 (its effect is unknown).
func TestRetries(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		a := newNode(t, "a")
		bal, lb := newBalancer(t, refusedURL(t), a.url())
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodGet} {
			for range 2 {
				status, body := send(t, method, lb+"/api/user", `{"user":{}}`)
				if want := "a " + method + ` {"user":{}}`; status != http.StatusOK || body != want {
					t.Fatalf("%s: %d %q, want 200 %q", method, status, body, want)
				}
			}
		}
		st := bal.Stats()
		if st.Refused != 1 || st.Retried != 1 || st.Failed != 0 || st.Requests != 6 {
			t.Fatalf("stats %+v, want 6 requests, 1 refused and retried (then skipped), none failed", st)
		}
		if got := bal.Ready(); !slices.Equal(got, []bool{false, true}) {
			t.Fatalf("ready %v, want [false true]", got)
		}
	})
	t.Run("connection lost", func(t *testing.T) {
		a, b := newNode(t, "a"), newNode(t, "b")
		a.hangUp.Store(true)
		bal, lb := newBalancer(t, a.url(), b.url())
		for range 4 {
			if status, body := send(t, http.MethodGet, lb+"/api/tags", ""); status != http.StatusOK || !strings.HasPrefix(body, "b ") {
				t.Fatalf("GET: %d %q, want b's answer", status, body)
			}
		}
		var posts []int
		for range 4 {
			status, _ := send(t, http.MethodPost, lb+"/api/articles", "x")
			posts = append(posts, status)
		}
		if slices.Sort(posts); !slices.Equal(posts, []int{http.StatusOK, http.StatusOK, http.StatusBadGateway, http.StatusBadGateway}) {
			t.Fatalf("POSTs answered %v, want two 200 (b) and two 502 (a lost them)", posts)
		}
		if st := bal.Stats(); st.Failed != 2 || st.Refused != 0 {
			t.Fatalf("stats %+v, want 2 failed, none refused", st)
		}
	})
	t.Run("none left", func(t *testing.T) {
		bal, lb := newBalancer(t, refusedURL(t), refusedURL(t))
		if status, _ := send(t, http.MethodGet, lb+"/", ""); status != http.StatusServiceUnavailable {
			t.Fatalf("GET with every backend down: %d, want 503", status)
		}
		if st := bal.Stats(); st.Failed != 1 || st.Refused != 2 {
			t.Fatalf("stats %+v, want 1 failed, 2 refused", st)
		}
	})
}

// TestRunStops: Run checks at once, and returns once its context is done.
func TestRunStops(t *testing.T) {
	a := newNode(t, "a")
	a.notReady.Store(true)
	bal, _ := newBalancer(t, a.url())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		bal.Run(ctx)
	}()
	for deadline := time.Now().Add(30 * time.Second); bal.Ready()[0]; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first check did not mark the backend not ready within 30 s")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run still running 30 s after its context was cancelled")
	}
}

// TestValidate: backends must be base URLs.
func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		backends []*url.URL
		ok       bool
	}{
		{nil, false},
		{[]*url.URL{mustURL("http://127.0.0.1:8081")}, true},
		{[]*url.URL{mustURL("http://127.0.0.1:8081/")}, true},
		{[]*url.URL{mustURL("http://127.0.0.1:8081/api")}, false},
		{[]*url.URL{mustURL("localhost:8081")}, false},
		{[]*url.URL{mustURL("ftp://127.0.0.1:8081")}, false},
	} {
		if err := (balancer.Config{Backends: tt.backends}).Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%v) = %v, want ok %v", tt.backends, err, tt.ok)
		}
	}
}

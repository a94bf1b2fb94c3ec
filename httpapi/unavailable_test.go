package httpapi_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/httpapi"
)

// TestDatabaseUnavailableIs503: while PostgreSQL cannot be reached (its
// port refuses connections and open ones are cut, as during a restart),
// the API answers 503 with Retry-After, not 500, and the log says why.
func TestDatabaseUnavailableIs503(t *testing.T) {
	target, err := url.Parse(conduittest.NewConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, target.Host)
	viaProxy := *target
	viaProxy.Host = proxy.addr
	q := viaProxy.Query()
	q.Set("connect_timeout", "5")
	viaProxy.RawQuery = q.Encode()
	app := conduittest.Start(t, pgtest.NewPool(t, viaProxy.String()), nil)
	t.Cleanup(proxy.start) // before the application closes, so that it closes cleanly

	var log syncBuffer
	tokens, err := httpapi.NewTokens(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Config{App: app, Tokens: tokens, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &api{t: t, url: srv.URL + "/api", tokens: tokens}
	a.register("before")

	proxy.stop()
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/api/tags", ""},
		{"GET", "/api/articles", ""},
		{"GET", "/api/profiles/before", ""},
		{"POST", "/api/users/login", `{"user":{"email":"before@example.com","password":"password"}}`},
		{"POST", "/api/users", `{"user":{"username":"during","email":"during@example.com","password":"password"}}`},
	} {
		r, err := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s with PostgreSQL unreachable: %d, Retry-After %q, want 503 with Retry-After: %s",
				req.method, req.path, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
	}
	if !strings.Contains(log.String(), "connection refused") && !strings.Contains(log.String(), "connection lost") {
		t.Errorf("the log does not say that PostgreSQL was unreachable:\n%s", log.String())
	}
}

// proxy forwards TCP connections to a PostgreSQL server until stopped.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startProxy starts a proxy to target on a loopback port; it is stopped at
// t's cleanup.
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

// start listens again after stop, on the same address.
func (p *proxy) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Errorf("proxy: listen again: %v", err)
		return
	}
	p.serveLocked(ln)
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{c, up}, {up, c}} {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					_, _ = io.Copy(pair[0], pair[1])
					pair[0].Close()
					pair[1].Close()
				}()
			}
		}
	}()
}

// stop closes the listener (new connections are refused) and cuts every
// open connection, then waits for its goroutines.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		return
	}
	err := p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		p.t.Errorf("proxy: %v", err)
	}
	p.wg.Wait()
}

// syncBuffer is a buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/httpapi"
)

// from sends a request as the client at addr, through the trusted proxy
// on loopback.
func (a *api) from(addr, method, path string, body any) (response, http.Header) {
	a.t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	if body == nil {
		data = nil
	}
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(data))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	r := response{status: res.StatusCode, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.doc); err != nil {
			a.t.Fatalf("%s %s: %d, body is not JSON: %q", method, path, res.StatusCode, raw)
		}
	}
	return r, res.Header
}

func loginBody(email, password string) map[string]any {
	return map[string]any{"user": map[string]any{"email": email, "password": password}}
}

// wantLimited asserts a 429 with a Retry-After and RealWorld's error body.
func wantLimited(t *testing.T, r response, h http.Header) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.status, r.raw)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want a number of seconds", h.Get("Retry-After"))
	}
	if errorsOf(t, r, "body") == "" {
		t.Fatalf("no error message: %s", r.raw)
	}
}

// behindProxy trusts the loopback proxy's X-Forwarded-For.
func behindProxy(cfg *httpapi.Config) {
	cfg.Limits.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}

// TestLoginLimits: with the default limits, a thousand wrong passwords for
// one account are refused with 429 after a handful, and so are wrong
// passwords for many accounts from one address; the account's owner still
// logs in from elsewhere; bulk registrations and correct logins from one
// address pass.
func TestLoginLimits(t *testing.T) {
	a := newAPIWith(t, behindProxy)
	a.register("jake")

	const attacker = "203.0.113.7"
	failed, limited := 0, 0
	for i := range 1000 {
		r, h := a.from(attacker, "POST", "/users/login", loginBody("jake@example.com", fmt.Sprint("guess-", i)))
		switch r.status {
		case http.StatusUnauthorized:
			if limited > 0 {
				t.Fatalf("attempt %d: 401 after a 429: the limit must not reopen within the test", i)
			}
			failed++
		case http.StatusTooManyRequests:
			wantLimited(t, r, h)
			limited++
		default:
			t.Fatalf("attempt %d: status %d: %s", i, r.status, r.raw)
		}
	}
	if failed == 0 || failed > 20 {
		t.Fatalf("%d wrong passwords were checked before the limit, want a handful", failed)
	}
	t.Logf("%d wrong passwords checked, %d refused", failed, limited)

	// The owner, elsewhere, still logs in.
	r, _ := a.from("198.51.100.1", "POST", "/users/login", loginBody("jake@example.com", "password"))
	if r.status != http.StatusOK {
		t.Fatalf("the owner's login from another address: status %d: %s", r.status, r.raw)
	}

	// Credential stuffing: one address, many accounts.
	const stuffer = "203.0.113.8"
	for i := range 100 {
		r, h := a.from(stuffer, "POST", "/users/login", loginBody(fmt.Sprintf("victim%d@example.com", i), "password"))
		if r.status == http.StatusTooManyRequests {
			wantLimited(t, r, h)
			if i < 3 {
				t.Fatalf("limited after %d attempts", i)
			}
			break
		}
		if r.status != http.StatusUnauthorized || i == 99 {
			t.Fatalf("attempt %d on another account: status %d, want 401 then 429: %s", i, r.status, r.raw)
		}
	}

	// Bulk legitimate traffic from one address: 10 workers register and
	// log in, each user several times.
	const office, workers, perWorker = "192.0.2.1", 10, 10
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				name := fmt.Sprintf("bulk%d_%d", w, i)
				r, _ := a.on(t).from(office, "POST", "/users", map[string]any{"user": map[string]any{
					"username": name, "email": name + "@example.com", "password": "password"}})
				if r.status != http.StatusCreated {
					errs <- fmt.Sprintf("register %s: %d %s", name, r.status, r.raw)
					return
				}
				for range 3 {
					if r, _ := a.on(t).from(office, "POST", "/users/login", loginBody(name+"@example.com", "password")); r.status != http.StatusOK {
						errs <- fmt.Sprintf("login %s: %d %s", name, r.status, r.raw)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestRequestLimit: with a per-address request rate, an address's
// requests beyond the burst are refused with 429; other addresses are
// served.
func TestRequestLimit(t *testing.T) {
	a := newAPIWith(t, func(cfg *httpapi.Config) {
		behindProxy(cfg)
		cfg.Limits.RequestsPerSecond, cfg.Limits.RequestBurst = 0.001, 5 // no token back within the test
	})
	for i := range 5 {
		if r, _ := a.from("203.0.113.9", "GET", "/tags", nil); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: status %d: %s", i, r.status, r.raw)
		}
	}
	r, h := a.from("203.0.113.9", "GET", "/tags", nil)
	wantLimited(t, r, h)
	if r, _ := a.from("203.0.113.10", "GET", "/tags", nil); r.status != http.StatusOK {
		t.Fatalf("another address: status %d: %s", r.status, r.raw)
	}
}

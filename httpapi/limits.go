package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/ratelimit"
)

// Default limits on failed logins: a handful of failures per client
// address, a few more per account (so that one address guessing an
// account's password does not lock its owner out), one failure forgiven
// per key every 30 seconds. Correct logins cost nothing.
const (
	DefaultLoginFailuresPerAddress = 10
	DefaultLoginFailuresPerAccount = 20
	DefaultLoginFailureDecay       = 30 * time.Second
)

// Limits bounds what clients can cost the API. The zero value means the
// defaults: failed logins limited, requests not.
type Limits struct {
	// LoginFailuresPerAddress and LoginFailuresPerAccount are how many
	// failed logins a client address and an account (an email, registered
	// or not) may have in a burst before further logins are refused with
	// 429 (defaults DefaultLoginFailuresPerAddress and
	// DefaultLoginFailuresPerAccount; negative: no limit).
	LoginFailuresPerAddress int
	LoginFailuresPerAccount int
	// LoginFailureDecay is how long it takes to forgive one failed login
	// of an address or an account (default DefaultLoginFailureDecay).
	LoginFailureDecay time.Duration
	// RequestsPerSecond limits each client address's requests (0, the
	// default: no limit), in bursts of RequestBurst (default two seconds'
	// worth, at least 1).
	RequestsPerSecond float64
	RequestBurst      int
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header names the client. A request from any other
	// address is the client's own, whatever its headers say.
	TrustedProxies []netip.Prefix
	// MaxKeys bounds the addresses and accounts each limit remembers
	// (default ratelimit.DefaultMaxKeys).
	MaxKeys int
}

func (l Limits) withDefaults() Limits {
	if l.LoginFailuresPerAddress == 0 {
		l.LoginFailuresPerAddress = DefaultLoginFailuresPerAddress
	}
	if l.LoginFailuresPerAccount == 0 {
		l.LoginFailuresPerAccount = DefaultLoginFailuresPerAccount
	}
	if l.LoginFailureDecay == 0 {
		l.LoginFailureDecay = DefaultLoginFailureDecay
	}
	if l.RequestsPerSecond > 0 && l.RequestBurst == 0 {
		l.RequestBurst = max(1, int(math.Ceil(2*l.RequestsPerSecond)))
	}
	return l
}

// Validate checks the limits.
func (l Limits) Validate() error {
	switch {
	case l.LoginFailureDecay < 0:
		return fmt.Errorf("httpapi: Limits.LoginFailureDecay %v is negative", l.LoginFailureDecay)
	case l.RequestsPerSecond < 0 || math.IsNaN(l.RequestsPerSecond) || math.IsInf(l.RequestsPerSecond, 0):
		return fmt.Errorf("httpapi: Limits.RequestsPerSecond %v, want 0 (no limit) or a positive rate", l.RequestsPerSecond)
	case l.RequestBurst < 0:
		return fmt.Errorf("httpapi: Limits.RequestBurst %d is negative", l.RequestBurst)
	case l.MaxKeys < 0:
		return fmt.Errorf("httpapi: Limits.MaxKeys %d is negative", l.MaxKeys)
	}
	return nil
}

// limits are the API's limiters; a nil limiter limits nothing.
type limits struct {
	loginsByAddress, loginsByAccount, requests *ratelimit.Limiter
	trusted                                    []netip.Prefix
}

// newLimits returns the limiters of l.
func newLimits(l Limits) (*limits, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	l = l.withDefaults()
	lim := &limits{trusted: l.TrustedProxies}
	limiter := func(burst int, every time.Duration) (*ratelimit.Limiter, error) {
		if burst < 0 {
			return nil, nil
		}
		return ratelimit.New(ratelimit.Config{Burst: burst, Every: every, MaxKeys: l.MaxKeys})
	}
	var err error
	if lim.loginsByAddress, err = limiter(l.LoginFailuresPerAddress, l.LoginFailureDecay); err != nil {
		return nil, err
	}
	if lim.loginsByAccount, err = limiter(l.LoginFailuresPerAccount, l.LoginFailureDecay); err != nil {
		return nil, err
	}
	if l.RequestsPerSecond > 0 {
		every := max(time.Duration(float64(time.Second)/l.RequestsPerSecond), 1)
		if lim.requests, err = limiter(l.RequestBurst, every); err != nil {
			return nil, err
		}
	}
	return lim, nil
}

// take spends a token of key from l, if l limits anything.
func take(l *ratelimit.Limiter, key string) error {
	if l == nil {
		return nil
	}
	return l.Take(key)
}

// giveBack returns a token of key to l, if l limits anything.
func giveBack(l *ratelimit.Limiter, key string) {
	if l != nil {
		l.GiveBack(key)
	}
}

// admitLogin spends a failed login of the client's address and of the
// account before the password is checked, or refuses with a
// *ratelimit.LimitedError. Call the returned function with the login's
// outcome: only a wrong password keeps what was spent.
func (l *limits) admitLogin(r *http.Request, email string) (done func(error), err error) {
	addr, account := l.client(r), conduit.EmailKey(strings.TrimSpace(email))
	if err := take(l.loginsByAddress, addr); err != nil {
		return nil, err
	}
	if err := take(l.loginsByAccount, account); err != nil {
		giveBack(l.loginsByAddress, addr)
		return nil, err
	}
	return func(err error) {
		if !errors.Is(err, conduit.ErrInvalidCredentials) {
			giveBack(l.loginsByAddress, addr)
			giveBack(l.loginsByAccount, account)
		}
	}, nil
}

// limitRequests refuses a client address's requests beyond
// Limits.RequestsPerSecond with 429.
func (s *server) limitRequests(next http.Handler) http.Handler {
	if s.limits.requests == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.limits.requests.Take(s.limits.client(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// client returns the key of the request's client address: the peer's
// address, or, from a trusted proxy, the nearest address in
// X-Forwarded-For that is not a trusted proxy. IPv6 addresses count by
// their /64, which one client usually has whole.
func (l *limits) client(r *http.Request) string {
	addr := peer(r.RemoteAddr)
	if addr.IsValid() && l.isTrusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: the last good one is the client
			}
			addr = hop.Unmap()
			if !l.isTrusted(addr) {
				break
			}
		}
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// peer parses the address of RemoteAddr ("host:port").
func peer(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

func (l *limits) isTrusted(addr netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// retryAfter sets the Retry-After header to d in whole seconds, at least 1.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(max(1, int64(math.Ceil(d.Seconds())))))
}

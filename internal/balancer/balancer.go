package balancer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultCheckInterval = time.Second
	DefaultCheckTimeout  = time.Second
	DefaultCheckPath     = "/readyz"
)

// Config configures a Balancer.
type Config struct {
	// Backends are the base URLs of the nodes (http://host:port, no
	// path). At least one is required.
	Backends []*url.URL
	// CheckInterval is how often each backend's readiness is checked
	// (default DefaultCheckInterval); CheckTimeout bounds one check
	// (default DefaultCheckTimeout); CheckPath is the readiness endpoint
	// (default DefaultCheckPath), which answers 200 when ready.
	CheckInterval, CheckTimeout time.Duration
	CheckPath                   string
	// Logger receives the backends' changes of readiness and the
	// requests that failed; default discards them.
	Logger *slog.Logger
	// Transport carries the proxied requests and the checks; default a
	// transport of its own with a five-second dial timeout.
	Transport http.RoundTripper
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if len(c.Backends) == 0 {
		return errors.New("balancer: no backend")
	}
	for _, u := range c.Backends {
		if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("balancer: backend %v: want http://host:port", u)
		}
	}
	if c.CheckInterval < 0 || c.CheckTimeout < 0 {
		return errors.New("balancer: negative check interval or timeout")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	if c.CheckPath == "" {
		c.CheckPath = DefaultCheckPath
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Transport == nil {
		c.Transport = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	return c
}

// backend is one node and what the balancer believes of it.
type backend struct {
	url   *url.URL
	ready atomic.Bool
}

// Balancer is an http.Handler that spreads requests over the backends.
// Run checks their readiness.
type Balancer struct {
	cfg      Config
	backends []*backend
	next     atomic.Uint64 // round-robin position
	proxy    *httputil.ReverseProxy
	stats    struct{ requests, retried, refused, failed atomic.Int64 }
}

// Stats counts what a Balancer did.
type Stats struct {
	// Requests: requests received.
	Requests int64
	// Retried: requests sent again to another backend after a
	// connection-level failure (Refused ones included).
	Retried int64
	// Refused: connections to a backend that could not be made.
	Refused int64
	// Failed: requests the balancer answered itself, with 502 (failed
	// after it was sent, and not retried) or 503 (no backend left to try),
	// while their client waited.
	Failed int64
}

// New returns a balancer over cfg.Backends, all believed ready until
// checked.
func New(cfg Config) (*Balancer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Balancer{cfg: cfg.withDefaults()}
	for _, u := range cfg.Backends {
		be := &backend{url: u}
		be.ready.Store(true)
		b.backends = append(b.backends, be)
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
		},
		Transport:    roundTripper{b},
		ErrorHandler: b.proxyError,
		ErrorLog:     slog.NewLogLogger(b.cfg.Logger.Handler(), slog.LevelWarn),
	}
	return b, nil
}

// ServeHTTP proxies r to a backend.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.stats.requests.Add(1)
	b.proxy.ServeHTTP(w, r)
}

// Stats returns the counts so far.
func (b *Balancer) Stats() Stats {
	return Stats{Requests: b.stats.requests.Load(), Retried: b.stats.retried.Load(),
		Refused: b.stats.refused.Load(), Failed: b.stats.failed.Load()}
}

// Ready reports, for each backend in the order of Config.Backends,
// whether the balancer believes it ready.
func (b *Balancer) Ready() []bool {
	r := make([]bool, len(b.backends))
	for i, be := range b.backends {
		r[i] = be.ready.Load()
	}
	return r
}

// errNoBackend: every backend was tried, or none was ready.
var errNoBackend = errors.New("balancer: no backend could take the request")

// proxyError answers a request that no backend answered.
func (b *Balancer) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		w.WriteHeader(http.StatusBadGateway) // no one reads it: the client went away
		return
	}
	b.stats.failed.Add(1)
	status := http.StatusBadGateway
	if errors.Is(err, errNoBackend) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	b.cfg.Logger.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	w.WriteHeader(status)
}

// candidates returns the backends to try, in order: the ready ones from
// the round-robin position on, or, when none is ready (the checks may be
// behind), all of them.
func (b *Balancer) candidates() []*backend {
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	var ready, all []*backend
	for i := range n {
		be := b.backends[(start+i)%n]
		all = append(all, be)
		if be.ready.Load() {
			ready = append(ready, be)
		}
	}
	if len(ready) == 0 {
		return all
	}
	return ready
}

// roundTripper sends the proxy's requests to the backends, trying the
// next after a connection-level failure that allows it.
type roundTripper struct{ b *Balancer }

func (rt roundTripper) RoundTrip(out *http.Request) (*http.Response, error) {
	b := rt.b
	var body io.ReadCloser
	if out.Body != nil && out.Body != http.NoBody {
		// Every attempt gets the same body; the transport's Close after a
		// failed attempt must not close it for the next one.
		body = out.Body
		defer body.Close()
	}
	var errs []error
	for i, be := range b.candidates() {
		if i > 0 {
			if out.Context().Err() != nil {
				break // the client went away
			}
			b.stats.retried.Add(1)
		}
		att := out.Clone(out.Context())
		att.URL.Scheme, att.URL.Host = be.url.Scheme, be.url.Host
		att.Host = ""
		if body != nil {
			att.Body = io.NopCloser(body)
		}
		res, err := b.cfg.Transport.RoundTrip(att)
		if err == nil {
			return res, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", be.url.Host, err))
		switch {
		case notSent(err):
			b.stats.refused.Add(1)
			b.markDown(be, err)
		case (out.Method == http.MethodGet || out.Method == http.MethodHead) && body == nil:
			// Sent, but safe to send again.
		default:
			return nil, errors.Join(errs...)
		}
	}
	return nil, errors.Join(append(errs, errNoBackend)...)
}

// notSent reports whether err means that no connection could be made, so
// the request never reached the backend.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// markDown marks be not ready until its next passing check.
func (b *Balancer) markDown(be *backend, err error) {
	if be.ready.Swap(false) {
		b.cfg.Logger.Info("backend not ready", "backend", be.url.String(), "err", err)
	}
}

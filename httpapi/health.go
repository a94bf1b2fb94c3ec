package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// DefaultReadyTimeout bounds the readiness checks of one GET /readyz when
// Config.ReadyTimeout is zero: short, so that a balancer probing every
// second or two learns of a database that stopped answering at its next
// probe.
const DefaultReadyTimeout = time.Second

// Check is one condition of a node's readiness to take requests, checked
// by every GET /readyz.
type Check struct {
	// Name names the condition in /readyz's answer when it fails
	// ("serving", "store").
	Name string
	// Probe returns nil when the condition holds, an error saying why not
	// otherwise. It must return once ctx is done.
	Probe func(ctx context.Context) error
}

// probes answers GET (and HEAD) /healthz and /readyz, and hands every
// other request to the API. They are answered before the API's
// middleware: a balancer polling them needs no token, is not rate
// limited, and does not fill the request log. (Not an http.ServeMux,
// which would clean the API's paths.)
type probes struct {
	api     http.Handler
	checks  []Check
	timeout time.Duration
	log     *slog.Logger
}

// withProbes returns api with the probes in front of it.
func withProbes(api http.Handler, checks []Check, timeout time.Duration, log *slog.Logger) http.Handler {
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	return &probes{api: api, checks: checks, timeout: timeout, log: log}
}

func (p *probes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.api.ServeHTTP(w, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		writeProbe(w, http.StatusOK, probeAnswer{Status: "alive"})
	case "/readyz":
		p.ready(w, r)
	default:
		p.api.ServeHTTP(w, r)
	}
}

// ready runs the checks, within the timeout, and answers 200 when all
// hold, 503 naming those that failed otherwise.
func (p *probes) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	var failing []string
	var errs []error
	for _, c := range p.checks {
		if err := c.Probe(ctx); err != nil {
			failing = append(failing, c.Name)
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	if len(failing) > 0 {
		p.log.InfoContext(r.Context(), "not ready", "failing", failing, "err", errors.Join(errs...))
		writeProbe(w, http.StatusServiceUnavailable, probeAnswer{Status: "not ready", Failing: failing})
		return
	}
	writeProbe(w, http.StatusOK, probeAnswer{Status: "ready"})
}

// probeAnswer is the body of a probe's answer. Failing names the failing
// checks only: their errors, which may name hosts and addresses, go to
// the log.
type probeAnswer struct {
	Status  string   `json:"status"`
	Failing []string `json:"failing,omitempty"`
}

// writeProbe writes a probe's answer, which no cache may keep.
func writeProbe(w http.ResponseWriter, status int, a probeAnswer) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeJSON(w, status, a)
}

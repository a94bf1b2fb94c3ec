package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cohort-dev/cohort/httpapi"
)

// phase is where a Main is in its life, which decides its readiness.
type phase int32

const (
	// phaseStarting: Run has not returned yet; not ready.
	phaseStarting phase = iota
	// phaseServing: the API serves; ready if the other checks hold.
	phaseServing
	// phaseDraining: shutting down (Drain); the API still serves but
	// answers GET /readyz with 503, so that load balancers move away.
	phaseDraining
	// phaseStopping: Close has begun; not ready.
	phaseStopping
)

func (p phase) String() string {
	switch p {
	case phaseStarting:
		return "starting"
	case phaseServing:
		return "serving"
	case phaseDraining:
		return "draining"
	case phaseStopping:
		return "stopping"
	}
	return fmt.Sprintf("phase(%d)", int32(p))
}

// errNotServing: the node is starting, draining or stopping.
var errNotServing = errors.New("not serving")

// storePingTimeout bounds the readiness check of the database, within
// the probe's own timeout.
const storePingTimeout = 800 * time.Millisecond

// readyChecks returns the conditions of the node's readiness, checked by
// every GET /readyz: it serves (not draining), and its database answers
// a ping, and with -cluster the membership has not expelled it.
func (m *Main) readyChecks() []httpapi.Check {
	checks := []httpapi.Check{
		{Name: "serving", Probe: func(context.Context) error {
			if p := m.phaseNow(); p != phaseServing {
				return fmt.Errorf("%w: %v", errNotServing, p)
			}
			return nil
		}},
		{Name: "store", Probe: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, storePingTimeout)
			defer cancel()
			return m.pool.Ping(ctx)
		}},
	}
	if m.members != nil {
		checks = append(checks, m.clusterCheck())
	}
	return checks
}

// phaseNow returns the current phase.
func (m *Main) phaseNow() phase { return phase(m.phase.Load()) }

// Drain turns the node not ready (GET /readyz answers 503) while its API
// keeps serving, so that load balancers stop sending it requests before
// Close; from now on each response closes its connection
// (closingWhileDraining), so that the clients' next requests open new
// ones, through the balancer to another node. It does nothing unless the
// node serves.
func (m *Main) Drain() {
	m.phase.CompareAndSwap(int32(phaseServing), int32(phaseDraining))
}

// closingWhileDraining answers with "Connection: close" while the node
// drains, so that each connection closes after its response. Idle
// connections are left alone until the drain ends: closing them at once
// (http.Server.SetKeepAlivesEnabled(false) does) races with a request a
// balancer is sending on one, which then fails with EOF, and a POST is not
// retried (TestRollingRestartCluster saw one such 502).
func (m *Main) closingWhileDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.phaseNow() == phaseDraining {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

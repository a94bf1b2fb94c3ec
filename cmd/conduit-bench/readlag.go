package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// readGiveUp is how long the reader looks for a rename before it counts it
// as never shown.
const readGiveUp = 10 * time.Second

// ReadLag is how soon a client reading profiles saw renames: the reader
// takes the latest rename sent, polls GET /api/profiles/{new name} until
// it answers 200, then takes the latest rename sent by then. Durations are
// in nanoseconds in JSON.
type ReadLag struct {
	// Samples are the renames the reader saw; P50, P99 and Max their lag,
	// from the PUT's sending until the answer of the first GET that showed
	// the new name.
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	// Reads is the number of GETs sent.
	Reads int64 `json:"reads"`
	// StaleAfterAck counts samples a GET sent after the PUT's answer did
	// not show: read-after-write broken.
	StaleAfterAck int `json:"stale_after_ack"`
	// Superseded counts samples renamed again before the reader saw them;
	// NeverShown those not shown within readGiveUp.
	Superseded int `json:"superseded"`
	NeverShown int `json:"never_shown"`
	// Errors counts GETs answered neither 200 nor 404, or not at all.
	Errors int `json:"errors"`
}

// sentRename is a rename a writer sent, as the reader samples it.
type sentRename struct {
	user, round int
	name        string
	sent        time.Duration // since the probe's start
	acked       atomic.Int64  // when answered, since the probe's start; 0 before
}

// ack notes that the rename was answered with success.
func (r *sentRename) ack(p *readProbe) { r.acked.Store(int64(max(p.since(), 1))) }

// readProbe is the client that keeps reading profiles while the writers
// rename. Writers call sent before each PUT and ack after a success; run
// is the reader, whose goroutine its caller owns.
type readProbe struct {
	base   string
	http   *http.Client
	start  time.Time
	rounds []atomic.Int64 // per user: the round of the last rename sent
	latest atomic.Pointer[sentRename]
	reads  atomic.Int64

	// Owned by run.
	lags                                     []time.Duration
	stale, superseded, neverShown, getErrors int
}

func newReadProbe(base string, users int) *readProbe {
	return &readProbe{base: base, http: newAPIClient(base, 1).http, start: time.Now(), rounds: make([]atomic.Int64, users)}
}

func (p *readProbe) since() time.Duration { return time.Since(p.start) }

// sent notes that round's rename of user to name is about to be sent.
func (p *readProbe) sent(user, round int, name string) *sentRename {
	p.rounds[user].Store(int64(round))
	r := &sentRename{user: user, round: round, name: name, sent: p.since()}
	p.latest.Store(r)
	return r
}

// run samples renames until ctx is done.
func (p *readProbe) run(ctx context.Context) {
	defer p.http.CloseIdleConnections()
	var last *sentRename
	for ctx.Err() == nil {
		r := p.latest.Load()
		if r == nil || r == last {
			sleep(ctx, time.Millisecond)
			continue
		}
		last = r
		p.sample(ctx, r)
	}
}

// sample polls the profile of r's new name until it shows, the user is
// renamed again, or readGiveUp passed.
func (p *readProbe) sample(ctx context.Context, r *sentRename) {
	stale := false
	defer func() {
		if stale {
			p.stale++
		}
	}()
	for ctx.Err() == nil {
		round := p.rounds[r.user].Load()
		begin := p.since()
		status, err := p.get(ctx, "/profiles/"+url.PathEscape(r.name))
		p.reads.Add(1)
		switch {
		case ctx.Err() != nil:
			return // the phase ended: the sample is abandoned
		case err != nil || (status != http.StatusOK && status != http.StatusNotFound):
			p.getErrors++
			return
		case status == http.StatusOK:
			p.lags = append(p.lags, p.since()-r.sent)
			return
		case round > int64(r.round):
			p.superseded++
			return
		}
		if a := r.acked.Load(); a != 0 && time.Duration(a) < begin {
			stale = true
		}
		if p.since()-r.sent > readGiveUp {
			p.neverShown++
			return
		}
	}
}

// get sends GET path and returns the answer's status.
func (p *readProbe) get(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return 0, err
	}
	res, err := p.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// result summarizes what run saw; call it after run returned.
func (p *readProbe) result() ReadLag {
	pc := percentiles(p.lags)
	return ReadLag{Samples: len(p.lags), P50: pc.P50, P99: pc.P99, Max: pc.Max, Reads: p.reads.Load(),
		StaleAfterAck: p.stale, Superseded: p.superseded, NeverShown: p.neverShown, Errors: p.getErrors}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

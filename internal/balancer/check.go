package balancer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Run checks every backend's readiness at once and then every
// CheckInterval, until ctx is done.
func (b *Balancer) Run(ctx context.Context) {
	t := time.NewTicker(b.cfg.CheckInterval)
	defer t.Stop()
	for {
		b.CheckAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckAll checks every backend's readiness once, concurrently, and
// returns when every check has finished.
func (b *Balancer) CheckAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, be := range b.backends {
		wg.Go(func() {
			err := b.check(ctx, be)
			if ctx.Err() != nil {
				return // stopping: the answer says nothing of the backend
			}
			if err != nil {
				b.markDown(be, err)
			} else if !be.ready.Swap(true) {
				b.cfg.Logger.Info("backend ready", "backend", be.url.String())
			}
		})
	}
	wg.Wait()
}

// check asks be whether it is ready.
func (b *Balancer) check(ctx context.Context, be *backend) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, be.url.JoinPath(b.cfg.CheckPath).String(), nil)
	if err != nil {
		return err
	}
	res, err := b.cfg.Transport.RoundTrip(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", b.cfg.CheckPath, res.Status)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cohort-dev/cohort/conduit/password"
)

// phaseHashAlone is the name of the measurement of the password hash
// alone, for the -timeout and -cpuprofile of -http.
const phaseHashAlone = "hash-alone"

// HashRate is the password hash alone, at the registrations' parameters
// and from as many workers as register, in the benchmark's process: what a
// registration costs before anything else a server does with it.
type HashRate struct {
	Hashes  int           `json:"hashes"`
	Workers int           `json:"workers"`
	Wall    time.Duration `json:"wall_ns"`
	// PerSecond is Hashes / Wall.
	PerSecond float64 `json:"per_second"`
}

// hashAlone hashes Config.Users passwords with Config.Password from
// Config.Workers workers through a password.Hasher, which runs at most a
// hash per CPU at once as Conduit's and the CRUD baseline's do, and
// records the rate in the report.
func (m *Main) hashAlone(ctx context.Context) error {
	n, workers := m.Config.Users, m.Config.Workers
	hasher, err := password.NewHasher(m.Config.Password)
	if err != nil {
		return err
	}
	bar := m.progress.start(fmt.Sprintf("   password hashes alone: %s from %d workers", thousands(n), workers), n)
	start := time.Now()
	_, err = runChunks(ctx, n, workers, bar, func(ctx context.Context, i int) error {
		_, err := hasher.Hash(ctx, fmt.Sprintf("password-%d", i))
		return err
	})
	wall := time.Since(start)
	bar.finish()
	if err != nil {
		return err
	}
	m.report.Hashes = &HashRate{Hashes: n, Workers: workers, Wall: wall, PerSecond: float64(n) / wall.Seconds()}
	return nil
}

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/internal/pglocal"
)

// databaseName is the database Conduit uses on its local cluster.
const databaseName = "conduit"

// rootClusterBase holds the clusters of data directories that the server
// user cannot reach when the command runs as root.
const rootClusterBase = "/var/lib/cohort"

// startLocalDatabase starts (initializing on first use) the PostgreSQL
// cluster of dataDir, creates Conduit's database if needed, and returns
// its connection string. The cluster lives in dataDir/postgres unless the
// command runs as root and the server user cannot reach that directory
// (for example under /root), in which case it lives under
// /var/lib/cohort.
func (m *Main) startLocalDatabase(ctx context.Context, dataDir string) (string, error) {
	passPath := filepath.Join(dataDir, "postgres-password")
	if !hasSecret(passPath) && clusterExists(dataDir) {
		return "", fmt.Errorf("%s is missing or empty but the local PostgreSQL cluster of %s exists: its superuser password is lost; restore the file, or move the cluster away to start afresh", passPath, dataDir)
	}
	pass, err := secretFile(passPath, 24)
	if err != nil {
		return "", err
	}
	cfg := pglocal.Config{DataDir: filepath.Join(dataDir, "postgres"), Password: pass,
		BinDir: m.Config.PostgresBinDir, Logger: m.Logger}
	m.cluster, err = pglocal.Start(ctx, cfg)
	var dirErr *pglocal.DataDirError
	if errors.As(err, &dirErr) && dirErr.Dir != dirErr.DataDir {
		cfg.DataDir = fallbackClusterDir(dataDir)
		m.Logger.Warn("the PostgreSQL server user cannot reach the data directory; keeping the cluster elsewhere",
			"data_dir", dataDir, "blocked_by", dirErr.Dir, "cluster_dir", cfg.DataDir)
		m.cluster, err = pglocal.Start(ctx, cfg)
	}
	if err != nil { // ErrBinariesNotFound says how to install them or to set DATABASE_URL
		return "", err
	}
	m.Logger.Info("local PostgreSQL", "cluster_dir", m.cluster.DataDir(), "port", m.cluster.Port(), "log", m.cluster.LogPath())
	go func() {
		<-m.cluster.Done()
		select {
		case m.failed <- errors.New("the local PostgreSQL server exited"):
		default:
		}
	}()
	if err := createDatabase(ctx, m.cluster); err != nil {
		return "", err
	}
	return m.cluster.ConnString(databaseName), nil
}

// hasSecret reports whether path holds a secret (is not missing or empty).
func hasSecret(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

// clusterExists reports whether dataDir's local cluster was initialized,
// in dataDir/postgres or in its fallback directory.
func clusterExists(dataDir string) bool {
	for _, dir := range []string{filepath.Join(dataDir, "postgres"), fallbackClusterDir(dataDir)} {
		if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
			return true
		}
	}
	return false
}

// fallbackClusterDir is where the cluster of dataDir lives when the
// server user cannot reach dataDir: one directory per data directory.
func fallbackClusterDir(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(rootClusterBase, hex.EncodeToString(sum[:8]), "postgres")
}

// createDatabase creates Conduit's database unless it exists.
func createDatabase(ctx context.Context, c *pglocal.Cluster) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("connect to local PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", databaseName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	return c.CreateDatabase(ctx, databaseName, "")
}

// jwtSecret returns the configured secret, or the one kept in dataDir
// (generated on first use).
func jwtSecret(configured, dataDir string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	s, err := secretFile(filepath.Join(dataDir, "jwt-secret"), 32)
	return []byte(s), err
}

// secretFile returns the secret kept in path, creating it (mode 0600)
// with n random bytes, hex-encoded, if it does not exist. An empty file,
// left by a crash between creation and write before secrets were written
// atomically, held nothing anyone could use: it is replaced by a fresh
// secret.
func secretFile(path string, n int) (string, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil && len(data) > 0:
		return string(data), nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	switch err := writeSecret(path, secret, len(data) == 0 && err == nil); {
	case errors.Is(err, os.ErrExist): // created meanwhile by another run
		data, err := os.ReadFile(path)
		if err == nil && len(data) == 0 {
			err = fmt.Errorf("%s, created meanwhile by another run, is empty", path)
		}
		return string(data), err
	case err != nil:
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	return secret, nil
}

// writeSecret writes secret to path atomically: to a temporary file in the
// same directory, synced, then linked to path (failing with os.ErrExist if
// path exists), or renamed over it when replace is set; the directory is
// synced last. A crash leaves either no path or the whole secret.
func writeSecret(path, secret string, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link, the second name; after a rename, nothing
	_, werr := f.WriteString(secret)
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

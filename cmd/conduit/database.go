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
	pass, err := secretFile(filepath.Join(dataDir, "postgres-password"), 24)
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
// with n random bytes, hex-encoded, if it does not exist.
func secretFile(path string, n int) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil && len(data) > 0 {
		return string(data), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return secretFile(path, n) // created meanwhile by another run
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(secret); err != nil {
		f.Close()
		return "", err
	}
	return secret, f.Close()
}

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
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

// databaseName is the database Conduit uses on its local cluster.
const databaseName = "conduit"

// appRole is the role Conduit connects to its local cluster as: it owns
// Conduit's database and the schemas in it, and is no superuser.
const appRole = "conduit"

// dataDirMode is the mode of a data directory Conduit creates: it holds
// the secrets. As root, the PostgreSQL server user cannot traverse it, so
// the cluster then lives under rootClusterBase.
const dataDirMode = 0o700

// rootClusterBase holds the clusters of data directories that the server
// user cannot reach when the command runs as root.
const rootClusterBase = "/var/lib/cohort"

// migrate creates or upgrades the event store's tables in eventSchema and
// the read model's in readSchema (empty: their defaults).
func migrate(ctx context.Context, pool *pgxpool.Pool, eventSchema, readSchema string) error {
	if err := postgres.Migrate(ctx, pool, eventSchema); err != nil {
		return fmt.Errorf("migrate the event store: %w", err)
	}
	if err := conduit.Migrate(ctx, pool, readSchema); err != nil {
		return fmt.Errorf("migrate the read model: %w", err)
	}
	return nil
}

// openStore migrates the database on m.pool and opens the event store,
// which reports its group commits to tracer if not nil. Close closes the
// store after the application, before the pool.
func (m *Main) openStore(ctx context.Context, tracer postgres.Tracer) error {
	if err := migrate(ctx, m.pool, m.Config.EventSchema, m.Config.ReadSchema); err != nil {
		return err
	}
	var err error
	m.store, err = postgres.New(ctx, m.pool, postgres.Config{Schema: m.Config.EventSchema, Logger: m.Logger, Tracer: tracer})
	return err
}

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
		BinDir: m.Config.PostgresBinDir, Download: pglocal.Download{Repository: m.Config.PostgresRepository}, Logger: m.Logger}
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
	appPass, err := secretFile(filepath.Join(dataDir, "conduit-password"), 24)
	if err != nil {
		return "", err
	}
	if err := setUpDatabase(ctx, m.cluster, appPass); err != nil {
		return "", fmt.Errorf("set up the role %s and the database %s: %w", appRole, databaseName, err)
	}
	return m.cluster.ConnStringAs(appRole, appPass, databaseName), nil
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

// setUpDatabase makes, as the superuser, what Conduit needs on the
// cluster: the role appRole (login, password pass, nothing more), the
// database databaseName owned by it, and every schema and object in that
// database owned by it. It is idempotent, and upgrades a database that an
// earlier version made and filled as the superuser. Resetting the password
// on every start repairs a regenerated password file.
func setUpDatabase(ctx context.Context, c *pglocal.Cluster, pass string) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("connect to local PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var roleExists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", appRole).Scan(&roleExists); err != nil {
		return err
	}
	verb := "ALTER"
	if !roleExists {
		verb = "CREATE"
	}
	// Utility statements take no parameters: format quotes the password.
	var stmt string
	if err := conn.QueryRow(ctx, "SELECT format('"+verb+" ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', $1::text, $2::text)",
		appRole, pass).Scan(&stmt); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return err
	}
	var owner *string
	if err := conn.QueryRow(ctx, "SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1)", databaseName).Scan(&owner); err != nil {
		return err
	}
	db, role := pgx.Identifier{databaseName}.Sanitize(), pgx.Identifier{appRole}.Sanitize()
	switch {
	case owner == nil:
		if err := c.CreateDatabase(ctx, databaseName, ""); err != nil {
			return err
		}
		fallthrough // the superuser made it: hand it over
	case *owner != appRole:
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+db+" OWNER TO "+role); err != nil {
			return err
		}
	}
	return giveObjects(ctx, c)
}

// giveObjectsSQL hands every schema, table, view, sequence and routine in
// the database that appRole does not own to appRole. Sequences that belong
// to a table's column follow their table.
var giveObjectsSQL = strings.ReplaceAll(`DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT n.nspname FROM pg_namespace n
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'public')
		AND n.nspowner <> '@role'::regrole
	LOOP
		EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, '@role');
	END LOOP;
	FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> '@role'::regrole
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
			AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
	LOOP
		EXECUTE format('ALTER %s %s OWNER TO %I',
			CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
			r.name, '@role');
	END LOOP;
	FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' AND p.proowner <> '@role'::regrole
	LOOP
		EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.name, '@role');
	END LOOP;
END $$`, "@role", appRole)

// giveObjects runs giveObjectsSQL in Conduit's database as the superuser.
func giveObjects(ctx context.Context, c *pglocal.Cluster) error {
	conn, err := pgx.Connect(ctx, c.ConnString(databaseName))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, giveObjectsSQL)
	return err
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

// claimsKey returns the configured key of the claim streams' names, or
// the one kept in dataDir (generated on first use). It is a secret of its
// own, not derived from the JWT secret: a JWT secret is rotated (after a
// leak, say) by replacing it, which must not change the names of the
// claims already made; conduit refuses to start with a key other than the
// one the database's claims were made with.
func claimsKey(configured, dataDir string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	s, err := secretFile(filepath.Join(dataDir, "claims-key"), 32)
	return []byte(s), err
}

// masterKey returns the configured master key (hex), or the one kept in
// dataDir (generated on first use).
func masterKey(configured, dataDir string) ([]byte, error) {
	s := configured
	if s == "" {
		var err error
		if s, err = secretFile(filepath.Join(dataDir, "master-key"), actors.MasterKeySize); err != nil {
			return nil, err
		}
	}
	key, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != actors.MasterKeySize {
		return nil, fmt.Errorf("master key: want %d hex digits", 2*actors.MasterKeySize)
	}
	return key, nil
}

// secretFile returns the secret kept in path, creating it (mode 0600)
// with n random bytes, hex-encoded, if it does not exist. An empty file,
// left by a crash between creation and write before secrets were written
// atomically, held nothing anyone could use: it is replaced by a fresh
// secret.
func secretFile(path string, n int) (string, error) {
	data, err := os.ReadFile(path)
	exists := err == nil
	switch {
	case exists && len(data) > 0:
		return string(data), nil
	case !exists && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	switch err := writeSecret(path, secret, exists); {
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

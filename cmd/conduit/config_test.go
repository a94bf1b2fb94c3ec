package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/httpapi"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

// defaultLimits are the limits without flags.
var defaultLimits = httpapi.Limits{LoginFailuresPerAddress: httpapi.DefaultLoginFailuresPerAddress,
	LoginFailuresPerAccount: httpapi.DefaultLoginFailuresPerAccount, LoginFailureDecay: httpapi.DefaultLoginFailureDecay}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{name: "defaults", want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "PORT", env: map[string]string{"PORT": "3000"},
			want: Config{Addr: ":3000", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "-addr wins over PORT", args: []string{"-addr", "127.0.0.1:9000"}, env: map[string]string{"PORT": "3000"},
			want: Config{Addr: "127.0.0.1:9000", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "environment", env: map[string]string{"DATABASE_URL": "postgres://x/y", "JWT_SECRET": "s", "CLAIMS_KEY": "k"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, DatabaseURL: "postgres://x/y", JWTSecret: "s", ClaimsKey: "k", Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "flags", args: []string{"-data", "/srv/conduit", "-log-json", "-pg-bin", "/opt/pg/bin", "-pg-repository", "http://mirror.internal/maven2", "-hash-memory", "65536", "-hash-time", "3", "-rebuild", "users,blog", "-admin-addr", "127.0.0.1:7070", "-trust-trace-context"},
			want: Config{Addr: ":8080", DataDir: "/srv/conduit", LogJSON: true, PostgresBinDir: "/opt/pg/bin", PostgresRepository: "http://mirror.internal/maven2", TrustTraceContext: true,
				Password: password.Params{Memory: 65536, Time: 3, Threads: 1}, Rebuild: []string{"users", "blog"}, AdminAddr: "127.0.0.1:7070", TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "token lifetime", args: []string{"-token-ttl", "12h"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: 12 * time.Hour, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "no token lifetime", args: []string{"-token-ttl", "0s"}, wantErr: true},
		{name: "limits", args: []string{"-hash-queue", "8", "-login-failures-address", "-1", "-login-failures-account", "5", "-login-failure-decay", "1m",
			"-rate-limit", "50", "-rate-burst", "200", "-trusted-proxy", "10.0.0.0/8, 192.168.1.7,::1"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: 8,
				Limits: httpapi.Limits{LoginFailuresPerAddress: -1, LoginFailuresPerAccount: 5, LoginFailureDecay: time.Minute, RequestsPerSecond: 50, RequestBurst: 200,
					TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("::1/128")}}}},
		{name: "bad trusted proxy", args: []string{"-trusted-proxy", "proxy.example"}, wantErr: true},
		{name: "no hash queue", args: []string{"-hash-queue", "0"}, wantErr: true},
		{name: "no login failures", args: []string{"-login-failures-account", "0"}, wantErr: true},
		{name: "negative rate", args: []string{"-rate-limit", "-1"}, wantErr: true},
		{name: "no operations listener", args: []string{"-admin-addr", "off"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits}},
		{name: "cluster", args: []string{"-cluster", "conduit", "-cluster-addr", "0.0.0.0:7000", "-cluster-advertise", "10.0.0.7:7000"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits,
				ClusterName: "conduit", ClusterAddr: "0.0.0.0:7000", ClusterAdvertise: "10.0.0.7:7000"}},
		{name: "cluster timing", args: []string{"-cluster", "conduit", "-cluster-ttl", "30s", "-cluster-heartbeat", "2s"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits,
				ClusterName: "conduit", ClusterTTL: 30 * time.Second, ClusterHeartbeat: 2 * time.Second}},
		{name: "cluster TTL under the default heartbeat's four", args: []string{"-cluster", "conduit", "-cluster-ttl", "2s"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits,
				ClusterName: "conduit", ClusterTTL: 2 * time.Second}},
		{name: "cluster TTL too short", args: []string{"-cluster", "conduit", "-cluster-ttl", "50ms"}, wantErr: true},
		{name: "negative cluster TTL", args: []string{"-cluster", "conduit", "-cluster-ttl", "-1s"}, wantErr: true},
		{name: "heartbeat over a quarter of the default TTL", args: []string{"-cluster", "conduit", "-cluster-heartbeat", "3s"}, wantErr: true},
		{name: "heartbeat over a quarter of the TTL", args: []string{"-cluster", "conduit", "-cluster-ttl", "4s", "-cluster-heartbeat", "2s"}, wantErr: true},
		{name: "bad cluster timing without -cluster", args: []string{"-cluster-ttl", "50ms"}, wantErr: true},
		{name: "bad cluster address", args: []string{"-cluster", "conduit", "-cluster-addr", "localhost"}, wantErr: true},
		{name: "bad cluster port", args: []string{"-cluster", "conduit", "-cluster-addr", "localhost:http"}, wantErr: true},
		{name: "drain", args: []string{"-drain", "12s"},
			want: Config{Addr: ":8080", DataDir: DefaultDataDir, Password: password.DefaultParams, AdminAddr: DefaultAdminAddr, TokenTTL: httpapi.DefaultTokenTTL, MaxHashes: conduit.DefaultMaxHashes(), Limits: defaultLimits, Drain: 12 * time.Second}},
		{name: "negative drain", args: []string{"-drain", "-1s"}, wantErr: true},
		{name: "bad PORT", env: map[string]string{"PORT": "http"}, wantErr: true},
		{name: "bad hash parameters", args: []string{"-hash-time", "0"}, wantErr: true},
		{name: "unknown flag", args: []string{"-verbose"}, wantErr: true},
		{name: "stray argument", args: []string{"serve"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if tt.want.Drain == 0 { // unless a case says otherwise
				tt.want.Drain = DefaultDrain
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestClusterTimingFlags: -cluster-ttl and -cluster-heartbeat reach the
// membership's configuration (zero leaving the provider's defaults), and a
// value it refuses is an error at start naming both flags and wrapping
// clusterpg.ErrInvalidConfig.
func TestClusterTimingFlags(t *testing.T) {
	cfg, err := ParseConfig([]string{"-cluster", "c", "-cluster-ttl", "20s", "-cluster-heartbeat", "500ms"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if mc := cfg.membership(); mc.TTL != 20*time.Second || mc.HeartbeatInterval != 500*time.Millisecond || mc.Protocol != actors.ClusterProtocol {
		t.Errorf("membership %+v, want TTL 20s, heartbeat 500ms and the runtime's protocol", mc)
	}
	cfg, err = ParseConfig([]string{"-cluster", "c"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if mc := cfg.membership(); mc.TTL != 0 || mc.HeartbeatInterval != 0 {
		t.Errorf("membership without the flags %+v, want zero (the provider's defaults)", mc)
	}

	_, err = ParseConfig([]string{"-cluster", "c", "-cluster-ttl", "4s", "-cluster-heartbeat", "2s"}, func(string) string { return "" })
	if !errors.Is(err, clusterpg.ErrInvalidConfig) {
		t.Fatalf("heartbeat of half the TTL: %v, want clusterpg.ErrInvalidConfig", err)
	}
	for _, want := range []string{"-cluster-ttl 4s", "-cluster-heartbeat 2s", "quarter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestFallbackClusterDir(t *testing.T) {
	a, b := fallbackClusterDir("/root/a/conduit-data"), fallbackClusterDir("/root/b/conduit-data")
	if a == b || a != fallbackClusterDir("/root/a/conduit-data") {
		t.Fatalf("fallback dirs %q and %q: want one stable directory per data directory", a, b)
	}
}

func TestSecretFile(t *testing.T) {
	path := t.TempDir() + "/secret"
	s1, err := secretFile(path, 32)
	if err != nil || len(s1) != 64 {
		t.Fatalf("secret %q, %v", s1, err)
	}
	s2, err := secretFile(path, 32)
	if err != nil || s2 != s1 {
		t.Fatalf("second read %q, %v: want the kept secret", s2, err)
	}
}

// TestMissingBinaries: without DATABASE_URL and without the PostgreSQL
// server binaries, Run fails saying how to install them or what to set.
func TestMissingBinaries(t *testing.T) {
	var log bytes.Buffer
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), PostgresBinDir: t.TempDir(),
		Password: password.DefaultParams}, &log)
	err := m.Run(context.Background())
	if closeErr := m.Close(context.Background()); closeErr != nil {
		t.Errorf("close: %v", closeErr)
	}
	if !errors.Is(err, pglocal.ErrBinariesNotFound) {
		t.Fatalf("Run = %v, want ErrBinariesNotFound", err)
	}
	for _, hint := range []string{"apt-get install -y postgresql", "DATABASE_URL"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("the error %q does not mention %q", err, hint)
		}
	}
}

// TestEmptySecretFileIsRegenerated: a secret file left empty by a crash
// between its creation and its write (nothing can have used it) is
// replaced by a fresh secret, for both generated secrets.
func TestEmptySecretFileIsRegenerated(t *testing.T) {
	tests := []struct {
		file string
		read func(dataDir string) (string, error)
	}{
		{"jwt-secret", func(dataDir string) (string, error) {
			s, err := jwtSecret("", dataDir)
			return string(s), err
		}},
		{"claims-key", func(dataDir string) (string, error) {
			s, err := claimsKey("", dataDir)
			return string(s), err
		}},
		{"master-key", func(dataDir string) (string, error) {
			k, err := masterKey("", dataDir)
			return hex.EncodeToString(k), err
		}},
		{"postgres-password", func(dataDir string) (string, error) {
			return secretFile(filepath.Join(dataDir, "postgres-password"), 24)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dataDir := t.TempDir()
			path := filepath.Join(dataDir, tt.file)
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := tt.read(dataDir)
			if err != nil || s == "" {
				t.Fatalf("secret %q, %v: want a fresh one", s, err)
			}
			kept, err := os.ReadFile(path)
			if err != nil || string(kept) != s {
				t.Fatalf("file holds %q (%v), want the returned secret %q", kept, err, s)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v (%v), want 0600", fi.Mode(), err)
			}
			if entries, _ := os.ReadDir(dataDir); len(entries) != 1 {
				t.Fatalf("data directory holds %d entries, want the secret alone (no temporary file left)", len(entries))
			}
		})
	}
}

// TestLostPasswordOfExistingCluster: an empty postgres-password beside an
// initialized cluster cannot be regenerated (the cluster keeps the old
// password): start-up refuses, saying so.
func TestLostPasswordOfExistingCluster(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dataDir, "postgres"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"postgres/PG_VERSION": "17\n", "postgres-password": ""} {
		if err := os.WriteFile(filepath.Join(dataDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMain(Config{DataDir: dataDir}, io.Discard)
	_, err := m.startLocalDatabase(context.Background(), dataDir)
	if err == nil || !strings.Contains(err.Error(), "password is lost") {
		t.Fatalf("start = %v, want a refusal saying that the password is lost", err)
	}
}

// TestParseRebuildArgs: the rebuild subcommand takes flags before, between
// and after projection names; a boolean flag does not swallow the name
// after it.
func TestParseRebuildArgs(t *testing.T) {
	tests := []struct {
		args      []string
		wantNames []string
		wantJSON  bool
		wantData  string
		wantErr   bool
	}{
		{args: []string{"-log-json", "users"}, wantNames: []string{"users"}, wantJSON: true, wantData: DefaultDataDir},
		{args: []string{"users", "-log-json"}, wantNames: []string{"users"}, wantJSON: true, wantData: DefaultDataDir},
		{args: []string{"-data", "/srv/c", "users", "blog", "-log-json"}, wantNames: []string{"users", "blog"}, wantJSON: true, wantData: "/srv/c"},
		{args: []string{"-data=/srv/c", "comments"}, wantNames: []string{"comments"}, wantData: "/srv/c"},
		{args: nil, wantData: DefaultDataDir},
		{args: []string{"-nonsense", "users"}, wantErr: true},
	}
	for _, tt := range tests {
		cfg, names, err := ParseRebuildArgs(tt.args, func(string) string { return "" })
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRebuildArgs(%q): %v", tt.args, err)
			continue
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(names, tt.wantNames) || cfg.LogJSON != tt.wantJSON || cfg.DataDir != tt.wantData {
			t.Errorf("ParseRebuildArgs(%q) = names %q, log-json %v, data %q; want %q, %v, %q",
				tt.args, names, cfg.LogJSON, cfg.DataDir, tt.wantNames, tt.wantJSON, tt.wantData)
		}
	}
}

// TestDataDirRequired: a Config without a data directory is refused by
// Run and Rebuild before anything is written, rather than keeping the
// generated secrets in the working directory (a test once committed
// cmd/conduit/claims-key that way). The flags always give one.
func TestDataDirRequired(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(*Main) error
	}{
		{"run", func(m *Main) error { return m.Run(context.Background()) }},
		{"rebuild", func(m *Main) error {
			_, err := m.Rebuild(context.Background(), nil, io.Discard)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			m := NewMain(Config{Addr: "127.0.0.1:0", DatabaseURL: "postgres://127.0.0.1:1/none?connect_timeout=1",
				Password: password.DefaultParams}, io.Discard)
			err := tt.run(m)
			if cerr := m.Close(context.Background()); cerr != nil {
				t.Errorf("close: %v", cerr)
			}
			if !errors.Is(err, errNoDataDir) {
				t.Errorf("err = %v, want errNoDataDir", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the working directory holds %v, want nothing", entries)
			}
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// smokeArgs are sizes that keep a smoke run to seconds.
var smokeArgs = []string{"-users", "50", "-renames", "200", "-ceiling-rows", "200", "-hash-memory", "64", "-hash-time", "1", "-quiet", "-json"}

// bench runs the benchmark with args on the test server and returns its
// report, checking that it dropped its databases.
func bench(t *testing.T, databaseURL string, args ...string) Report {
	t.Helper()
	cfg, err := ParseConfig(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = databaseURL
	var out, errOut bytes.Buffer
	m := NewMain(cfg, &out, &errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runErr := m.Run(ctx)
	prefix := ""
	if m.srv != nil {
		prefix = m.srv.prefix
	}
	if err := m.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("run: %v\n%s", runErr, errOut.String())
	}
	if databaseURL != "" && prefix != "" {
		conn, err := pgx.Connect(ctx, databaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var left int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE $1 || '%'", prefix).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d databases of the run were left behind", left)
		}
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil || !strings.Contains(table.String(), "SPEED-UP") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}
	t.Logf("\n%s", table.String())
	return r
}

func phaseOf(t *testing.T, r Report, name string) PhaseResult {
	t.Helper()
	for _, p := range r.Phases {
		if p.Phase == name {
			return p
		}
	}
	t.Fatalf("no phase %s in the report", name)
	return PhaseResult{}
}

func checkLag(t *testing.T, p PhaseResult, projections ...string) {
	t.Helper()
	if len(p.Lags) != len(projections) {
		t.Fatalf("%s: lags %+v, want %v", p.Phase, p.Lags, projections)
	}
	for i, l := range p.Lags {
		if l.Projection != projections[i] || l.Commands != p.Commands || l.Max < l.P50 || l.P50 <= 0 {
			t.Errorf("%s: lag %+v", p.Phase, l)
		}
	}
}

// TestSmoke runs every in-process phase at small sizes.
func TestSmoke(t *testing.T) {
	r := bench(t, pgtest.NewDatabase(t, pgtest.Empty()), smokeArgs...)
	if !r.HashingLowered || !strings.Contains(r.Hashing, "LOWERED") {
		t.Errorf("the report does not say that hashing was lowered: %q", r.Hashing)
	}
	for _, name := range []string{PhaseRegisterSeq, PhaseRegisterPar} {
		p := phaseOf(t, r, name)
		if p.Commands != 50 || p.Wall <= 0 || p.PerSecond <= 0 {
			t.Errorf("%s: %+v", name, p)
		}
		checkLag(t, p, "users")
	}
	checkLag(t, phaseOf(t, r, PhaseRenameWarm), "users")
	wf := phaseOf(t, r, PhaseWorkflow)
	checkLag(t, wf, "users", "blog")
	if wf.Authors == nil || wf.Authors.Count != 50 || wf.Authors.Time <= 0 {
		t.Errorf("authors: %+v", wf.Authors)
	}
	checkLag(t, phaseOf(t, r, PhaseRenameCold), "users", "blog")
	rb := phaseOf(t, r, PhaseRebuild).Rebuild
	if rb == nil || rb.Events != 250 || rb.Time <= 0 || rb.Online <= 0 || rb.AllEvents < rb.Events {
		t.Errorf("rebuild: %+v", rb)
	}
	if len(r.Ceiling) != 3 || r.Ceiling[0].PerSecond <= 0 || r.Ceiling[2].Rows != 200 {
		t.Errorf("ceiling: %+v", r.Ceiling)
	}
}

// TestSmokeUseCases runs the phases through RegisterUser and UpdateUser.
func TestSmokeUseCases(t *testing.T) {
	args := append([]string{"-via", "usecases", "-phases", "rename-warm,workflow"}, smokeArgs...)
	r := bench(t, pgtest.NewDatabase(t, pgtest.Empty()), args...)
	if len(r.Phases) != 2 {
		t.Fatalf("phases %+v, want rename-warm and workflow", r.Phases)
	}
	checkLag(t, phaseOf(t, r, PhaseRenameWarm), "users")
	checkLag(t, phaseOf(t, r, PhaseWorkflow), "users", "blog")
}

// TestSmokeHTTP runs the HTTP workload at small sizes: Conduit
// served by the benchmark, then the CRUD baseline, each with 10 writers
// renaming and one client reading profiles, side by side in one report.
func TestSmokeHTTP(t *testing.T) {
	args := append([]string{"-http", "-phases", "register-seq,register-par,rename-warm,ceiling"}, smokeArgs...)
	r := bench(t, pgtest.NewDatabase(t, pgtest.Empty()), args...)
	for _, name := range []string{PhaseRegisterSeq, PhaseRegisterPar, "http-rename", "crud-" + PhaseRegisterSeq, "crud-" + PhaseRegisterPar, "crud-http-rename"} {
		if p := phaseOf(t, r, name); p.Latency == nil || p.Latency.P50 <= 0 || p.PerSecond <= 0 {
			t.Errorf("%s: %+v", name, p)
		}
	}
	for _, name := range []string{"http-rename", "crud-http-rename"} {
		p := phaseOf(t, r, name)
		if p.Commands != 200 || p.Errors != 0 {
			t.Errorf("%s: %d renames, %d errors", name, p.Commands, p.Errors)
		}
		if l := p.ReadLag; l == nil || l.Samples == 0 || l.P99 <= 0 || l.StaleAfterAck != 0 || l.Errors != 0 {
			t.Errorf("%s: read lag %+v", name, l)
		}
		// The test server does not preload pg_stat_statements: the report
		// says so instead of failing.
		if s := p.Statements; s == nil || (s.Available && s.PerRename <= 0) || (!s.Available && s.Note == "") {
			t.Errorf("%s: statements %+v", name, s)
		}
	}
	c := r.Comparison
	if c == nil || c.ConduitPerSecond <= 0 || c.CRUDPerSecond <= 0 || c.StorePerSecond <= 0 ||
		c.VsCRUD != c.ConduitPerSecond/c.CRUDPerSecond || c.VsStore != c.ConduitPerSecond/c.StorePerSecond {
		t.Errorf("comparison %+v", c)
	}
	// The password hash alone, from as many workers as register, beside
	// both servers' parallel registrations.
	if h := r.Hashes; h == nil || h.Hashes != 50 || h.Workers != 10 || h.PerSecond <= 0 {
		t.Errorf("hashes alone %+v", h)
	}
	if c == nil || c.HashesPerSecond <= 0 || c.ConduitRegisterPerSecond <= 0 || c.CRUDRegisterPerSecond <= 0 ||
		c.RuntimeShare != 1-c.ConduitRegisterPerSecond/c.HashesPerSecond {
		t.Errorf("registrations against the hash alone %+v", c)
	}
}

// TestSmokeHTTPStatements runs the HTTP workload on the benchmark's own
// throwaway cluster, which preloads pg_stat_statements when the server
// ships it, and checks that the statements of each rename are counted.
func TestSmokeHTTPStatements(t *testing.T) {
	if _, err := statementsLibrary(""); err != nil {
		t.Skipf("no pg_stat_statements here: %v", err)
	}
	args := append([]string{"-http", "-phases", "register-par,rename-warm", "-users", "20", "-renames", "100"}, smokeArgs[4:]...)
	r := bench(t, "", args...)
	for _, name := range []string{"http-rename", "crud-http-rename"} {
		s := phaseOf(t, r, name).Statements
		if s == nil || !s.Available || s.PerRename <= 0 || len(s.Top) == 0 {
			t.Fatalf("%s: statements %+v", name, s)
		}
	}
	// The baseline's rename is its one UPDATE ... RETURNING.
	var update bool
	for _, st := range phaseOf(t, r, "crud-http-rename").Statements.Top {
		update = update || (strings.HasPrefix(st.Query, "UPDATE") && st.PerRename == 1)
	}
	if !update {
		t.Errorf("the baseline's UPDATE is not among its statements once per rename: %+v", phaseOf(t, r, "crud-http-rename").Statements.Top)
	}
}

// TestSmokeHTTPConduit drives the real cmd/conduit, built and started on a
// throwaway database.
func TestSmokeHTTPConduit(t *testing.T) {
	api := startConduit(t, pgtest.NewDatabase(t, pgtest.Empty()))
	args := append([]string{"-http", "-url", api, "-phases", "register-par,rename-warm"}, smokeArgs...)
	r := bench(t, "", args...)
	if p := phaseOf(t, r, "http-rename"); p.Commands != 200 || p.Latency == nil {
		t.Errorf("renames: %+v", p)
	}
}

// startConduit builds cmd/conduit, starts it on databaseURL with cheap
// password hashes, and returns its API's URL; it is stopped at cleanup.
func startConduit(t *testing.T, databaseURL string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "conduit")
	if out, err := exec.Command(goTool, "build", "-o", bin, "../conduit").CombinedOutput(); err != nil {
		t.Fatalf("go build ../conduit: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-log-json", "-data", t.TempDir(), "-hash-memory", "64", "-hash-time", "1")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+databaseURL, "JWT_SECRET=", "PORT=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	api := make(chan string, 1)
	exited := make(chan error, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				API string `json:"api"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.API != "" {
				api <- line.API
			} else if len(sc.Bytes()) < 2000 && log.Len() < 1<<16 {
				log.Write(append(sc.Bytes(), '\n'))
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case u := <-api:
		return u
	case err := <-exited:
		exited <- err
		t.Fatalf("conduit exited before serving: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("conduit did not serve within a minute")
	}
	return ""
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil, func(k string) string { return map[string]string{"DATABASE_URL": "postgres://x/y"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Users != 5000 || cfg.Renames != 100_000 || cfg.Workers != 10 || len(cfg.Phases) != len(AllPhases) ||
		cfg.LoweredHashing() || cfg.Via != ViaCommands || cfg.DatabaseURL != "postgres://x/y" {
		t.Fatalf("defaults %+v", cfg)
	}
	cfg, err = ParseConfig([]string{"-http"}, func(string) string { return "" })
	if err != nil || cfg.Users != 1000 || cfg.Renames != 20_000 || !cfg.CRUD || strings.Join(cfg.Phases, ",") != "register-par,rename-warm,ceiling" {
		t.Fatalf("-http defaults %+v %v", cfg, err)
	}
	cfg, err = ParseConfig([]string{"-http", "-users", "50", "-phases", "rename-warm", "-crud=false"}, func(string) string { return "" })
	if err != nil || cfg.Users != 50 || cfg.Renames != 20_000 || cfg.CRUD || strings.Join(cfg.Phases, ",") != "rename-warm" {
		t.Fatalf("-http with sizes %+v %v", cfg, err)
	}
	cfg, err = ParseConfig([]string{"-phases", "rebuild,register-seq"}, func(string) string { return "" })
	if err != nil || strings.Join(cfg.Phases, ",") != "register-seq,rebuild" {
		t.Fatalf("phases %v %v", cfg.Phases, err)
	}
	for _, bad := range [][]string{{"-phases", "nope"}, {"-url", "http://x/api"}, {"-http", "-url", "ftp://x"},
		{"-workers", "0"}, {"-hash-time", "0"}, {"-via", "x"}, {"stray"}} {
		if _, err := ParseConfig(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestPercentilesAndFormats(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	if p.P50 != 50*time.Millisecond || p.P99 != 99*time.Millisecond || p.Max != 100*time.Millisecond {
		t.Fatalf("percentiles %+v", p)
	}
	for d, want := range map[time.Duration]string{
		420 * time.Microsecond: "0.42 ms", 38 * time.Millisecond: "38 ms", 8210 * time.Millisecond: "8.21 s",
		718 * time.Second: "11 min 58 s", 6766 * time.Second: "1 h 52 min 46 s",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
	if thousands(1234567) != "1,234,567" || ratio(718, 2*time.Second) != "359×" {
		t.Errorf("thousands %q ratio %q", thousands(1234567), ratio(718, 2*time.Second))
	}
}

func TestTenths(t *testing.T) {
	var ends []time.Duration
	for i := 1; i <= 100; i++ { // 10 per second for 5 s, then 5 per second
		if i <= 50 {
			ends = append(ends, time.Duration(i)*100*time.Millisecond)
		} else {
			ends = append(ends, 5*time.Second+time.Duration(i-50)*200*time.Millisecond)
		}
	}
	got := tenths(ends)
	if len(got) != 10 || got[0] != 10 || got[9] != 5 {
		t.Fatalf("tenths %v", got)
	}
	if tenths(ends[:9]) != nil {
		t.Fatal("tenths of 9 calls")
	}
}

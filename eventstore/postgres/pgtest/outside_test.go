package pgtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutsideModule runs the tests of testdata/outside, a module of its own
// that imports pgtest, actorstest and the PostgreSQL store as an
// application's module does: the harness works from outside this module.
// The module is copied, with its replace directive pointing at this
// checkout, so that the run does not change the repository.
func TestOutsideModule(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to test a module from outside: %v", err)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/outside")); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), goTool, args...)
		cmd.Dir = dir
		// -mod=mod lets the copy's go.sum follow this module's
		// requirements when they change.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "edit", "-replace", "github.com/cohort-dev/cohort="+root)
	out := run("test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestMustPool", "--- PASS: TestStores/postgres", "ok  \texample.com/outside"} {
		if !strings.Contains(out, want) {
			t.Errorf("go test in the outside module: output lacks %q:\n%s", want, out)
		}
	}
}

package doccheck_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/cohort-dev/cohort/internal/doccheck"
)

// runtimePackages are the runtime's public packages, from the module's
// root.
var runtimePackages = []string{
	"eventstore",
	"eventstore/memory",
	"eventstore/postgres",
	"eventstore/postgres/pgtest",
	"eventstore/storetest",
	"actors",
	"actors/actorstest",
	"actors/admin",
	"actors/unique",
	"actors/cluster/postgres",
}

// TestRuntimeDocumented: every exported identifier of the runtime's
// public packages has a doc comment that starts with its name, and each
// package its comment in doc.go.
func TestRuntimeDocumented(t *testing.T) {
	for _, pkg := range runtimePackages {
		t.Run(pkg, func(t *testing.T) {
			found, err := doccheck.Check(filepath.Join("..", "..", filepath.FromSlash(pkg)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range found {
				t.Error(f)
			}
		})
	}
}

// TestCheck: the check finds each kind of omission in testdata/bad and
// nothing in testdata/good, which uses every form the convention allows.
func TestCheck(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"good", nil},
		{"bad", []string{
			"package bad: no doc.go",
			"package bad: package comment outside doc.go",
			"Const: doc comment does not start with \"Const\"",
			"Grouped: no doc comment, on it or on its group",
			"Var: no doc comment",
			"Func: no doc comment",
			"Prefix: doc comment does not start with \"Prefix\"",
			"T: no doc comment",
			"T.Method: doc comment does not start with \"Method\"",
			"NewT: no doc comment",
			"Fragment: doc comment does not end a sentence",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			found, err := doccheck.Check(filepath.Join("testdata", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range found {
				got = append(got, f.Name+": "+f.Problem)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("found\n%q\nwant\n%q", got, want)
			}
		})
	}
}

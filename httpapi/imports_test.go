package httpapi_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyConduit: the HTTP layer speaks to the application alone:
// among the module's packages it imports conduit and its subpackages, and
// the validation errors it shows, never the runtime (actors, eventstore),
// the aggregates or the read model.
func TestImportsOnlyConduit(t *testing.T) {
	const module = "github.com/cohort-dev/cohort/"
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		rel, ours := strings.CutPrefix(imp, module)
		if !ours || rel == "conduit" || strings.HasPrefix(rel, "conduit/") || rel == "aggregates/validation" {
			continue
		}
		t.Errorf("httpapi imports %s: it may import only conduit, its subpackages and aggregates/validation", imp)
	}
}

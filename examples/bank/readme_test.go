package bank_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExcerpts: every Go excerpt in the repository README's section
// "Your first aggregate" appears verbatim in this module's sources.
func TestReadmeExcerpts(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Your first aggregate\n")
	if !ok {
		t.Fatal(`README.md has no section "Your first aggregate"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var sources strings.Builder
	for _, pattern := range []string{"*.go", "cmd/*/*.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sources.Write(b)
		}
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) == 0 {
		t.Fatal("no Go excerpts in the section")
	}
	for _, b := range blocks {
		if !strings.Contains(sources.String(), b[1]) {
			t.Errorf("README excerpt not found in examples/bank:\n%s", b[1])
		}
	}
}

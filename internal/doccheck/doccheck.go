package doccheck

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// A Finding is an exported identifier whose documentation breaks the
// convention, or a package without its doc.go.
type Finding struct {
	// Pos is where the identifier (or the package) is declared.
	Pos token.Position
	// Name is the identifier, as Type.Method for a method.
	Name string
	// Problem says what is wrong.
	Problem string
}

// String formats f as file:line: name: problem.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.Pos.Filename, f.Pos.Line, f.Name, f.Problem)
}

// Check parses the package in dir, leaving out its tests, and returns
// what breaks the convention: no doc.go with the package comment, or an
// exported identifier without a doc comment, or with one that does not
// start with its name or does not end as a sentence. A type's comment
// may start with "A", "An" or "The" before the name. A constant or
// variable declared in a parenthesized group is documented by the group's
// comment or by its own. Build constraints are not considered: every
// non-test file of dir is read.
func Check(dir string) ([]Finding, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("doccheck: %w", err)
	}
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("doccheck: %w", err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("doccheck: no Go files in %s", dir)
	}
	name := files[0].Name.Name
	for _, f := range files[1:] {
		if f.Name.Name != name {
			return nil, fmt.Errorf("doccheck: %s holds packages %s and %s", dir, name, f.Name.Name)
		}
	}
	c := &checker{fset: fset}
	c.packageDoc(dir, name, files)
	p, err := doc.NewFromFiles(fset, files, "example.com/"+name)
	if err != nil {
		return nil, fmt.Errorf("doccheck: %w", err)
	}
	c.values(p.Consts)
	c.values(p.Vars)
	c.funcs("", p.Funcs)
	for _, t := range p.Types {
		c.named(t.Decl.Pos(), t.Name, t.Doc, true)
		c.values(t.Consts)
		c.values(t.Vars)
		c.funcs("", t.Funcs)
		c.funcs(t.Name, t.Methods)
	}
	return c.found, nil
}

// checker collects the findings of one package.
type checker struct {
	fset  *token.FileSet
	found []Finding
}

// report adds a finding at pos.
func (c *checker) report(pos token.Pos, name, problem string) {
	c.found = append(c.found, Finding{Pos: c.fset.Position(pos), Name: name, Problem: problem})
}

// packageDoc checks that the package comment is in dir's doc.go and that
// doc.go is the only file with one.
func (c *checker) packageDoc(dir, name string, files []*ast.File) {
	docFile := filepath.Join(dir, "doc.go")
	if _, err := os.Stat(docFile); err != nil {
		c.report(files[0].Package, "package "+name, "no doc.go")
	}
	for _, f := range files {
		isDoc := filepath.Base(c.fset.Position(f.Package).Filename) == "doc.go"
		switch {
		case isDoc && f.Doc == nil:
			c.report(f.Package, "package "+name, "doc.go has no package comment")
		case isDoc && !strings.HasPrefix(f.Doc.Text(), "Package "+name+" "):
			c.report(f.Package, "package "+name, `package comment does not start with "Package `+name+` "`)
		case !isDoc && f.Doc != nil:
			c.report(f.Package, "package "+name, "package comment outside doc.go")
		}
	}
}

// funcs checks functions, or the methods of the type recv.
func (c *checker) funcs(recv string, fs []*doc.Func) {
	for _, f := range fs {
		if !ast.IsExported(f.Name) {
			continue
		}
		name := f.Name
		if recv != "" {
			name = recv + "." + f.Name
		}
		c.namedAs(f.Decl.Pos(), name, f.Name, f.Doc, false)
	}
}

// values checks a declaration of constants or variables.
func (c *checker) values(vs []*doc.Value) {
	for _, v := range vs {
		grouped := v.Decl.Lparen.IsValid()
		if grouped && v.Doc != "" {
			continue
		}
		for _, spec := range v.Decl.Specs {
			spec := spec.(*ast.ValueSpec)
			text := v.Doc
			if grouped {
				text = spec.Doc.Text()
			}
			for _, n := range spec.Names {
				if !n.IsExported() {
					continue
				}
				if grouped && text == "" {
					c.report(n.Pos(), n.Name, "no doc comment, on it or on its group")
					continue
				}
				c.named(n.Pos(), n.Name, text, false)
				break // the comment names the first of a spec's names
			}
		}
	}
}

// named checks that text documents the identifier name.
func (c *checker) named(pos token.Pos, name, text string, article bool) {
	c.namedAs(pos, name, name, text, article)
}

// namedAs checks that text starts with word, the name of the identifier
// reported as name; article allows "A", "An" or "The" before it.
func (c *checker) namedAs(pos token.Pos, name, word, text string, article bool) {
	if text == "" {
		c.report(pos, name, "no doc comment")
		return
	}
	if article {
		for _, a := range []string{"A ", "An ", "The "} {
			text, _ = strings.CutPrefix(text, a)
		}
	}
	if rest, ok := strings.CutPrefix(text, word); !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \n,.'")) {
		c.report(pos, name, fmt.Sprintf("doc comment does not start with %q", word))
	}
	if !sentence(text) {
		c.report(pos, name, "doc comment does not end a sentence")
	}
}

// sentence reports whether a doc comment ends as a sentence does, with a
// full stop, or with a code block or list its text introduced.
func sentence(text string) bool {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	last := lines[len(lines)-1]
	if strings.HasPrefix(last, "\t") || strings.HasPrefix(last, "  ") {
		return true // a code block or a list item
	}
	return strings.HasSuffix(last, ".") || strings.HasSuffix(last, ".)") || strings.HasSuffix(last, "?") || strings.HasSuffix(last, "!")
}

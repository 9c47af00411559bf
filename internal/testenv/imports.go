package testenv

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Project is the import-path prefix of this module's packages.
const Project = "github.com/portcullis/portcullis/"

// Import is one import of one non-test Go file.
type Import struct {
	File string // the file's name as found in the directory
	Path string // the unquoted import path
}

// Imports parses the imports of every non-test .go file in dir, for the tests that keep a
// package's import walls.
func Imports(t testing.TB, dir string) []Import {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var imports []Import
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			imports = append(imports, Import{File: name, Path: path})
		}
	}
	return imports
}

// CheckImports fails the test for every import in dir's non-test files of a project
// package not in allowed (full import paths), saying why; and, unless thirdParty, for every
// import from outside both the project and the standard library.
func CheckImports(t testing.TB, dir string, allowed map[string]bool, thirdParty bool, why string) {
	t.Helper()
	for _, imp := range Imports(t, dir) {
		switch {
		case strings.HasPrefix(imp.Path, Project):
			if !allowed[imp.Path] {
				t.Errorf("%s imports %s; %s", imp.File, imp.Path, why)
			}
		case !thirdParty && strings.Contains(strings.SplitN(imp.Path, "/", 2)[0], "."):
			t.Errorf("%s imports third-party %s: the package needs only the standard library", imp.File, imp.Path)
		}
	}
}

package auth

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the package's walls: of the project it may use only access (the
// gateway declares the interfaces auth satisfies, not the other way round) and the leaf
// utilities internal/reload and internal/atomicfile.
func TestDependencies(t *testing.T) {
	const project = "github.com/portcullis/portcullis/"
	allowed := map[string]bool{
		project + "access":              true,
		project + "internal/reload":     true,
		project + "internal/atomicfile": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, project) && !allowed[path] {
				t.Errorf("%s imports %s; auth may import only access and the internal utilities from this project", f, path)
			}
		}
	}
}

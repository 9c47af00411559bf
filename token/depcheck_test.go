package token

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the package's walls: of the project it may use only access (the
// values it mints for), certs (the token CA) and the internal file utilities; never the
// gateway, the authenticators, the policy engine, the configuration or the registry.
func TestDependencies(t *testing.T) {
	const project = "github.com/portcullis/portcullis/"
	allowed := map[string]bool{
		project + "access": true, project + "certs": true,
		project + "internal/atomicfile": true, project + "internal/reload": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, project) && !allowed[path] {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

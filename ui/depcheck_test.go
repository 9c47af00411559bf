package ui

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the package's walls: it reaches the registry only through the
// gateway pipeline (never registry/), asks the policy only through gateway.Authorizer
// (never policy/), and checks passwords only through Login (never auth/).
func TestDependencies(t *testing.T) {
	const project = "github.com/portcullis/portcullis/"
	allowed := map[string]bool{
		project + "access":           true,
		project + "gateway":          true,
		project + "audit":            true,
		project + "reference":        true,
		project + "internal/capture": true, // the sub-request writer the gateway's catalog walk uses too
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
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, project) && !allowed[path] {
				t.Errorf("%s imports %s; ui may import only access, gateway, audit, reference and internal/capture from this project", f, path)
			}
		}
	}
}

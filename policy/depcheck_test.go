package policy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the wall: policy decides on plain values and never imports the
// gateway, the authenticators or the bundled registry.
func TestDependencies(t *testing.T) {
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
			for _, banned := range []string{"/gateway", "/auth", "/registry", "/certs", "/config"} {
				if strings.HasPrefix(path, "github.com/portcullis/portcullis"+banned) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}

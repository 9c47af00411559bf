package gateway

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImportWalls keeps the house plan: the gateway forwards to any http.Handler or URL
// and knows nothing of the bundled registry, the authenticators, the policy engine or
// certificates; of the project it imports only the shared plain values.
func TestImportWalls(t *testing.T) {
	allowed := map[string]bool{
		"github.com/portcullis/portcullis/access":           true,
		"github.com/portcullis/portcullis/distspec":         true,
		"github.com/portcullis/portcullis/errcode":          true,
		"github.com/portcullis/portcullis/internal/capture": true, // the sub-request writer (standard library only)
		"github.com/portcullis/portcullis/reference":        true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/portcullis/") && !allowed[p] {
				t.Errorf("%s imports %s", e.Name(), p)
			}
			if strings.Contains(p, ".") && !strings.HasPrefix(p, "github.com/portcullis/") {
				t.Errorf("%s imports third-party %s: the pipeline needs only the standard library", e.Name(), p)
			}
		}
	}
}

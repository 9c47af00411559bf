package policy

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDependencies keeps the wall: policy decides on plain values and never imports the
// gateway, the authenticators or the bundled registry.
func TestDependencies(t *testing.T) {
	for _, imp := range testenv.Imports(t, ".") {
		for _, banned := range []string{"gateway", "auth", "registry", "certs", "config"} {
			if strings.HasPrefix(imp.Path, testenv.Project+banned) {
				t.Errorf("%s imports %s", imp.File, imp.Path)
			}
		}
	}
}

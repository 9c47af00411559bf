package registry

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDeps holds the package's wall (like ggcr's pkg/registry depcheck): the bundled
// registry builds on the standard library, errcode, reference and distspec only, so it never
// drags in tracing, Redis clients or global loggers. distspec itself imports only errcode and
// reference, so the list is closed.
func TestDeps(t *testing.T) {
	goBin := testenv.NeedTool(t, "go")
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/portcullis/portcullis/registry":  true,
		"github.com/portcullis/portcullis/errcode":   true,
		"github.com/portcullis/portcullis/reference": true,
		"github.com/portcullis/portcullis/distspec":  true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("registry depends on %s; only the standard library, errcode, reference and distspec are allowed", p)
		}
	}
}

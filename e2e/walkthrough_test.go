package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestWalkthrough runs deploy/walkthrough.sh in a clean copy of the checkout: README
// command 1 (go run ./cmd/gateway) in the background, the CA trusted where its startup log
// says, skopeo login, push, pull, delete, the gateway stopped, gateway gc --delete, and
// the disk space back (the script fails unless gc returns at least the pushed layer).
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "skopeo")
	testenv.NeedTool(t, "go")
	testenv.NeedTool(t, "curl")
	dir := cleanCheckout(t)
	mkoci := filepath.Join(repoRoot, "..", "shared", "bench", "ref", "lib", "mkoci.sh")
	if _, err := os.Stat(mkoci); err != nil {
		t.Fatalf("../shared beside the checkout: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", "deploy/walkthrough.sh")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WALK_MKOCI="+mkoci)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "walkthrough: OK") {
		t.Fatalf("deploy/walkthrough.sh: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "walkthrough: ") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

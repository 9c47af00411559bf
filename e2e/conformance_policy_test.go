package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// suitePolicy grants the suite's user its two repositories and nothing else (plus the
// catalog listing, which the gateway filters down to those two). No admins group: the
// conformance run must pass on exactly this much access.
const suitePolicy = `package portcullis.authz

suite_repos := {"conformance/repo1", "conformance/repo2"}

granted contains {"type": "repository", "name": r.name, "actions": ["pull", "push", "delete"]} if {
	input.principal.name == %q
	some r in input.access
	r.type == "repository"
	r.name in suite_repos
}

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	input.principal.name == %q
	some r in input.access
	r.type == "registry"
}

reason := "conformance user: its two repositories only"
`

// TestConformanceLeastPrivilege: the OCI conformance suite passes through the gateway
// (TLS, Basic, bundled registry) with a policy that grants its user only
// conformance/repo1 and conformance/repo2; and that user is refused anything else.
func TestConformanceLeastPrivilege(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := filepath.Join(dir, "suite.rego")
	if err := os.WriteFile(pol, fmt.Appendf(nil, suitePolicy, plainUser, plainUser), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--policy", pol)...)
	if code := status(t, g.Client, g.URL+"/v2/other/repo/tags/list", plainUser, plainPass); code != 403 {
		t.Fatalf("the suite's user reads other/repo: %d, want 403", code)
	}
	res := conformance(t, g.URL, "-u", plainUser, "-p", plainPass, "-c", g.CAFile)
	t.Logf("conformance with least privilege: %d passed, %d failed, %d skipped", res.Passed, res.Failed, res.Skipped)
	if res.Err != nil || res.Failed != 0 || res.Passed == 0 {
		t.Errorf("conformance.sh: %v, %d passed, %d failed:\n%s", res.Err, res.Passed, res.Failed, tail(res.Output, 70))
	}
}

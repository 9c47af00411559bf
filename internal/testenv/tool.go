package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of an external tool. A missing tool skips the test, except
// when the environment variable CI is non-empty: CI installs every tool the tests use,
// so there a missing one is a failure.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found in PATH (CI must install it; see .ci/run): %v", name, err)
	}
	t.Skipf("%s not found in PATH; install it to run this test (bash .ci/run does)", name)
	return ""
}

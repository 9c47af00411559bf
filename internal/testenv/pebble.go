package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Pebble's two commands, Let's Encrypt's ACME test server and its DNS/challenge helper.
// go.mod pins them with `tool` directives, so their version and their dependencies' sums
// are ours and `go mod tidy` keeps them.
const (
	PebbleTool       = "github.com/letsencrypt/pebble/v2/cmd/pebble"
	ChalltestsrvTool = "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"
)

// BuildPebble builds pebble and pebble-challtestsrv, as go.mod's tool directives pin them,
// into a directory of the test's own. The go command fetches what the module cache lacks
// from the proxy and reuses the build cache, so only the first build is slow. It fails
// when go is there but the build does not succeed: go.mod pins the tools, so that is a
// broken checkout (or no network on a first run), not a missing tool.
func BuildPebble(t testing.TB) (pebble, challtestsrv string) {
	t.Helper()
	gobin := NeedTool(t, "go")
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-o", out+string(filepath.Separator),
		PebbleTool, ChalltestsrvTool)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pebble (go.mod's tool directives): %v\n%s", err, b)
	}
	return filepath.Join(out, "pebble"), filepath.Join(out, "pebble-challtestsrv")
}

package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PebbleModule is Let's Encrypt's ACME test server, required in go.mod for the tests.
const PebbleModule = "github.com/letsencrypt/pebble/v2"

// BuildPebble builds pebble and pebble-challtestsrv at the version go.mod requires,
// inside that module's directory in the module cache, so pebble's own dependencies need
// no go.sum entries in ours. It fails when go is there but pebble cannot be found or
// built: go.mod pins it, so that is a broken checkout, not a missing tool.
func BuildPebble(t testing.TB) (pebble, challtestsrv string) {
	t.Helper()
	gobin := NeedTool(t, "go")
	var dir string
	for _, args := range [][]string{
		{"list", "-m", "-json", PebbleModule},
		{"mod", "download", "-json", PebbleModule},
	} {
		cmd := exec.CommandContext(t.Context(), gobin, args...)
		cmd.Dir = repoRoot()
		b, err := cmd.Output()
		if err != nil {
			continue
		}
		var m struct{ Dir string }
		if json.Unmarshal(b, &m) == nil && m.Dir != "" {
			dir = m.Dir
			break
		}
	}
	if dir == "" {
		t.Fatalf("cannot locate %s in the module cache; is it still required in go.mod?", PebbleModule)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-o", out+string(filepath.Separator),
		"./cmd/pebble", "./cmd/pebble-challtestsrv")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pebble in %s: %v\n%s", dir, err, b)
	}
	return filepath.Join(out, "pebble"), filepath.Join(out, "pebble-challtestsrv")
}

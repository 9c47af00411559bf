package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Paths found once by TestMain and read by every test.
var (
	// repoRoot is the module root (the directory of go.mod).
	repoRoot string
	// gatewayBin is the gateway binary built for this run.
	gatewayBin string
	// buildErr, when set, is why the binary could not be built; tests fail with it.
	buildErr error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// Seconds to minutes, and outside tools: not for the quick inner loop.
		fmt.Println("e2e: skipped in -short mode")
		return 0
	}
	tmp, err := os.MkdirTemp("", "portcullis-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if repoRoot, err = moduleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// E2E_GATEWAY_BIN names a prebuilt binary to test instead (a release build, say).
	if gatewayBin = os.Getenv("E2E_GATEWAY_BIN"); gatewayBin == "" {
		gatewayBin, buildErr = build(tmp)
	}
	defer removeImages() // deploy_test.go's images
	return m.Run()
}

// build compiles ./cmd/gateway from the module root into dir.
func build(dir string) (bin string, err error) {
	bin = filepath.Join(dir, "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gateway: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of go.mod, as `go env GOMOD` reports it.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// needGateway fails the test when the binary could not be built.
func needGateway(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("gateway binary not available: %v", buildErr)
	}
}

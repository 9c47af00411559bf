package e2e

import (
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerImage builds deploy/Dockerfile (FROM scratch around a static binary, as
// the file's comment says to), runs it with its defaults, and checks that the container
// serves the registry over TLS with its generated CA and admin password.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	d := newDockerUntrusted(t)
	ctx := t.Context()
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "gateway"), "./cmd/gateway")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	tag := "portcullis-e2e:" + strings.ToLower(rand.Text()[:8])
	d.run("", "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { cleanupCmd(d.bin, "rmi", "-f", tag) })

	addr := freeAddr(t)
	name := "portcullis-e2e-" + strings.ToLower(rand.Text()[:8])
	d.run("", "run", "-d", "--name", name, "-p", addr+":8443", tag)
	t.Cleanup(func() { cleanupCmd(d.bin, "rm", "-f", name) })

	// The CA and the password live in the container; read them the way a user would.
	ca := filepath.Join(t.TempDir(), "ca.crt")
	var logs string
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut, err := d.try("", "logs", name)
		if err != nil {
			t.Fatalf("docker logs: %v: %s", err, errOut)
		}
		logs = out + errOut // the gateway logs to stderr
		if strings.Contains(logs, "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container not ready:\n%s", logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.run("", "cp", name+":/data/certs/ca.crt", ca)
	pass := printedPasswords(logs)
	if len(pass) != 1 {
		t.Fatalf("want one printed admin password in the container log, got %d:\n%s", len(pass), logs)
	}
	client, err := caClient(ca)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	url := "https://localhost:" + port + "/v2/"
	var code int
	for time.Now().Before(deadline) {
		if code = status(t, client, url, "admin", pass[0]); code == http.StatusOK {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatalf("GET /v2/ as admin through the container: %d", code)
	}
	if code := status(t, client, url, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ anonymously: %d, want 401", code)
	}
}

package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docker runs the docker CLI against the machine's daemon with its own client config dir
// (so logins stay out of ~/.docker), trusting the gateway's CA through
// /etc/docker/certs.d/HOST:PORT/ca.crt, which it removes at the end.
type docker struct {
	t      *testing.T
	bin    string
	config string
}

// newDocker skips the test when no daemon answers (or there is no docker CLI), even under
// CI: a daemon is not something CI can be asked to provide. It trusts the gateway's CA
// through /etc/docker/certs.d/HOST:PORT/ca.crt.
func newDocker(t *testing.T, g *gateway) *docker {
	t.Helper()
	d := newDockerUntrusted(t)
	d.trust(g)
	return d
}

// newDockerUntrusted is newDocker without the certs.d step.
func newDockerUntrusted(t *testing.T) *docker {
	t.Helper()
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skipf("no docker CLI, so no Docker daemon to test with: %v", err)
	}
	d := &docker{t: t, bin: bin, config: t.TempDir()}
	if _, stderr, err := d.try("", "info"); err != nil {
		t.Skipf("no Docker daemon answers (docker info: %v: %s)", err, strings.TrimSpace(stderr))
	}
	return d
}

// trust places the gateway's CA where the daemon looks for HOST:PORT, removed at the end.
func (d *docker) trust(g *gateway) {
	t := d.t
	t.Helper()
	certs := filepath.Join("/etc/docker/certs.d", g.Host)
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Skipf("cannot trust the gateway CA for the daemon: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(certs) })
	pem, err := os.ReadFile(g.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, "ca.crt"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d *docker) try(stdin string, args ...string) (stdout, stderr string, err error) {
	d.t.Helper()
	return tryCmd(d.t, stdin, d.bin, append([]string{"--config", d.config}, args...)...)
}

func (d *docker) run(stdin string, args ...string) string {
	d.t.Helper()
	return must(d.t)(d.try(stdin, args...))
}

// importScratch makes an image FROM scratch holding one small random file, tagged ref,
// and removes it from the daemon at the end.
func (d *docker) importScratch(ref string) {
	d.t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte("hello " + rand.Text() + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(body))}); err != nil {
		d.t.Fatal(err)
	}
	tw.Write(body)
	if err := tw.Close(); err != nil {
		d.t.Fatal(err)
	}
	file := filepath.Join(d.t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.run("", "import", file, ref)
	d.t.Cleanup(func() { cleanupCmd(d.bin, "rmi", "-f", ref) })
}

func TestDocker(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	d := newDocker(t, g)

	repo := g.Host + "/" + adminUser + "/hello"
	ref := repo + ":1"
	d.importScratch(ref)
	id := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref))

	out := d.run(adminPass, "login", g.Host, "-u", adminUser, "--password-stdin")
	if !strings.Contains(out, "Login Succeeded") {
		t.Errorf("docker login said %q, want Login Succeeded", out)
	}
	d.run("", "push", ref)
	digests := d.run("", "image", "inspect", "--format", `{{join .RepoDigests "\n"}}`, ref)
	var digest string
	for l := range strings.Lines(digests) {
		if r, dg, ok := strings.Cut(strings.TrimSpace(l), "@"); ok && r == repo {
			digest = dg
		}
	}
	if digest == "" {
		t.Fatalf("no repo digest for %s after push: %q", repo, digests)
	}

	d.run("", "rmi", ref)
	if _, _, err := d.try("", "image", "inspect", ref); err == nil {
		t.Fatalf("%s still present after docker rmi", ref)
	}
	d.run("", "pull", ref)
	if got := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref)); got != id {
		t.Errorf("pulled image id = %s, want %s (pushed)", got, id)
	}
	got := strings.Fields(d.run("", "image", "inspect", "--format", `{{join .RepoDigests " "}}`, ref))
	if !slices.Contains(got, repo+"@"+digest) {
		t.Errorf("pulled repo digests = %v, want %s@%s", got, repo, digest)
	}

	d.run("", "logout", g.Host)
	d.run("", "rmi", ref)
	// The daemon treats 127.0.0.0/8 as an insecure registry and, after the 401 over
	// TLS, retries in plain HTTP, so the message it ends with varies; only failure counts.
	if _, stderr, err := d.try("", "pull", ref); err == nil {
		t.Errorf("docker pull after logout succeeded, want an authentication error")
	} else {
		t.Logf("docker pull after logout failed as it should: %s", strings.TrimSpace(stderr))
	}
}

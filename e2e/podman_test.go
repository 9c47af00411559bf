package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// podman runs the podman CLI with its own storage under a temp dir, so the test neither
// needs nor touches the machine's containers storage. vfs needs no kernel overlay support
// and cgroupfs/file events no systemd, which sandboxes and CI containers often lack.
type podman struct {
	t        *testing.T
	bin      string
	global   []string
	certDir  string
	authFile string
}

func newPodman(t *testing.T, g *gateway, user, pass string) *podman {
	t.Helper()
	dir := t.TempDir()
	p := &podman{
		t:   t,
		bin: testenv.NeedTool(t, "podman"),
		global: []string{
			"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--tmpdir", filepath.Join(dir, "tmp"),
			"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		},
		certDir:  g.certDir(t),
		authFile: filepath.Join(dir, "auth.json"),
	}
	t.Cleanup(func() {
		// Images only: `system reset` would also prune networks, which are machine-wide.
		cleanupCmd(p.bin, append(p.global, "rmi", "--all", "--force")...)
	})
	p.run(pass, "login", "--cert-dir", p.certDir, "--authfile", p.authFile, "-u", user, "--password-stdin", g.Host)
	return p
}

func (p *podman) try(stdin string, args ...string) (stdout, stderr string, err error) {
	p.t.Helper()
	return tryCmd(p.t, stdin, p.bin, append(p.global, args...)...)
}

func (p *podman) run(stdin string, args ...string) string {
	p.t.Helper()
	return must(p.t)(p.try(stdin, args...))
}

// inspect returns `podman image inspect --format format ref`, trimmed.
func (p *podman) inspect(ref, format string) string {
	p.t.Helper()
	return strings.TrimSpace(p.run("", "image", "inspect", "--format", format, ref))
}

func TestPodman(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "podman")
	testenv.NeedTool(t, "skopeo") // deletes the image
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	p := newPodman(t, g, adminUser, adminPass)

	ref := g.Host + "/" + adminUser + "/pod:1"
	p.run("", "load", "-i", writeDockerArchive(t, randomImage(t, 2), ref))
	id := p.inspect(ref, "{{.Id}}")

	digestFile := filepath.Join(t.TempDir(), "digest")
	p.run("", "push", "--cert-dir", p.certDir, "--authfile", p.authFile, "--digestfile", digestFile, ref)
	pushed, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatalf("podman push wrote no digest file: %v", err)
	}
	digest := strings.TrimSpace(string(pushed))

	p.run("", "rmi", ref)
	if _, _, err := p.try("", "image", "exists", ref); err == nil {
		t.Fatalf("image %s still present after podman rmi", ref)
	}
	p.run("", "pull", "--cert-dir", p.certDir, "--authfile", p.authFile, ref)
	if got := p.inspect(ref, "{{.Id}}"); got != id {
		t.Errorf("pulled image id = %s, want %s (pushed)", got, id)
	}
	if got := p.inspect(ref, "{{.Digest}}"); got != digest {
		t.Errorf("pulled manifest digest = %s, want %s (pushed)", got, digest)
	}

	s := newSkopeo(t, g, adminUser, adminPass)
	if stderr, err := s.delete(adminUser + "/pod@" + digest); err != nil {
		t.Fatalf("skopeo delete: %v\n%s", err, stderr)
	}
	p.run("", "rmi", ref)
	_, stderr, err := p.try("", "pull", "--cert-dir", p.certDir, "--authfile", p.authFile, ref)
	if err == nil {
		t.Fatalf("podman pull %s after delete succeeded", ref)
	}
	if !strings.Contains(strings.ToLower(stderr), "manifest unknown") && !strings.Contains(stderr, "not found") {
		t.Errorf("podman pull after delete: stderr %q does not say the manifest is unknown", stderr)
	}
}

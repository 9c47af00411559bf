package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// skopeo runs the skopeo CLI against one gateway as one user: its own auth file, and the
// gateway's CA as the only trust for the registry.
type skopeo struct {
	t        *testing.T
	bin      string
	g        *gateway
	certDir  string
	authFile string
}

// newSkopeo logs user in with `skopeo login` (password on stdin) and returns the client.
func newSkopeo(t *testing.T, g *gateway, user, pass string) *skopeo {
	t.Helper()
	s := &skopeo{
		t:        t,
		bin:      testenv.NeedTool(t, "skopeo"),
		g:        g,
		certDir:  g.certDir(t),
		authFile: filepath.Join(t.TempDir(), "auth.json"),
	}
	runCmd(t, pass, s.bin, "login", "--cert-dir", s.certDir, "--authfile", s.authFile,
		"-u", user, "--password-stdin", g.Host)
	return s
}

// ref is a docker:// transport reference to repo (with :tag or @digest) on the gateway.
func (s *skopeo) ref(repo string) string { return "docker://" + s.g.Host + "/" + repo }

// copy copies src to dst (transport references), trusting the gateway's CA both ways.
func (s *skopeo) copy(src, dst string) (stdout, stderr string, err error) {
	s.t.Helper()
	return tryCmd(s.t, "", s.bin, "copy", "--authfile", s.authFile,
		"--src-cert-dir", s.certDir, "--dest-cert-dir", s.certDir, src, dst)
}

// push copies the OCI layout dir (tag ociTag) to repo:tag and fails the test on error.
func (s *skopeo) push(dir, repoTag string) {
	s.t.Helper()
	if out, errOut, err := s.copy("oci:"+dir+":"+ociTag, s.ref(repoTag)); err != nil {
		s.t.Fatalf("skopeo push to %s: %v\n%s%s", repoTag, err, out, errOut)
	}
}

// pull copies repo (with :tag or @digest) to a new OCI layout and returns its directory.
func (s *skopeo) pull(repoRef string) (dir string, stderr string, err error) {
	s.t.Helper()
	dir = filepath.Join(s.t.TempDir(), "pulled")
	_, stderr, err = s.copy(s.ref(repoRef), "oci:"+dir+":"+ociTag)
	return dir, stderr, err
}

// delete runs `skopeo delete` on repo (with :tag or @digest).
func (s *skopeo) delete(repoRef string) (stderr string, err error) {
	s.t.Helper()
	_, stderr, err = tryCmd(s.t, "", s.bin, "delete", "--authfile", s.authFile,
		"--cert-dir", s.certDir, s.ref(repoRef))
	return stderr, err
}

func TestSkopeo(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "skopeo")
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	s := newSkopeo(t, g, adminUser, adminPass)

	src := writeLayout(t, randomImage(t, 3))
	want := layoutDigest(t, src)
	repo := adminUser + "/app"
	s.push(src, repo+":1")

	dir, stderr, err := s.pull(repo + ":1")
	if err != nil {
		t.Fatalf("skopeo pull: %v\n%s", err, stderr)
	}
	if got := layoutDigest(t, dir); got != want {
		t.Errorf("pulled manifest digest = %s, want %s (pushed)", got, want)
	}
	if out, _ := runCmd(t, "", s.bin, "inspect", "--authfile", s.authFile, "--cert-dir", s.certDir,
		"--format", "{{.Digest}}", s.ref(repo+":1")); strings.TrimSpace(out) != want.String() {
		t.Errorf("skopeo inspect digest = %q, want %s", strings.TrimSpace(out), want)
	}

	if stderr, err := s.delete(repo + "@" + want.String()); err != nil {
		t.Fatalf("skopeo delete: %v\n%s", err, stderr)
	}
	_, stderr, err = s.pull(repo + ":1")
	if err == nil {
		t.Fatalf("skopeo pull of %s:1 after delete succeeded, want manifest unknown", repo)
	}
	if !strings.Contains(strings.ToLower(stderr), "manifest unknown") && !strings.Contains(stderr, "not found") {
		t.Errorf("skopeo pull after delete: stderr %q does not say the manifest is unknown", stderr)
	}
}

package e2e

import (
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// The images deploy/ builds, made once per run from a clean copy of the checkout and
// removed by TestMain at the end (removeImages).
var (
	checkoutOnce sync.Once
	checkoutDir  string
	checkoutErr  error

	gatewayBuild, registryBuild imageBuild
	builtImages                 []string
)

// imageBuild is one deploy/ script run once for the whole test run.
type imageBuild struct {
	once sync.Once
	tag  string
	err  error
	log  string
}

// build runs script (a path in the clean checkout) with a fresh tag under name, once.
func (b *imageBuild) build(t *testing.T, script, name string) string {
	t.Helper()
	dir := cleanCheckout(t)
	b.once.Do(func() {
		tag := name + ":" + strings.ToLower(rand.Text()[:8])
		start := time.Now()
		cmd := exec.Command("bash", script, tag)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		b.log = string(out) + "(" + time.Since(start).Round(time.Second).String() + ")"
		if b.err = err; err == nil {
			b.tag = tag
			builtImages = append(builtImages, tag)
		}
	})
	if b.err != nil {
		t.Fatalf("%s: %v\n%s", script, b.err, b.log)
	}
	return b.tag
}

// removeImages removes the images the tests built; TestMain calls it after the run.
func removeImages() {
	for _, tag := range builtImages {
		cleanupCmd("docker", "rmi", "-f", tag)
	}
}

// cleanCheckout copies the files git tracks (nothing built or left over) into a new
// directory, as a fresh clone would have them, and returns it.
func cleanCheckout(t *testing.T) string {
	t.Helper()
	git := testenv.NeedTool(t, "git")
	checkoutOnce.Do(func() {
		checkoutDir, checkoutErr = os.MkdirTemp("", "portcullis-checkout-")
		if checkoutErr != nil {
			return
		}
		out, err := exec.Command(git, "-C", repoRoot, "ls-files", "-z").Output()
		if err != nil {
			checkoutErr = err
			return
		}
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if checkoutErr = copyFile(filepath.Join(repoRoot, f), filepath.Join(checkoutDir, f)); checkoutErr != nil {
				return
			}
		}
		// The build stamps the version from git; a checkout has its .git.
		checkoutErr = exec.Command("cp", "-a", filepath.Join(repoRoot, ".git"), filepath.Join(checkoutDir, ".git")).Run()
	})
	if checkoutErr != nil {
		t.Fatalf("copying the checkout: %v", checkoutErr)
	}
	return checkoutDir
}

func copyFile(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // deleted in the work tree, not yet committed
		}
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if info.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// gatewayImage builds the gateway image with the documented command,
// deploy/build-image.sh, in a clean checkout, once, and returns its tag.
func gatewayImage(t *testing.T) string {
	t.Helper()
	testenv.NeedTool(t, "go")
	return gatewayBuild.build(t, "deploy/build-image.sh", "portcullis-e2e")
}

// registryImage builds the registry image of the sidecar profile from Debian's
// docker-registry with deploy/build-registry-image.sh, once, and returns its tag.
func registryImage(t *testing.T) string {
	t.Helper()
	testenv.NeedTool(t, "docker-registry")
	return registryBuild.build(t, "deploy/build-registry-image.sh", "portcullis-e2e-registry")
}

// waitHealthy waits until the container's HEALTHCHECK (gateway health) reports healthy.
func (d *docker) waitHealthy(container string) {
	d.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _, err := d.try("", "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", container)
		state := strings.TrimSpace(out)
		if err == nil && state == "running healthy" {
			return
		}
		if strings.HasPrefix(state, "exited") || time.Now().After(deadline) {
			logs, errLogs, _ := d.try("", "logs", container)
			health, _, _ := d.try("", "inspect", "--format", "{{json .State.Health}}", container)
			d.t.Fatalf("container %s is %q, not running healthy\nhealth: %s\nlogs:\n%s%s", container, state, health, logs, errLogs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// gatewayFromContainer reads what a user reads from a gateway container: the admin
// password in its log and the CA it generated in /data/certs. It returns a gateway
// value for the skopeo helpers, reached at host (127.0.0.1:PORT).
func (d *docker) gatewayFromContainer(container, host string) (*gateway, string) {
	t := d.t
	t.Helper()
	out, errOut, err := d.try("", "logs", container)
	if err != nil {
		t.Fatalf("docker logs: %v", err)
	}
	pass := printedPasswords(out + errOut)
	if len(pass) != 1 {
		t.Fatalf("want one printed admin password in the log of %s, got %d:\n%s%s", container, len(pass), out, errOut)
	}
	ca := filepath.Join(t.TempDir(), "ca.crt")
	d.run("", "cp", container+":/data/certs/ca.crt", ca)
	return &gateway{t: t, Host: host, URL: "https://" + host, CAFile: ca}, pass[0]
}

// pushPull pushes a random image through the gateway with skopeo as user and pulls it
// back, comparing manifest digests.
func pushPull(t *testing.T, g *gateway, user, pass, repo string) {
	t.Helper()
	s := newSkopeo(t, g, user, pass)
	src := writeLayout(t, randomImage(t, 2))
	want := layoutDigest(t, src)
	s.push(src, repo+":1")
	dir, stderr, err := s.pull(repo + ":1")
	if err != nil {
		t.Fatalf("skopeo pull %s: %v\n%s", repo, err, stderr)
	}
	if got := layoutDigest(t, dir); got != want {
		t.Errorf("pulled %s digest %s, want %s (pushed)", repo, got, want)
	}
}

// TestContainerImage builds the image as the README says (deploy/build-image.sh in a
// clean checkout), checks that the wrong build contexts fail without producing an image,
// runs it with its defaults and a published port, waits for its HEALTHCHECK, and pushes
// and pulls through it with skopeo.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	d := newDockerUntrusted(t)
	testenv.NeedTool(t, "skopeo")
	dir := cleanCheckout(t)
	tag := gatewayImage(t)
	t.Logf("deploy/build-image.sh: %s", strings.TrimSpace(gatewayBuild.log[strings.LastIndex(gatewayBuild.log, "build-image: built"):]))

	// A build from the repository root or from deploy/ must fail and leave no image.
	for _, ctx := range []struct{ name, dockerfile, dir string }{
		{"repository root", "deploy/Dockerfile", "."},
		{"deploy directory", "deploy/Dockerfile", "deploy"},
		{"registry image from the root", "deploy/registry.Dockerfile", "."},
	} {
		wrong := "portcullis-e2e-wrong:" + strings.ToLower(rand.Text()[:8])
		cmd := exec.CommandContext(t.Context(), d.bin, "--config", d.config, "build", "-q", "-f", ctx.dockerfile, "-t", wrong, ctx.dir)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil {
			cleanupCmd(d.bin, "rmi", "-f", wrong)
			t.Errorf("docker build -f %s %s (%s) succeeded; it must fail", ctx.dockerfile, ctx.dir, ctx.name)
		} else if !strings.Contains(string(out), "rootfs") {
			t.Errorf("docker build from the %s failed without naming the missing rootfs:\n%s", ctx.name, out)
		}
		if _, _, err := d.try("", "image", "inspect", wrong); err == nil {
			cleanupCmd(d.bin, "rmi", "-f", wrong)
			t.Errorf("a build from the %s left an image", ctx.name)
		}
	}

	cfg := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Volumes}} {{json .Config.Healthcheck.Test}}", tag))
	if cfg != `65532:65532 {"/data":{}} ["CMD","/gateway","health"]` {
		t.Errorf("image user, volumes, healthcheck = %s", cfg)
	}
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	name := "portcullis-e2e-" + strings.ToLower(rand.Text()[:8])
	d.run("", "run", "-d", "--name", name, "-p", addr+":8443", "--health-interval", "1s",
		"-e", "GATEWAY_PUBLIC_URL=https://localhost:"+port, tag)
	t.Cleanup(func() { cleanupCmd(d.bin, "rm", "-f", "-v", name) })
	d.waitHealthy(name)
	// Every process runs as 65532: the gateway, and a `gateway health` probe if one is
	// running at that moment (every second here).
	top := strings.Fields(d.run("", "top", name, "-o", "pid,uid"))
	for i := 3; i < len(top); i += 2 {
		if top[i] != "65532" {
			t.Errorf("docker top: %v, want every process running as uid 65532", top)
		}
	}
	if len(top) < 4 {
		t.Errorf("docker top: %v, want the gateway process", top)
	}
	g, pass := d.gatewayFromContainer(name, addr)
	if out, errOut, _ := d.try("", "logs", name); !strings.Contains(out+errOut, "docker login localhost:"+port) {
		t.Errorf("startup hints do not name the published port (docker login localhost:%s):\n%s", port, errOut)
	}
	pushPull(t, g, "admin", pass, "admin/hello")
}

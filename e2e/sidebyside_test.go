package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// seedNginx is examples/nginx-compat's nginx configuration (seed 002's setup), adapted to
// run here: each replacement must match exactly once, so a change to the example that
// this test does not follow fails loudly.
func seedNginx(t *testing.T, dir, listen, registry, cert, key, htpasswd string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "examples", "nginx-compat", "etc", "nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(src)
	for _, r := range [][2]string{
		{"user www-data;", "daemon off;\nuser www-data;"},
		{"error_log /var/log/nginx/error.log warn;", "error_log " + dir + "/error.log warn;"},
		{"pid /run/nginx.pid;", "pid " + dir + "/nginx.pid;"},
		{"access_log /var/log/nginx/access.log;", "access_log " + dir + "/access.log;"},
		{"server registry:5000;", "server " + registry + ";"},
		{"listen 443 ssl;", "listen " + listen + " ssl;"},
		{"/etc/ssl/certs/docker-registry;", cert + ";"},
		{"/etc/ssl/private/docker-registry;", key + ";"},
		{"auth_basic_user_file passwd;", "auth_basic_user_file " + htpasswd + ";"},
	} {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("examples/nginx-compat nginx.conf holds %q %d times, want once; update this test", r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// startNginx runs nginx in the foreground on file and waits until url answers.
func startNginx(t *testing.T, file, prefix, url string, client *http.Client) {
	t.Helper()
	bin := testenv.NeedTool(t, "nginx")
	var out testenv.SyncBuffer
	cmd := exec.Command(bin, "-c", file, "-p", prefix, "-e", filepath.Join(prefix, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			errLog, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), errLog)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			errLog, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s", out.String(), errLog)
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer %s within 30s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getV2 is what a client sees of GET /v2/ as user (no credentials when user is "").
func getV2(t *testing.T, client *http.Client, base, user, pass string) challenge {
	t.Helper()
	return get(t, client, base+"/v2/", user, pass)
}

// TestSideBySide runs seed 002's nginx configuration (examples/nginx-compat) and the
// configuration `gateway migrate nginx` makes of it in front of the same docker-registry
// 2.8, with the same certificate and htpasswd file, and shows that clients see the same
// thing: the 401 challenge and its headers, login, push and pull, either front reading
// what the other wrote. Then what Portcullis adds: a user refused another's repository
// under the default policy, with a log line saying who, what and why; and the policy the
// converter names (authenticated-all) giving nginx's behaviour back.
func TestSideBySide(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "skopeo")
	testenv.NeedTool(t, "nginx")
	registry := testenv.Registry2(t, "")

	// nginx's workers (www-data) read the htpasswd file at each request: a directory
	// they can traverse.
	dir, err := os.MkdirTemp("", "portcullis-side-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM, certPEM, keyPEM := listenerCertificate(t)
	ca, cert, key, htpasswd := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "htpasswd")
	for f, b := range map[string][]byte{ca: caPEM, cert: certPEM, key: keyPEM} {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeHtpasswd(t, htpasswd, map[string]string{adminUser: adminPass, plainUser: plainPass})
	if err := os.Chmod(htpasswd, 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := caClient(ca)
	if err != nil {
		t.Fatal(err)
	}

	nginxAddr := freeAddr(t)
	conf := seedNginx(t, dir, nginxAddr, registry, cert, key, htpasswd)
	startNginx(t, conf, dir, "https://"+nginxAddr+"/v2/", client)
	nginx := &gateway{t: t, Host: nginxAddr, URL: "https://" + nginxAddr, CAFile: ca}

	// The converter, as a user runs it, on the very file nginx serves.
	needGateway(t)
	yaml := filepath.Join(t.TempDir(), "gateway.yaml")
	_, summary := runCmd(t, "", gatewayBin, "migrate", "nginx", conf, "--out", yaml)
	t.Logf("gateway migrate nginx:\n%s", summary)
	converted, _ := os.ReadFile(yaml)
	for _, want := range []string{"upstream: http://" + registry, "tls_cert: " + cert, "htpasswd: " + htpasswd, "realm: Registry realm"} {
		if !strings.Contains(string(converted), want) {
			t.Errorf("converted configuration lacks %q:\n%s", want, converted)
		}
	}
	// Its own port and data directory; everything else from the converted file.
	portcullis := newGatewayProcess(t, t.TempDir(), "--config", yaml)
	portcullis.CAFile = ca
	portcullis.Start()

	fronts := []struct {
		name string
		g    *gateway
	}{{"nginx", nginx}, {"portcullis", portcullis}}

	t.Run("challenge", func(t *testing.T) {
		for _, c := range []struct{ user, pass string }{{"", ""}, {adminUser, "wrong"}, {adminUser, adminPass}} {
			n, p := getV2(t, client, nginx.URL, c.user, c.pass), getV2(t, client, portcullis.URL, c.user, c.pass)
			if n != p {
				t.Errorf("GET /v2/ as %q: nginx %+v, portcullis %+v", c.user, n, p)
			}
			t.Logf("GET /v2/ as %q: %+v from both", c.user, n)
		}
		if n := getV2(t, client, nginx.URL, "", ""); n.Status != 401 || n.WWWAuthenticate != `Basic realm="Registry realm"` || n.APIVersion != "registry/2.0" {
			t.Errorf("nginx's challenge is not the recipe's: %+v", n)
		}
	})

	// Login, push through one front and pull through the other: one registry behind both.
	digests := map[string]string{}
	for i, f := range fronts {
		other := fronts[1-i]
		s := newSkopeo(t, f.g, adminUser, adminPass)
		src := writeLayout(t, randomImage(t, 2))
		repo := adminUser + "/via-" + f.name
		s.push(src, repo+":1")
		digests[repo] = layoutDigest(t, src).String()
		dir, stderr, err := newSkopeo(t, other.g, adminUser, adminPass).pull(repo + ":1")
		if err != nil {
			t.Fatalf("pushed through %s, pull through %s: %v\n%s", f.name, other.name, err, stderr)
		}
		if got := layoutDigest(t, dir).String(); got != digests[repo] {
			t.Errorf("pushed %s through %s, pulled %s through %s", digests[repo], f.name, got, other.name)
		}
	}

	// What Portcullis adds: bob may push only under bob/ by default. Through nginx, any
	// user pushes anywhere.
	src := writeLayout(t, randomImage(t, 1))
	target := adminUser + "/via-nginx:bob"
	if _, stderr, err := newSkopeo(t, nginx, plainUser, plainPass).copy("oci:"+src+":"+ociTag, "docker://"+nginx.Host+"/"+target); err != nil {
		t.Errorf("nginx refused bob's push to %s (it has no per-repository rules): %v\n%s", target, err, stderr)
	}
	bob := newSkopeo(t, portcullis, plainUser, plainPass)
	_, stderr, err := bob.copy("oci:"+src+":"+ociTag, bob.ref(target))
	if err == nil || !refusal(stderr) {
		t.Errorf("portcullis let bob push to %s: %v\n%s", target, err, stderr)
	}
	if stderr, err := bob.delete(adminUser + "/via-portcullis@" + digests[adminUser+"/via-portcullis"]); err == nil || !refusal(stderr) {
		t.Errorf("portcullis let bob delete alice's image: %v\n%s", err, stderr)
	}
	bob.push(src, plainUser+"/own:1") // his own namespace
	log := portcullis.Log()
	if !strings.Contains(log, "principal="+plainUser) || !strings.Contains(log, "repository="+adminUser+"/via-nginx") || !strings.Contains(log, "status=403") {
		t.Errorf("the gateway log does not record bob's refused push:\n%s", portcullis.LogTail(30))
	}

	// The policy the converter names for nginx's behaviour gives it back.
	portcullis.Stop()
	portcullis.args = append(portcullis.args, "--policy", filepath.Join(repoRoot, "examples", "policies", "authenticated-all"))
	portcullis.Start()
	bob = newSkopeo(t, portcullis, plainUser, plainPass)
	if _, stderr, err := bob.copy("oci:"+src+":"+ociTag, bob.ref(adminUser+"/via-portcullis:bob")); err != nil {
		t.Errorf("with authenticated-all, bob's push to alice/ was refused: %v\n%s", err, stderr)
	}

	// The seed's six proxy_set_header lines alone (no X-Forwarded-Proto): pushes through
	// nginx fail, since the registry hands out http:// upload URLs for the HTTPS port. The
	// gateway converted from the same file needs no such line (it pushed above).
	t.Run("seed headers alone", func(t *testing.T) {
		sdir := filepath.Join(dir, "seed-only")
		if err := os.Mkdir(sdir, 0o755); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		b, _ := os.ReadFile(seedNginx(t, sdir, addr, registry, cert, key, htpasswd))
		const xfp = "        proxy_set_header  X-Forwarded-Proto $scheme;\n"
		if !strings.Contains(string(b), xfp) {
			t.Fatalf("no X-Forwarded-Proto line to remove in the example")
		}
		seedOnly := filepath.Join(sdir, "nginx.conf")
		os.WriteFile(seedOnly, []byte(strings.Replace(string(b), xfp, "", 1)), 0o644)
		startNginx(t, seedOnly, sdir, "https://"+addr+"/v2/", client)
		s := newSkopeo(t, &gateway{t: t, Host: addr, CAFile: ca}, adminUser, adminPass)
		_, stderr, err := s.copy("oci:"+src+":"+ociTag, s.ref(adminUser+"/seed-only:1"))
		if err == nil || !strings.Contains(stderr, "400") {
			t.Fatalf("push through nginx with only the seed's headers: %v, want a 400 (plain HTTP to the HTTPS port); the example's comment is wrong\n%s", err, stderr)
		}
		t.Logf("push through nginx with only the seed's six headers fails as expected: %s", lastLine(stderr))
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

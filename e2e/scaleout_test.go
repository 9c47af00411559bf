package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/internal/testenv"
)

// scaleoutTimeout bounds one script of deploy/scaleout (an image build under load, a
// bring-up, a teardown); nothing asserts on durations, they are logged as numbers.
const scaleoutTimeout = 15 * time.Minute

// TestScaleout brings up each topology of deploy/scaleout with its own scripts (images
// built once, then up.sh, compose.sh, down.sh), and checks through the load balancer what
// issue 14 asks of several replicas: a chunked push whose every request lands on another
// gateway (and registry) completes with the right digest and every replica serves it at
// once; users, groups and policy changed on disk take effect on every replica; a replica
// killed in the middle of a PATCH loses nothing and the client's retry completes; `gateway
// gc --delete` refuses while a replica serves the shared volume and collects with all
// stopped; down.sh leaves no container, network, volume or state behind.
func TestScaleout(t *testing.T) {
	t.Parallel()
	d := newDockerUntrusted(t)
	for _, tool := range []string{"docker-compose", "openssl", "curl", "ldd", "go", "haproxy", "docker-registry"} {
		testenv.NeedTool(t, tool)
	}
	// E2E_SCALEOUT_TAG names images built already (build-images.sh TAG), for a quicker loop.
	tag := os.Getenv("E2E_SCALEOUT_TAG")
	if tag == "" {
		tag = "e2e-" + strings.ToLower(rand.Text()[:8])
		start := time.Now()
		out, err := scaleoutScript(t, nil, "build-images.sh", tag)
		t.Cleanup(func() {
			for _, img := range []string{"gateway", "registry", "haproxy", "versitygw"} {
				cleanupCmd(d.bin, "rmi", "-f", "portcullis-scaleout-"+img+":"+tag)
			}
		})
		if err != nil {
			t.Fatalf("build-images.sh: %v\n%s", err, out)
		}
		t.Logf("images built in %v:\n%s", time.Since(start).Round(time.Second), out)
	}

	for _, topo := range []string{"sidecar", "bundled"} {
		t.Run(topo, func(t *testing.T) {
			t.Parallel()
			so := scaleoutUp(t, d, topo, tag)
			t.Run("hopping push", func(t *testing.T) { so.with(t).hoppingPush(t) })
			t.Run("real clients", func(t *testing.T) { so.with(t).realClients(t) })
			t.Run("shared identity", func(t *testing.T) { so.with(t).sharedIdentity(t) })
			t.Run("shared token key", func(t *testing.T) { so.with(t).sharedTokens(t) })
			t.Run("kill a gateway mid-push", func(t *testing.T) { so.with(t).killMidPush(t, "gw1") })
			if topo == "sidecar" {
				t.Run("kill a registry mid-push", func(t *testing.T) { so.with(t).killMidPush(t, "r1") })
			} else {
				t.Run("gc rule", func(t *testing.T) { so.with(t).gcRule(t) })
			}
			t.Run("audit per replica", func(t *testing.T) { so.with(t).auditPerReplica(t) })
		})
	}
}

// scaleout is one running topology.
type scaleout struct {
	t        *testing.T
	d        *docker
	topo     string
	env      []string // SCALEOUT_* for the scripts
	state    string
	url      string // https://127.0.0.1:PORT of the load balancer
	addr     string
	ca       string
	user     string
	pass     string
	identity string
	client   *http.Client
	gateways []string // pin names in haproxy/lb.cfg
	regs     []string // pin names in haproxy/registries.cfg; [""] for bundled
}

// with is so reporting to t, a subtest of the topology's test.
func (so *scaleout) with(t *testing.T) *scaleout {
	c := *so
	c.t = t
	return &c
}

// scaleoutScript runs deploy/scaleout/NAME with args and extra environment.
func scaleoutScript(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scaleoutTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot, "deploy", "scaleout", name)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scaleoutUp runs up.sh for topo and registers down.sh, asserting the teardown.
func scaleoutUp(t *testing.T, d *docker, topo, tag string) *scaleout {
	t.Helper()
	project := "pcso" + topo + strings.ToLower(rand.Text()[:6])
	state := filepath.Join(os.TempDir(), "portcullis-e2e-"+project)
	so := &scaleout{t: t, d: d, topo: topo, state: state, gateways: []string{"gw1", "gw2"}, regs: []string{""}}
	if topo == "sidecar" {
		so.regs = []string{"r1", "r2"}
	}
	so.env = []string{"SCALEOUT_PROJECT=" + project, "SCALEOUT_STATE=" + state, "SCALEOUT_TAG=" + tag,
		"SCALEOUT_BUILD=never", "SCALEOUT_BIND=127.0.0.1", "SCALEOUT_PORT=", "SCALEOUT_WAIT=240"}
	// One token key shared by every replica, and an audit file per replica.
	so.env = append(so.env, "SCALEOUT_TOKENS=1", "SCALEOUT_AUDIT=1")
	t.Cleanup(func() { so.down() })
	start := time.Now()
	out, err := scaleoutScript(t, so.env, "up.sh", topo)
	if err != nil {
		t.Fatalf("up.sh %s: %v\n%s", topo, err, out)
	}
	t.Logf("%s: up.sh took %v (images built before)\n%s", topo, time.Since(start).Round(100*time.Millisecond), out)
	vars := readEnvFile(t, filepath.Join(state, "scaleout.env"))
	so.url, so.addr, so.ca = vars["SCALEOUT_URL"], vars["SCALEOUT_ADDR"], vars["SCALEOUT_CA"]
	so.user, so.pass, so.identity = vars["SCALEOUT_ADMIN_USER"], vars["SCALEOUT_ADMIN_PASSWORD"], vars["SCALEOUT_IDENTITY"]
	pem, err := os.ReadFile(so.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	so.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	t.Cleanup(so.client.CloseIdleConnections)
	return so
}

// down runs down.sh and checks that nothing of the project is left: containers, networks,
// volumes (by the compose project label), and the state directory.
func (so *scaleout) down() {
	t := so.t
	start := time.Now()
	if t.Failed() {
		if out, err := scaleoutScript(t, so.env, "compose.sh", so.topo, "logs", "--no-color", "--tail", "60"); err == nil {
			t.Logf("compose logs:\n%s", out)
		}
	}
	out, err := scaleoutScript(t, so.env, "down.sh", so.topo)
	if err != nil {
		t.Errorf("down.sh %s: %v\n%s", so.topo, err, out)
	}
	project := strings.TrimPrefix(so.env[0], "SCALEOUT_PROJECT=")
	label := "label=com.docker.compose.project=" + project
	for _, what := range [][]string{
		{"ps", "-a", "-q", "--filter", label},
		{"network", "ls", "-q", "--filter", label},
		{"volume", "ls", "-q", "--filter", label},
	} {
		if left, _, _ := tryCmd(t, "", so.d.bin, what...); strings.TrimSpace(left) != "" {
			t.Errorf("after down.sh, docker %s lists %s", strings.Join(what[:2], " "), strings.TrimSpace(left))
		}
	}
	if _, err := os.Stat(so.state); !os.IsNotExist(err) {
		t.Errorf("after down.sh, the state directory %s is still there (%v)", so.state, err)
	}
	t.Logf("%s: down.sh took %v, nothing left", so.topo, time.Since(start).Round(100*time.Millisecond))
}

func (so *scaleout) compose(args ...string) (string, error) {
	return scaleoutScript(so.t, so.env, "compose.sh", append([]string{so.topo}, args...)...)
}

// container is the id of a service's container.
func (so *scaleout) container(service string) string {
	t := so.t
	t.Helper()
	out, err := so.compose("ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" {
		t.Fatalf("compose ps -q %s: %v %q", service, err, out)
	}
	return id
}

// pin names the gateway and registry a request should reach; "" lets the balancer choose.
type pin struct{ gw, reg string }

// answered is who served a request, from the load balancers' X-Scaleout-* headers.
type answered struct {
	code    int
	gw, reg string
	header  http.Header
	body    []byte
}

// do sends one request through the load balancer as user:pass ("" for anonymous). path
// may also be an absolute URL on the balancer (a Location the gateway answered).
func (so *scaleout) do(p pin, method, path, user, pass string, hdr map[string]string, body io.Reader, length int64) (answered, error) {
	url := so.url + path
	if strings.HasPrefix(path, "https://") {
		if !strings.HasPrefix(path, so.url+"/") {
			return answered{}, fmt.Errorf("location %s is not on the balancer %s", path, so.url)
		}
		url = path
	}
	req, err := http.NewRequestWithContext(so.t.Context(), method, url, body)
	if err != nil {
		return answered{}, err
	}
	if body != nil {
		req.ContentLength = length
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if p.gw != "" {
		req.Header.Set("X-Scaleout-Pin-Gateway", p.gw)
	}
	if p.reg != "" {
		req.Header.Set("X-Scaleout-Pin-Registry", p.reg)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := so.client.Do(req)
	if err != nil {
		return answered{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answered{code: resp.StatusCode, gw: resp.Header.Get("X-Scaleout-Gateway"),
		reg: resp.Header.Get("X-Scaleout-Registry"), header: resp.Header, body: b}, err
}

// admin is do as the admin user, failing the test on a transport error.
func (so *scaleout) admin(p pin, method, path string, hdr map[string]string, body []byte) answered {
	so.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	a, err := so.do(p, method, path, so.user, so.pass, hdr, rd, int64(len(body)))
	if err != nil {
		so.t.Fatalf("%s %s via %+v: %v", method, path, p, err)
	}
	return a
}

// pushBlob uploads b to repo with a POST and one PUT (monolithic; registry 2.8 ignores a
// body on the POST) through p, failing the test unless it is created.
func (so *scaleout) pushBlob(p pin, repo string, b []byte) string {
	so.t.Helper()
	d := sha256Hex(b)
	a := so.admin(p, "POST", "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if a.code != http.StatusAccepted {
		so.t.Fatalf("POST via %+v: %d %s", p, a.code, a.body)
	}
	loc := a.header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if a := so.admin(p, "PUT", loc+sep+"digest="+d, map[string]string{"Content-Type": "application/octet-stream"}, b); a.code != http.StatusCreated {
		so.t.Fatalf("PUT of %d bytes via %+v: %d %s", len(b), p, a.code, a.body)
	}
	return d
}

// hops lists the pins of a hopping sequence: each request on another gateway than the
// one before, and in topology 1 on another registry too.
func (so *scaleout) hops(n int) []pin {
	out := make([]pin, n)
	for i := range out {
		out[i] = pin{so.gateways[i%len(so.gateways)], so.regs[i%len(so.regs)]}
	}
	return out
}

// checkPinned fails unless a answered from the pinned replicas.
func (so *scaleout) checkPinned(what string, p pin, a answered) {
	so.t.Helper()
	if a.gw != p.gw || a.reg != p.reg {
		so.t.Errorf("%s: answered by gateway %q registry %q, pinned to %q %q", what, a.gw, a.reg, p.gw, p.reg)
	}
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

// hoppingPush: POST, four PATCHes and the PUT of one blob each on the next gateway (and
// registry); then a manifest; then every gateway x registry serves both at once.
func (so *scaleout) hoppingPush(t *testing.T) {
	repo := so.user + "/hop"
	blob := make([]byte, 13<<20+12345) // > two S3 parts of 5 MiB, not block aligned
	rand.Read(blob)
	chunks := 4
	size := (len(blob) + chunks - 1) / chunks
	steps := so.hops(chunks + 2)
	a := so.admin(steps[0], "POST", "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if a.code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", a.code, a.body)
	}
	so.checkPinned("POST", steps[0], a)
	loc := a.header.Get("Location")
	var log []string
	log = append(log, fmt.Sprintf("POST %s/%s", a.gw, a.reg))
	for i := range chunks {
		off, end := i*size, min((i+1)*size, len(blob))
		p := steps[1+i]
		a = so.admin(p, "PATCH", loc, map[string]string{"Content-Type": "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", off, end-1)}, blob[off:end])
		if a.code != http.StatusAccepted {
			t.Fatalf("PATCH %d-%d via %+v: %d %s", off, end-1, p, a.code, a.body)
		}
		so.checkPinned("PATCH", p, a)
		log = append(log, fmt.Sprintf("PATCH %s/%s", a.gw, a.reg))
		loc = a.header.Get("Location")
	}
	digest := sha256Hex(blob)
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	p := steps[chunks+1]
	a = so.admin(p, "PUT", loc+sep+"digest="+digest, nil, nil)
	if a.code != http.StatusCreated || a.header.Get("Docker-Content-Digest") != digest {
		t.Fatalf("PUT via %+v: %d %s (digest %q, want %s)", p, a.code, a.body, a.header.Get("Docker-Content-Digest"), digest)
	}
	so.checkPinned("PUT", p, a)
	log = append(log, fmt.Sprintf("PUT %s/%s", a.gw, a.reg))
	t.Logf("%d MiB blob in %d chunks, requests landed on: %s", len(blob)>>20, chunks, strings.Join(log, ", "))

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cfgD := so.pushBlob(pin{}, repo, cfg)
	man := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		cfgD, len(cfg), digest, len(blob))
	mt := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json", "Accept": "application/vnd.oci.image.manifest.v1+json"}
	if a := so.admin(steps[1], "PUT", "/v2/"+repo+"/manifests/v1", mt, man); a.code != http.StatusCreated {
		t.Fatalf("manifest PUT: %d %s", a.code, a.body)
	}
	// At once: no wait between the push and the pulls.
	for _, gw := range so.gateways {
		for _, reg := range so.regs {
			p := pin{gw, reg}
			m := so.admin(p, "GET", "/v2/"+repo+"/manifests/v1", mt, nil)
			so.checkPinned("manifest GET", p, m)
			if m.code != 200 || sha256Hex(m.body) != sha256Hex(man) {
				t.Errorf("manifest GET via %+v: %d, digest %s, want 200 %s", p, m.code, sha256Hex(m.body), sha256Hex(man))
			}
			b := so.admin(p, "GET", "/v2/"+repo+"/blobs/"+digest, nil, nil)
			so.checkPinned("blob GET", p, b)
			if b.code != 200 || sha256Hex(b.body) != digest {
				t.Errorf("blob GET via %+v: %d, %d bytes, digest %s, want %s", p, b.code, len(b.body), sha256Hex(b.body), digest)
			}
		}
	}
}

// ggcrOptions reach the load balancer with go-containerregistry, pinned to p.
func (so *scaleout) ggcrOptions(t *testing.T, p pin) []remote.Option {
	base := so.client.Transport.(*http.Transport).Clone()
	base.TLSClientConfig = base.TLSClientConfig.Clone()
	base.TLSClientConfig.ServerName = "localhost"
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, so.addr)
	}
	t.Cleanup(base.CloseIdleConnections)
	return []remote.Option{remote.WithContext(t.Context()),
		remote.WithAuth(&authn.Basic{Username: so.user, Password: so.pass}),
		remote.WithTransport(pinTransport{base, p})}
}

// pinTransport adds the pin headers to every request.
type pinTransport struct {
	base http.RoundTripper
	p    pin
}

func (pt pinTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if pt.p.gw != "" {
		r.Header.Set("X-Scaleout-Pin-Gateway", pt.p.gw)
	}
	if pt.p.reg != "" {
		r.Header.Set("X-Scaleout-Pin-Registry", pt.p.reg)
	}
	return pt.base.RoundTrip(r)
}

// realClients: skopeo pushes an image through the balancer (its requests spread over the
// replicas as they come); go-containerregistry pulls it from every replica.
func (so *scaleout) realClients(t *testing.T) {
	skopeo := testenv.NeedTool(t, "skopeo")
	img := randomImage(t, 3)
	layout := writeLayout(t, img)
	ref := so.addr + "/" + so.user + "/real:1"
	start := time.Now()
	runCmd(t, "", skopeo, "copy", "-q", "--retry-times", "3", "--dest-creds", so.user+":"+so.pass,
		"--dest-cert-dir", filepath.Dir(so.ca), "oci:"+layout+":"+ociTag, "docker://"+ref)
	t.Logf("skopeo push of 3 layers through the balancer: %v", time.Since(start).Round(10*time.Millisecond))
	want := mustDigest(t, img).String()
	for _, gw := range so.gateways {
		for _, reg := range so.regs {
			r, err := name.ParseReference("scaleout.e2e.test:443/" + so.user + "/real:1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Image(r, so.ggcrOptions(t, pin{gw, reg})...)
			if err != nil {
				t.Errorf("pull via %s %s: %v", gw, reg, err)
				continue
			}
			if d := mustDigest(t, got).String(); d != want {
				t.Errorf("pull via %s %s: digest %s, want %s", gw, reg, d, want)
			}
			layers, _ := got.Layers()
			for _, l := range layers {
				rc, err := l.Compressed() // ggcr verifies the digest while reading
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				if err != nil {
					t.Errorf("layer via %s %s: %v", gw, reg, err)
				}
			}
		}
	}
}

// replaceIdentity atomically replaces an identity file with content readable by the
// replicas (uid 65532), as configuration management distributing it would.
func (so *scaleout) replaceIdentity(name string, content []byte) {
	t := so.t
	t.Helper()
	path := filepath.Join(so.identity, name)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tmp, 0o644)
	os.Chown(tmp, 65532, 65532)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitEveryReplica polls each gateway until check holds for it; it returns how long each
// took. The gateways watch their files and poll every 10 s, so a change is bounded by that.
func (so *scaleout) waitEveryReplica(what string, check func(p pin) bool) map[string]time.Duration {
	t := so.t
	t.Helper()
	start := time.Now()
	took := map[string]time.Duration{}
	for _, gw := range so.gateways {
		deadline := time.Now().Add(45 * time.Second)
		for !check(pin{gw: gw}) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not in effect on %s after %v", what, gw, time.Since(start).Round(time.Second))
			}
			time.Sleep(200 * time.Millisecond)
		}
		took[gw] = time.Since(start).Round(100 * time.Millisecond)
	}
	return took
}

// sharedIdentity: a user added to the htpasswd file, a group membership and a policy rule
// take effect on every replica without a restart.
func (so *scaleout) sharedIdentity(t *testing.T) {
	status := func(p pin, method, path, user, pass string) int {
		a, err := so.do(p, method, path, user, pass, nil, nil, 0)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if a.gw != p.gw {
			t.Fatalf("%s %s pinned to %s answered by %q", method, path, p.gw, a.gw)
		}
		return a.code
	}
	const carol, carolPass = "carol", "carol-scaleout-secret"
	for _, gw := range so.gateways {
		if c := status(pin{gw: gw}, "GET", "/v2/", carol, carolPass); c != http.StatusUnauthorized {
			t.Fatalf("carol before she exists, on %s: %d", gw, c)
		}
	}
	htpasswd, err := os.ReadFile(filepath.Join(so.identity, "htpasswd"))
	if err != nil {
		t.Fatal(err)
	}
	so.replaceIdentity("htpasswd", append(htpasswd, bcryptLine(t, carol, carolPass)...))
	took := so.waitEveryReplica("new user", func(p pin) bool { return status(p, "GET", "/v2/", carol, carolPass) == http.StatusOK })
	t.Logf("htpasswd change in effect on %v", took)

	// Pushing outside her namespace needs admins.
	push := "/v2/" + so.user + "/carols/blobs/uploads/"
	for _, gw := range so.gateways {
		if c := status(pin{gw: gw}, "POST", push, carol, carolPass); c != http.StatusForbidden {
			t.Fatalf("carol pushing to %s before joining admins, on %s: %d, want 403", push, gw, c)
		}
	}
	so.replaceIdentity("groups.yaml", []byte("admins: [admin, carol]\n"))
	took = so.waitEveryReplica("group membership", func(p pin) bool { return status(p, "POST", push, carol, carolPass) == http.StatusAccepted })
	t.Logf("groups change in effect on %v", took)

	// Anonymous pulls of public/ once the policy says so.
	policy, err := os.ReadFile(filepath.Join(so.identity, "policy", "policy.rego"))
	if err != nil {
		t.Fatal(err)
	}
	public := "/v2/public/nothing/tags/list"
	for _, gw := range so.gateways {
		if c := status(pin{gw: gw}, "GET", public, "", ""); c != http.StatusUnauthorized {
			t.Fatalf("anonymous %s before the policy change, on %s: %d, want 401", public, gw, c)
		}
	}
	so.replaceIdentity("policy/policy.rego", append(policy, []byte(`
granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	some r in input.access
	r.type == "repository"
	startswith(r.name, "public/")
}
`)...))
	took = so.waitEveryReplica("policy rule", func(p pin) bool { return status(p, "GET", public, "", "") == http.StatusNotFound })
	t.Logf("policy change in effect on %v", took)
}

// sharedTokens: with one --token-key file mounted in every replica, a token issued by one
// gateway is accepted by every other.
func (so *scaleout) sharedTokens(t *testing.T) {
	scope := "repository:" + so.user + "/hop:pull"
	for _, issuer := range so.gateways {
		a, err := so.do(pin{gw: issuer}, "GET", "/token?service=localhost&scope="+scope, so.user, so.pass, nil, nil, 0)
		if err != nil || a.code != http.StatusOK {
			t.Fatalf("token from %s: %d %s %v", issuer, a.code, a.body, err)
		}
		var tok struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(a.body, &tok); err != nil || tok.Token+tok.AccessToken == "" {
			t.Fatalf("token answer from %s: %s (%v)", issuer, a.body, err)
		}
		token := tok.Token
		if token == "" {
			token = tok.AccessToken
		}
		bearer := map[string]string{"Authorization": "Bearer " + token}
		for _, gw := range so.gateways {
			b, err := so.do(pin{gw: gw}, "GET", "/v2/"+so.user+"/hop/tags/list", "", "", bearer, nil, 0)
			if err != nil || b.code != http.StatusOK || b.gw != gw {
				t.Errorf("token issued by %s used on %s: %d (answered by %q) %s %v", issuer, gw, b.code, b.gw, b.body, err)
			}
		}
	}
}

// auditPerReplica: each replica writes its own audit file (one chain each); the records
// of all merge into one time-ordered trail.
func (so *scaleout) auditPerReplica(t *testing.T) {
	var merged []time.Time
	for _, gw := range so.gateways {
		out, errOut, err := tryCmd(t, "", so.d.bin, "exec", so.container(gw), "/gateway", "audit", "verify", "/data/audit/"+gw+".log")
		if err != nil {
			t.Errorf("audit verify of %s's chain: %v\n%s%s", gw, err, out, errOut)
		}
		raw, _, err := tryCmd(t, "", so.d.bin, "cp", so.container(gw)+":/data/audit/"+gw+".log", "-")
		if err != nil {
			t.Fatalf("reading %s's audit file: %v", gw, err)
		}
		n := 0
		sc := bufio.NewScanner(strings.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			i := strings.Index(sc.Text(), "{")
			if i < 0 {
				continue
			}
			var rec map[string]any
			if json.Unmarshal([]byte(sc.Text()[i:]), &rec) != nil {
				continue
			}
			for _, k := range []string{"time", "ts", "timestamp"} {
				if s, ok := rec[k].(string); ok {
					if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
						merged = append(merged, ts)
						n++
					}
					break
				}
			}
		}
		if n == 0 {
			t.Errorf("%s's audit file holds no timed record", gw)
		}
	}
	t.Logf("%d audit records from %d replicas merge by time", len(merged), len(so.gateways))
}

// killMidPush: a PATCH pinned to victim (a gateway, or in topology 1 a registry) is
// streaming when the victim is killed (SIGKILL). The client retries as docker does: it
// asks the session's state from another replica and resumes, or starts over; the blob
// ends with the right digest on every replica, including the victim once restarted.
func (so *scaleout) killMidPush(t *testing.T, victim string) {
	other := pin{gw: "gw2", reg: so.regs[len(so.regs)-1]}
	target := pin{gw: "gw1", reg: so.regs[0]}
	if strings.HasPrefix(victim, "r") {
		target.gw = "gw2" // the gateway stays up; the registry behind it dies
	}
	repo := so.user + "/kill-" + victim
	blob := make([]byte, 48<<20)
	rand.Read(blob)
	digest := sha256Hex(blob)

	a := so.admin(target, "POST", "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if a.code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", a.code, a.body)
	}
	loc := a.header.Get("Location")
	pr, pw := io.Pipe()
	type result struct {
		a   answered
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := so.do(target, "PATCH", loc, so.user, so.pass, map[string]string{"Content-Type": "application/octet-stream"}, pr, int64(len(blob)))
		pr.CloseWithError(io.ErrClosedPipe)
		done <- result{a, err}
	}()
	// 16 MiB accepted by the pipe: the request is streaming through the victim.
	if _, err := pw.Write(blob[:16<<20]); err != nil {
		t.Fatalf("writing the first bytes: %v", err)
	}
	id := so.container(victim)
	killed := time.Now()
	runCmd(t, "", so.d.bin, "kill", id)
	go io.Copy(pw, bytes.NewReader(blob[16<<20:])) // whatever the dead request still takes
	r := <-done
	pw.CloseWithError(io.ErrClosedPipe)
	t.Logf("PATCH through %+v when %s was killed: status %d, error %v", target, victim, r.a.code, r.err)
	if r.err == nil && r.a.code == http.StatusAccepted {
		t.Fatalf("the PATCH succeeded although %s was killed in the middle", victim)
	}

	// The retry: the session's state from another replica, resume if it is there.
	how := "restarted the upload"
	st := so.admin(other, "GET", loc, nil, nil)
	if st.code == http.StatusNoContent {
		var end int64 = -1
		if rg := st.header.Get("Range"); rg != "" {
			fmt.Sscanf(rg, "0-%d", &end)
		}
		off := end + 1
		if off < 0 || off > int64(len(blob)) {
			t.Fatalf("session status after the kill: Range %q", st.header.Get("Range"))
		}
		p := so.admin(other, "PATCH", st.header.Get("Location"), map[string]string{"Content-Type": "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", off, len(blob)-1)}, blob[off:])
		if p.code == http.StatusAccepted {
			loc := p.header.Get("Location")
			sep := "?"
			if strings.Contains(loc, "?") {
				sep = "&"
			}
			put := so.admin(other, "PUT", loc+sep+"digest="+digest, nil, nil)
			switch put.code {
			case http.StatusCreated:
				how = fmt.Sprintf("resumed the session at byte %d on %s/%s", off, other.gw, other.reg)
			default:
				t.Logf("resumed session refused at PUT: %d %s; restarting the upload", put.code, put.body)
			}
		} else {
			t.Logf("resuming at %d on %+v: %d %s; restarting the upload", off, other, p.code, p.body)
		}
	} else {
		t.Logf("session status on %+v after the kill: %d %s", other, st.code, st.body)
	}
	if !strings.HasPrefix(how, "resumed") {
		so.pushBlob(other, repo, blob)
	}
	t.Logf("retry after killing %s: %s (%v after the kill)", victim, how, time.Since(killed).Round(10*time.Millisecond))

	// The victim comes back; every replica serves the whole blob, nothing partial.
	if out, err := so.compose("start", victim); err != nil {
		t.Fatalf("compose start %s: %v\n%s", victim, err, out)
	}
	so.waitPinned(target)
	for _, gw := range so.gateways {
		for _, reg := range so.regs {
			p := pin{gw, reg}
			b := so.admin(p, "GET", "/v2/"+repo+"/blobs/"+digest, nil, nil)
			if b.code != 200 || sha256Hex(b.body) != digest || b.gw != gw || b.reg != reg {
				t.Errorf("blob via %+v after the retry: %d, %d bytes from %s/%s", p, b.code, len(b.body), b.gw, b.reg)
			}
		}
	}
}

// waitPinned waits until the balancer routes requests pinned to p to p again (the
// health checks marked a restarted replica up).
func (so *scaleout) waitPinned(p pin) {
	t := so.t
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		a, err := so.do(p, "GET", "/v2/", so.user, so.pass, nil, nil, 0)
		if err == nil && a.code == 200 && a.gw == p.gw && a.reg == p.reg {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%+v not back behind the balancer: %d %s/%s %v", p, a.code, a.gw, a.reg, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// gcRule: `gateway gc --delete` on the shared volume refuses while a replica serves it
// (one stopped, one running) and removes nothing; with every replica stopped it collects;
// restarted, both serve what is tagged and neither the collected blob.
func (so *scaleout) gcRule(t *testing.T) {
	repo := so.user + "/gc"
	orphan := []byte("an orphan blob, referenced by no manifest " + rand.Text())
	od := so.pushBlob(pin{}, repo, orphan)
	gc := func(args ...string) (string, error) {
		return so.compose(append([]string{"--profile", "maintenance", "run", "--rm", "gc"}, args...)...)
	}
	if out, err := so.compose("stop", "gw1"); err != nil {
		t.Fatalf("stop gw1: %v\n%s", err, out)
	}
	out, err := gc("--delete")
	if err == nil || !strings.Contains(out, "in use") {
		t.Fatalf("gc --delete with gw2 still serving: %v, want a refusal naming the directory in use:\n%s", err, out)
	}
	t.Logf("gc --delete with one replica stopped and one serving: refused: %s", lineWith(out, "in use"))
	if a := so.admin(pin{gw: "gw2"}, "GET", "/v2/"+repo+"/blobs/"+od, nil, nil); a.code != 200 {
		t.Fatalf("the refused gc removed the orphan: GET via gw2 = %d", a.code)
	}
	if out, err := gc(); err != nil || !strings.Contains(out, "would remove") {
		t.Errorf("dry run with a replica serving: %v\n%s", err, out)
	}
	if out, err := so.compose("stop", "gw2"); err != nil {
		t.Fatalf("stop gw2: %v\n%s", err, out)
	}
	out, err = gc("--delete")
	if err != nil || !strings.Contains(out, "removed:") {
		t.Fatalf("gc --delete with every replica stopped: %v\n%s", err, out)
	}
	t.Logf("gc --delete with every replica stopped: %s", lineWith(out, "removed:"))
	if out, err := so.compose("start", "gw1", "gw2"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	for _, gw := range so.gateways {
		so.waitPinned(pin{gw: gw})
		if a := so.admin(pin{gw: gw}, "GET", "/v2/"+repo+"/blobs/"+od, nil, nil); a.code != http.StatusNotFound {
			t.Errorf("collected orphan via %s: %d, want 404", gw, a.code)
		}
		if a := so.admin(pin{gw: gw}, "GET", "/v2/"+so.user+"/hop/manifests/v1", map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"}, nil); a.code != 200 {
			t.Errorf("tagged image via %s after gc: %d", gw, a.code)
		}
	}
}

// lineWith is the first line of s containing sub.
func lineWith(s, sub string) string {
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for l := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			m[k] = v
		}
	}
	return m
}

// bcryptLine is one htpasswd entry (bcrypt cost 5, as `htpasswd -B` makes it).
func bcryptLine(t *testing.T, user, pass string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), 5)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, "%s:%s\n", user, h)
}

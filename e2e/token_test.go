package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis/portcullis/internal/testenv"
)

// tokenFlags are authFlags in token mode (--auth token).
func tokenFlags(t *testing.T, extra ...string) []string {
	return append(append(authFlags(t), "--auth", "token"), extra...)
}

// fetchToken asks the gateway's token endpoint for scopes as user (anonymous when user is
// "") and returns the token.
func (g *gateway) fetchToken(t *testing.T, user, pass string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {"localhost"}, "scope": scopes}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+"/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil || body.Token == "" {
		t.Fatalf("GET /token as %q: status %d", user, resp.StatusCode)
	}
	return body.Token
}

// bearerStatus sends method url with the bearer token and returns the status and challenge.
func (g *gateway) bearerStatus(t *testing.T, method, target, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// tokenLines returns the token endpoint's log lines matching every pattern.
func (g *gateway) tokenLines(patterns ...string) []string {
	var out []string
	for l := range strings.Lines(g.Log()) {
		if !strings.Contains(l, "msg=token ") {
			continue
		}
		ok := true
		for _, p := range patterns {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// TestTokenClients runs every client against one gateway in token mode (bundled
// registry): each gets a Bearer challenge, fetches its tokens from /token in the flow it
// uses, and pushes and pulls with them.
func TestTokenClients(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), tokenFlags(t)...)

	status, ch := g.bearerStatus(t, "GET", g.URL+"/v2/", "")
	if status != 401 || ch != fmt.Sprintf(`Bearer realm="https://%s/token",service="localhost"`, g.Addr) {
		t.Fatalf("GET /v2/: %d %q, want 401 with the bearer challenge", status, ch)
	}

	t.Run("skopeo", func(t *testing.T) {
		t.Parallel()
		s := newSkopeo(t, g, adminUser, adminPass)
		src := writeLayout(t, randomImage(t, 2))
		s.push(src, adminUser+"/skopeo:1")
		dir, stderr, err := s.pull(adminUser + "/skopeo:1")
		if err != nil {
			t.Fatalf("skopeo pull: %v\n%s", err, stderr)
		}
		if layoutDigest(t, dir) != layoutDigest(t, src) {
			t.Error("pulled another manifest")
		}
	})
	t.Run("podman", func(t *testing.T) {
		t.Parallel()
		p := newPodman(t, g, plainUser, plainPass)
		ref := g.Host + "/" + plainUser + "/pod:1"
		p.run("", "load", "-i", writeDockerArchive(t, randomImage(t, 2), ref))
		id := p.inspect(ref, "{{.Id}}")
		p.run("", "push", "--cert-dir", p.certDir, "--authfile", p.authFile, ref)
		p.run("", "rmi", ref)
		p.run("", "pull", "--cert-dir", p.certDir, "--authfile", p.authFile, ref)
		if got := p.inspect(ref, "{{.Id}}"); got != id {
			t.Errorf("pulled image id %s, want %s", got, id)
		}
		// bob may not push outside bob/: the token he gets does not cover it.
		other := g.Host + "/team/pod:1"
		p.run("", "tag", ref, other)
		if _, stderr, err := p.try("", "push", "--cert-dir", p.certDir, "--authfile", p.authFile, other); err == nil {
			t.Error("bob pushed outside his namespace")
		} else if !strings.Contains(strings.ToLower(stderr), "denied") && !strings.Contains(strings.ToLower(stderr), "unauthorized") {
			t.Errorf("refused push says %q", stderr)
		}
	})
	t.Run("crane", func(t *testing.T) {
		t.Parallel()
		want := g.pushGGCR(t, adminUser+"/crane:1", adminUser, adminPass, 2)
		got, err := remoteGet(t, g, adminUser+"/crane:1", adminUser, adminPass)
		if err != nil || got != want {
			t.Errorf("remote.Get = %s, %v; want %s", got, err, want)
		}
		cat, err := remote.Catalog(t.Context(), g.ggcrRef(t, adminUser+"/crane:1").Context().Registry, g.ggcrOptions(t, adminUser, adminPass)...)
		if err != nil || !strings.Contains(strings.Join(cat, " "), adminUser+"/crane") {
			t.Errorf("catalog (registry:catalog:* token) = %v, %v", cat, err)
		}
	})
	t.Run("docker", func(t *testing.T) {
		t.Parallel()
		d := newDocker(t, g)
		ref := g.Host + "/" + adminUser + "/docker:1"
		d.importScratch(ref)
		id := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref))
		d.run(adminPass, "login", g.Host, "-u", adminUser, "--password-stdin")
		// docker keeps the refresh token as its identity token, not the password.
		conf, err := os.ReadFile(filepath.Join(d.config, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(conf), `"identitytoken"`) {
			t.Errorf("docker login stored no identity token:\n%s", conf)
		}
		d.run("", "push", ref)
		d.run("", "rmi", ref)
		d.run("", "pull", ref)
		if got := strings.TrimSpace(d.run("", "image", "inspect", "--format", "{{.Id}}", ref)); got != id {
			t.Errorf("pulled image id %s, want %s", got, id)
		}
		if len(g.tokenLines("grant=refresh_token", "account="+adminUser, "outcome=issued")) == 0 {
			t.Errorf("no refresh_token grant in the log: docker did not use its identity token")
		}
	})
	t.Run("ctr", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t)
		ref := g.Host + "/" + adminUser + "/ctr:1"
		c.run("images", "import", "--platform", "linux/amd64", writeDockerArchive(t, randomImage(t, 1), ref))
		creds := adminUser + ":" + adminPass
		// containerd speaks plain HTTP to a loopback registry unless a hosts.toml says
		// otherwise, as its documentation has users do.
		hosts := t.TempDir()
		os.MkdirAll(filepath.Join(hosts, g.Host), 0o755)
		os.WriteFile(filepath.Join(hosts, g.Host, "hosts.toml"), fmt.Appendf(nil,
			"server = %q\n\n[host.%q]\n  ca = %q\n", g.URL, g.URL, g.CAFile), 0o644)
		c.run("images", "push", "--hosts-dir", hosts, "--user", creds, ref)
		c.run("images", "rm", "--sync", ref)
		c.run("images", "pull", "--hosts-dir", hosts, "--user", creds, "--platform", "linux/amd64", ref)
		if len(g.tokenLines("grant=password", "account="+adminUser, "outcome=issued")) == 0 {
			t.Errorf("containerd did not use the POST password grant:\n%s", strings.Join(g.tokenLines(), ""))
		}
	})
	t.Run("conformance", func(t *testing.T) {
		t.Parallel()
		res := conformance(t, g.URL, "-u", adminUser, "-p", adminPass, "-c", g.CAFile)
		t.Logf("conformance in token mode (bundled): %d passed, %d failed, %d skipped", res.Passed, res.Failed, res.Skipped)
		if res.Err != nil || res.Failed != 0 || res.Passed == 0 {
			t.Errorf("conformance.sh: %v, %d failed, %d passed:\n%s", res.Err, res.Failed, res.Passed, tail(res.Output, 70))
		}
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		tok := g.fetchToken(t, plainUser, plainPass, "repository:"+plainUser+"/x:pull")
		target := g.URL + "/v2/" + plainUser + "/x/manifests/1"
		if s, ch := g.bearerStatus(t, "PUT", target, tok); s != 401 || !strings.Contains(ch, `error="insufficient_scope"`) ||
			!strings.Contains(ch, `scope="repository:`+plainUser+`/x:pull,push"`) {
			t.Errorf("push with a pull token: %d %q, want 401 insufficient_scope", s, ch)
		}
		if s, ch := g.bearerStatus(t, "GET", target, tok[:len(tok)-6]+"AAAAAA"); s != 401 || !strings.Contains(ch, `error="invalid_token"`) {
			t.Errorf("forged token: %d %q, want 401 invalid_token", s, ch)
		}
		if s, _ := g.bearerStatus(t, "GET", target, tok); s != 404 {
			t.Errorf("pull with the token: %d, want 404 (nothing there)", s)
		}
	})
}

// ctr runs containerd's own client (shipped with Docker Engine) in a namespace of its own.
type ctr struct {
	t        *testing.T
	bin      string
	global   []string
	lastArgs []string
}

// ctrSockets are where containerd listens: its own service, or Docker Engine's.
var ctrSockets = []string{"/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"}

// newCtr finds a containerd that answers (the system one, or Docker Engine's own) and
// skips, like the docker tests, when none does.
func newCtr(t *testing.T) *ctr {
	t.Helper()
	bin, err := exec.LookPath("ctr")
	if err != nil {
		t.Skipf("no ctr, so no containerd to test with: %v", err)
	}
	ns := "portcullis-e2e-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "-"))
	for _, sock := range ctrSockets {
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		global := []string{"--address", sock}
		if _, _, err := tryCmd(t, "", bin, append(global, "--connect-timeout", "3s", "version")...); err == nil {
			c := &ctr{t: t, bin: bin, global: append(global, "--namespace", ns)}
			t.Cleanup(func() {
				out, _ := exec.Command(bin, append(c.global, "images", "ls", "-q")...).Output()
				for _, ref := range strings.Fields(string(out)) {
					cleanupCmd(bin, append(c.global, "images", "rm", "--sync", ref)...)
				}
				cleanupCmd(bin, append(global, "namespaces", "rm", ns)...)
			})
			return c
		}
	}
	t.Skip("no containerd answers (ctr version failed on every known socket)")
	return nil
}

func (c *ctr) run(args ...string) string {
	c.t.Helper()
	return must(c.t)(tryCmd(c.t, "", c.bin, append(c.global, args...)...))
}

// TestTokenRotateUnderLoad: `gateway token rotate` while clients fetch and use tokens:
// no request fails, tokens of the old key keep working, new ones carry the new key.
func TestTokenRotateUnderLoad(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), tokenFlags(t)...)
	g.pushGGCR(t, adminUser+"/load:1", adminUser, adminPass, 1)
	scope := "repository:" + adminUser + "/load:pull"
	manifest := g.URL + "/v2/" + adminUser + "/load/manifests/1"
	oldUnused := g.fetchToken(t, adminUser, adminPass, scope) // first used after the rotation
	oldKid := tokenKid(t, oldUnused)

	type result struct{ ok, failed, newKey int }
	stop := make(chan struct{})
	results := make(chan result)
	for range 4 {
		go func() {
			var r result
			defer func() { results <- r }()
			var tok string
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%10 == 0 {
					q := url.Values{"service": {"localhost"}, "scope": {scope}}
					req, _ := http.NewRequest(http.MethodGet, g.URL+"/token?"+q.Encode(), nil)
					req.SetBasicAuth(adminUser, adminPass)
					resp, err := g.Client.Do(req)
					if err != nil {
						r.failed++
						continue
					}
					var body struct{ Token string }
					err = json.NewDecoder(resp.Body).Decode(&body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						r.failed++
						continue
					}
					tok = body.Token
				}
				req, _ := http.NewRequest(http.MethodHead, manifest, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := g.Client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					r.failed++
					continue
				}
				resp.Body.Close()
				r.ok++
				if kidOf(tok) != oldKid {
					r.newKey++
				}
			}
		}()
	}

	out, _ := runCmd(t, "", gatewayBin, "token", "rotate", "--data", g.Data)
	m := regexp.MustCompile(`new token signing key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rotate said %q", out)
	}
	newKid := m[1]
	// Wait until the gateway signs with the new key (its file watch), then a while longer.
	reloadWait(t, "the gateway to sign with the rotated key", func() (bool, string) {
		kid := tokenKid(t, g.fetchToken(t, adminUser, adminPass, scope))
		return kid == newKid, "kid " + kid
	})
	for n := 0; n < 100; n++ {
		g.fetchToken(t, adminUser, adminPass, scope) // load on the endpoint with the new key
	}
	close(stop)
	var total result
	for range 4 {
		r := <-results
		total.ok, total.failed, total.newKey = total.ok+r.ok, total.failed+r.failed, total.newKey+r.newKey
	}
	t.Logf("during rotation: %d requests ok (%d with new-key tokens), %d failed", total.ok, total.newKey, total.failed)
	if total.failed != 0 || total.newKey == 0 {
		t.Errorf("%d requests failed, %d used the new key; want none failed and some new", total.failed, total.newKey)
	}
	if s, _ := g.bearerStatus(t, "HEAD", manifest, oldUnused); s != 200 {
		t.Errorf("a token of the retired key, first used after rotation: %d, want 200", s)
	}
	resp, err := g.Client.Get(g.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != newKid || jwks.Keys[1].Kid != oldKid {
		t.Errorf("JWKS = %+v, want the new key, then the old", jwks.Keys)
	}
}

// tokenKid reads a JWT's kid header.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	k := kidOf(tok)
	if k == "" {
		t.Fatalf("token without kid")
	}
	return k
}

// headerX5C reports whether a token's header carries x5c.
func headerX5C(t *testing.T, tok string) bool {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64URL(h)
	var hdr map[string]json.RawMessage
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("token header %q does not decode", h)
	}
	_, ok := hdr["x5c"]
	return ok
}

func kidOf(tok string) string {
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64URL(h)
	if err != nil {
		return ""
	}
	var hdr struct{ Kid string }
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// TestTokenRegistry2 puts Debian's docker-registry 2.8 configured with auth: token,
// trusting the gateway's token CA, (a) behind the gateway with --upstream-auth token and
// (b) standalone with its realm pointing at the gateway. Clients' tokens carry x5c only
// with --token-x5c, which (b) needs: registry 2.8 finds the key by x5c alone, so (a) runs
// without it (the tokens the gateway presents the upstream always carry x5c), and the
// gateway verifies both kinds by kid.
func TestTokenRegistry2(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "docker-registry")
	testenv.NeedTool(t, "skopeo")
	regAuth := func(realm, ca string) string {
		return fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: localhost\n    issuer: portcullis\n    rootcertbundle: %s\n", realm, ca)
	}
	// tokenCA creates a gateway's token CA before the gateway starts, as a registry's
	// configuration is written first.
	tokenCA := func(t *testing.T, data string) string {
		runCmd(t, "", gatewayBin, "token", "print-ca", "--data", data)
		return filepath.Join(data, "token", "ca.crt")
	}
	data := t.TempDir()
	behind := testenv.Registry2With(t, "", regAuth("https://gateway.invalid/token", tokenCA(t, data)))
	g := startGateway(t, data, tokenFlags(t, "--upstream", "http://"+behind, "--upstream-auth", "token")...)

	t.Run("behind the gateway", func(t *testing.T) {
		s := newSkopeo(t, g, adminUser, adminPass)
		src := writeLayout(t, randomImage(t, 2))
		s.push(src, adminUser+"/behind:1")
		dir, stderr, err := s.pull(adminUser + "/behind:1")
		if err != nil || layoutDigest(t, dir) != layoutDigest(t, src) {
			t.Fatalf("skopeo pull through the gateway: %v\n%s", err, stderr)
		}
		direct := "http://" + behind + "/v2/" + adminUser + "/behind/tags/list"
		if s, ch := g.bearerStatus(t, "GET", direct, ""); s != 401 || !strings.HasPrefix(ch, "Bearer ") {
			t.Errorf("direct request without a token: %d %q, want 401", s, ch)
		}
		if s, _ := g.bearerStatus(t, "GET", direct, foreignToken(t, adminUser, "repository:"+adminUser+"/behind:pull")); s != 401 {
			t.Errorf("direct request with a token from another key: %d, want 401", s)
		}
		// A client's token, by default, has no x5c: small on every request, and verified
		// by the gateway (by kid), while a registry 2.8 cannot find its key.
		tok := g.fetchToken(t, adminUser, adminPass, "repository:"+adminUser+"/behind:pull")
		if x5c := headerX5C(t, tok); x5c {
			t.Errorf("a token from /token without --token-x5c has x5c (%d bytes)", len(tok))
		}
		if len(tok) > 512 {
			t.Errorf("a token for one scope is %d bytes, want well under 1 KiB without x5c", len(tok))
		}
		if s, _ := g.bearerStatus(t, "GET", g.URL+"/v2/"+adminUser+"/behind/tags/list", tok); s != 200 {
			t.Errorf("the gateway refused its own token without x5c: %d", s)
		}
		if s, _ := g.bearerStatus(t, "GET", direct, tok); s != 401 {
			t.Errorf("registry 2.8 answered a token without x5c %d, want 401", s)
		}
	})
	t.Run("standalone with the gateway as its realm", func(t *testing.T) {
		// The registry verifies clients' tokens itself: it needs --token-x5c.
		data := t.TempDir()
		ca := tokenCA(t, data)
		g := startGateway(t, data, tokenFlags(t, "--token-x5c")...)
		reg := testenv.Registry2With(t, "", regAuth(g.URL+"/token", ca))
		tok := g.fetchToken(t, adminUser, adminPass, "repository:"+adminUser+"/standalone:pull")
		if !headerX5C(t, tok) {
			t.Fatal("a token from /token with --token-x5c has no x5c")
		}
		if s, _ := g.bearerStatus(t, "GET", g.URL+"/v2/", tok); s != 200 {
			t.Errorf("the gateway refused its own token with x5c: %d", s)
		}
		if s, _ := g.bearerStatus(t, "GET", "http://"+reg+"/v2/", tok); s != 200 {
			t.Errorf("registry 2.8 answered the gateway's token with x5c %d, want 200", s)
		}
		bin := testenv.NeedTool(t, "skopeo")
		authFile := filepath.Join(t.TempDir(), "auth.json")
		runCmd(t, adminPass, bin, "login", "--tls-verify=false", "--authfile", authFile, "-u", adminUser, "--password-stdin", reg)
		src := writeLayout(t, randomImage(t, 2))
		ref := "docker://" + reg + "/" + adminUser + "/standalone:1"
		runCmd(t, "", bin, "copy", "--authfile", authFile, "--dest-tls-verify=false", "oci:"+src+":"+ociTag, ref)
		dir := filepath.Join(t.TempDir(), "pulled")
		runCmd(t, "", bin, "copy", "--authfile", authFile, "--src-tls-verify=false", ref, "oci:"+dir+":"+ociTag)
		if layoutDigest(t, dir) != layoutDigest(t, src) {
			t.Error("pulled another manifest")
		}
		if len(g.tokenLines("asked=repository:"+adminUser+"/standalone:", "outcome=issued")) == 0 {
			t.Error("the registry's clients got no token from the gateway")
		}
	})
}

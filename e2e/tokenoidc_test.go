package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/token"
)

// oidcProvider is a CI system's OpenID Connect provider, run by the test: a discovery
// document and a JWKS over HTTPS, and a signing key it can rotate.
type oidcProvider struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	o := &oidcProvider{t: t}
	o.rotate()
	o.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": o.srv.URL, "jwks_uri": o.srv.URL + "/jwks"})
		case "/jwks":
			o.mu.Lock()
			j, err := token.NewJWK(&o.key.PublicKey)
			j.Kid, j.Alg, j.Use = o.kid, "RS256", "sig"
			o.mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			json.NewEncoder(w).Encode(token.JWKS{Keys: []token.JWK{j}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	o.caFile = filepath.Join(t.TempDir(), "oidc-ca.pem")
	if err := os.WriteFile(o.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// rotate replaces the signing key; the JWKS serves only the new one from now on.
func (o *oidcProvider) rotate() {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		o.t.Fatal(err)
	}
	kid, _ := token.Thumbprint(&k.PublicKey)
	o.mu.Lock()
	o.key, o.kid = k, kid
	o.mu.Unlock()
}

// jobToken is the identity token a CI job of repository gets, as GitHub Actions mints them.
func (o *oidcProvider) jobToken(repository string) string {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": o.srv.URL, "aud": "portcullis", "sub": "repo:" + repository + ":ref:refs/heads/main",
		"repository": repository, "ref": "refs/heads/main", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	tok.Header["kid"] = o.kid
	s, err := tok.SignedString(o.key)
	if err != nil {
		o.t.Fatal(err)
	}
	return s
}

// TestTokenOIDC: a CI job logs in with its OIDC identity token (docker login -u anything
// -p $TOKEN, here skopeo) and pushes where the ci-oidc-namespace example policy lets its
// repository claim push, and nowhere else; the token also works as a bearer token; after
// the provider rotates its key, new tokens are accepted.
func TestTokenOIDC(t *testing.T) {
	t.Parallel()
	testenv.NeedTool(t, "skopeo")
	o := newOIDCProvider(t)
	conf := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `auth: token
trusted_issuers:
  - issuer: %s
    discovery: true
    ca_file: %s
    audience: portcullis
`, o.srv.URL, o.caFile), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--config", conf,
		"--policy", filepath.Join(repoRoot, "examples", "policies", "ci-oidc-namespace"))...)

	job := o.jobToken("acme/app")
	s := newSkopeo(t, g, "ci", job)
	src := writeLayout(t, randomImage(t, 1))
	s.push(src, "acme/app/web:1")
	if _, stderr, err := s.copy("oci:"+src+":"+ociTag, s.ref("other/app:1")); err == nil {
		t.Error("the job pushed outside its repository's namespace")
	} else if !strings.Contains(strings.ToLower(stderr), "denied") && !strings.Contains(strings.ToLower(stderr), "unauthorized") {
		t.Errorf("refused push says %q", stderr)
	}
	tags := g.URL + "/v2/acme/app/web/tags/list"
	if st, _ := g.bearerStatus(t, "GET", tags, job); st != 200 {
		t.Errorf("identity token as a bearer token: %d, want 200", st)
	}
	if st, _ := g.bearerStatus(t, "GET", g.URL+"/v2/other/app/tags/list", job); st != 403 {
		t.Errorf("identity token outside its namespace: %d, want 403", st)
	}
	if strings.Contains(g.Log(), job) {
		t.Error("the identity token is in the log")
	}

	o.rotate()
	rotated := o.jobToken("acme/app")
	reloadWait(t, "a token signed with the provider's rotated key to be accepted", func() (bool, string) {
		st, _ := g.bearerStatus(t, "GET", tags, rotated)
		return st == 200, fmt.Sprintf("status %d", st)
	})
	newSkopeo(t, g, "ci", rotated).push(src, "acme/app/web:2")
}

package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/access"
)

// oidcServer is an OpenID Connect provider for tests: discovery and a JWKS over HTTPS,
// with a signing key that can be rotated.
type oidcServer struct {
	t   *testing.T
	srv *httptest.Server
	ca  string // PEM file trusting srv

	mu       sync.Mutex
	key      *rsa.PrivateKey
	kid      string
	fail     bool
	block    chan struct{} // when set, requests wait on it
	requests atomic.Int32
}

func newOIDCServer(t *testing.T) *oidcServer {
	t.Helper()
	o := &oidcServer{t: t}
	o.rotate()
	o.srv = httptest.NewTLSServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	o.ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(o.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *oidcServer) issuer() string { return o.srv.URL }

func (o *oidcServer) rotate() {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		o.t.Fatal(err)
	}
	kid, _ := Thumbprint(&k.PublicKey)
	o.mu.Lock()
	o.key, o.kid = k, kid
	o.mu.Unlock()
}

func (o *oidcServer) serve(w http.ResponseWriter, r *http.Request) {
	o.requests.Add(1)
	o.mu.Lock()
	block, fail, key, kid := o.block, o.fail, o.key, o.kid
	o.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]string{"issuer": o.issuer(), "jwks_uri": o.issuer() + "/keys"})
	case "/keys":
		j, _ := NewJWK(&key.PublicKey)
		j.Kid, j.Alg, j.Use = kid, "RS256", "sig"
		json.NewEncoder(w).Encode(JWKS{Keys: []JWK{j, {Kty: "oct", Kid: "hmac"}}})
	default:
		http.NotFound(w, r)
	}
}

// sign mints an identity token as the provider would for a CI job.
func (o *oidcServer) sign(now time.Time, mod func(jwt.MapClaims)) string {
	o.mu.Lock()
	key, kid := o.key, o.kid
	o.mu.Unlock()
	c := jwt.MapClaims{"iss": o.issuer(), "aud": "portcullis", "sub": "repo:acme/app:ref:refs/heads/main",
		"repository": "acme/app", "groups": []string{"ci"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		o.t.Fatal(err)
	}
	return s
}

func (o *oidcServer) config() IssuerConfig {
	return IssuerConfig{Issuer: o.issuer(), Discovery: true, CAFile: o.ca, Audience: "portcullis",
		UsernameClaim: "repository", GroupsClaim: "groups"}
}

func TestExternalIssuer(t *testing.T) {
	o := newOIDCServer(t)
	f := newFixture(t, func(c *Config) { c.Trusted = []IssuerConfig{o.config()} })
	now := f.clock.Now()

	p, err := f.svc.VerifyIdentity(t.Context(), o.sign(now, nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "acme/app" || p.Method != access.MethodBearer || !slices.Equal(p.Groups, []string{"ci"}) ||
		p.Claims["repository"] != "acme/app" || p.Limit != nil {
		t.Errorf("principal = %+v", p)
	}
	// The same token as a bearer token on /v2/.
	if _, err := f.svc.VerifyToken(t.Context(), o.sign(now, nil)); err != nil {
		t.Errorf("VerifyToken(identity token) = %v", err)
	}
	// Exchanged for an access token, the identity travels along to the policy.
	m, err := f.svc.Mint(p, []access.Resource{pull("acme/app")})
	if err != nil {
		t.Fatal(err)
	}
	back, err := f.svc.VerifyToken(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != "acme/app" || back.Claims["repository"] != "acme/app" || !slices.Equal(back.Groups, []string{"ci"}) || back.Limit == nil {
		t.Errorf("principal of the exchanged token = %+v", back)
	}

	refused := map[string]string{
		"wrong audience": o.sign(now, func(c jwt.MapClaims) { c["aud"] = "another-service" }),
		"expired":        o.sign(now, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }),
		"no name claim":  o.sign(now, func(c jwt.MapClaims) { delete(c, "repository") }),
		"HMAC":           forge(t, jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"iss": o.issuer(), "aud": "portcullis", "exp": now.Add(time.Minute).Unix(), "repository": "x"}, nil),
	}
	for name, tok := range refused {
		if _, err := f.svc.VerifyIdentity(t.Context(), tok); !errors.Is(err, access.ErrBadCredentials) {
			t.Errorf("%s: VerifyIdentity = %v, want bad credentials", name, err)
		}
	}
	for _, pw := range []string{"hunter2", "eyJ.not.a.token", f.mustMint(t)} {
		if _, err := f.svc.VerifyIdentity(t.Context(), pw); !errors.Is(err, ErrUntrustedIssuer) {
			t.Errorf("VerifyIdentity(%.10q...) = %v, want ErrUntrustedIssuer (a password, or our own token)", pw, err)
		}
	}
}

func (f *fixture) mustMint(t *testing.T) string {
	m, err := f.svc.Mint(alicePrincipal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExternalIssuerRotation: a token with a kid the cached set lacks makes the key set
// fetched again, at most once per refetchGap.
func TestExternalIssuerRotation(t *testing.T) {
	o := newOIDCServer(t)
	f := newFixture(t, func(c *Config) { c.Trusted = []IssuerConfig{o.config()} })
	if _, err := f.svc.VerifyIdentity(t.Context(), o.sign(f.clock.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	o.rotate()
	before := o.requests.Load()
	if _, err := f.svc.VerifyIdentity(t.Context(), o.sign(f.clock.Now(), nil)); err == nil {
		t.Error("a new key was fetched within the refetch gap")
	}
	if o.requests.Load() != before {
		t.Errorf("%d requests to the issuer within the refetch gap", o.requests.Load()-before)
	}
	f.clock.Add(refetchGap)
	if _, err := f.svc.VerifyIdentity(t.Context(), o.sign(f.clock.Now(), nil)); err != nil {
		t.Errorf("the rotated key was not picked up: %v", err)
	}
}

// TestExternalIssuerDown: an issuer that hangs delays only its own tokens; one that
// fails is retried after a backoff, refusing its new keys at once meanwhile.
func TestExternalIssuerDown(t *testing.T) {
	down, up := newOIDCServer(t), newOIDCServer(t)
	f := newFixture(t, func(c *Config) { c.Trusted = []IssuerConfig{down.config(), up.config()} })
	block := make(chan struct{})
	down.mu.Lock()
	down.block = block
	down.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		_, err := f.svc.VerifyIdentity(t.Context(), down.sign(f.clock.Now(), nil))
		done <- err
	}()
	for down.requests.Load() == 0 { // the hung issuer has been asked
		time.Sleep(time.Millisecond)
	}
	if _, err := f.svc.VerifyIdentity(t.Context(), up.sign(f.clock.Now(), nil)); err != nil {
		t.Errorf("a login through a working issuer failed while another hangs: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the hung issuer's token was decided while it hangs: %v", err)
	default:
	}
	down.mu.Lock()
	down.block, down.fail = nil, true
	down.mu.Unlock()
	close(block)
	if err := <-done; !errors.Is(err, access.ErrBadCredentials) {
		t.Errorf("token of a failing issuer: %v, want bad credentials", err)
	}
	asked := down.requests.Load()
	if _, err := f.svc.VerifyIdentity(t.Context(), down.sign(f.clock.Now(), nil)); err == nil {
		t.Error("verified without keys")
	}
	if down.requests.Load() != asked {
		t.Error("a failing issuer was asked again during its backoff")
	}
	down.mu.Lock()
	down.fail = false
	down.mu.Unlock()
	f.clock.Add(time.Second)
	if _, err := f.svc.VerifyIdentity(t.Context(), down.sign(f.clock.Now(), nil)); err != nil {
		t.Errorf("the issuer is back but its token is refused: %v", err)
	}
}

func TestIssuerConfigCheck(t *testing.T) {
	for name, c := range map[string]IssuerConfig{
		"no key source":   {Issuer: "https://a", Audience: "x"},
		"two key sources": {Issuer: "https://a", Audience: "x", Discovery: true, JWKSFile: "f"},
		"http jwks":       {Issuer: "https://a", Audience: "x", JWKSURL: "http://a/keys"},
		"no audience":     {Issuer: "https://a", Discovery: true},
		"HMAC":            {Issuer: "https://a", Audience: "x", Discovery: true, Algorithms: []string{"HS256"}},
		"none":            {Issuer: "https://a", Audience: "x", Discovery: true, Algorithms: []string{"none"}},
	} {
		if err := c.check(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "https://a") && c.Issuer != "" {
			t.Errorf("%s: %v does not name the issuer", name, err)
		}
	}
}

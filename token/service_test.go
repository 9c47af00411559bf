package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/certs"
)

func pull(name string) access.Resource {
	return access.Resource{Type: access.TypeRepository, Name: name, Actions: []string{access.Pull}}
}

func TestMintVerify(t *testing.T) {
	f := newFixture(t)
	granted := []access.Resource{{Type: "repository", Name: "localhost:5000/app", Actions: []string{"pull", "push"}}}
	m, err := f.svc.Mint(alicePrincipal(), granted)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.VerifyToken(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice" || p.Method != access.MethodBearer || !slices.Equal(p.Groups, []string{"dev"}) || p.Claims != nil {
		t.Errorf("principal = %+v", p)
	}
	if p.Limit == nil || !p.Limit.Allows(granted[0]) || p.Limit.Allows(pull("other")) {
		t.Errorf("limit = %+v, want exactly the granted access", p.Limit)
	}
	// The wire format registries read: aud one string, access claim, kid; by default no
	// x5c (Config.X5C), no typ and no nbf, which would equal iat.
	var c Claims
	tok, _, err := jwt.NewParser().ParseUnverified(m, &c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Header) != 2 || tok.Header["kid"] != f.keys.CurrentKID() || tok.Header["alg"] != ES256 {
		t.Errorf("header = %v, want alg and kid only", tok.Header)
	}
	if c.Issuer != DefaultIssuer || c.Audience != "registry.test" || c.Subject != "alice" || len(c.ID) != 16 ||
		c.IssuedAt != f.clock.Now().Unix() || c.ExpiresAt != f.clock.Now().Add(DefaultTTL).Unix() || c.NotBefore != 0 {
		t.Errorf("claims = %+v", c)
	}
	if strings.Contains(m, "identity") {
		t.Error("a password user's token carries identity claims")
	}

	// Groups are read when the token is used: a change to the groups file counts at once.
	f.users.groups["alice"] = []string{"ops"}
	if p, _ := f.svc.VerifyToken(t.Context(), m); !slices.Equal(p.Groups, []string{"ops"}) {
		t.Errorf("groups = %v after the groups changed, want [ops]", p.Groups)
	}
}

func TestMintAnonymous(t *testing.T) {
	f := newFixture(t)
	m, err := f.svc.Mint(access.Anonymous(), []access.Resource{pull("public/app")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.VerifyToken(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsAnonymous() || p.Limit == nil || !p.Limit.Allows(pull("public/app")) {
		t.Errorf("principal = %+v, want anonymous limited to the grant", p)
	}
}

// TestVerifyCached: a token seen once is not checked again until it expires: after the
// key that signed it is gone, it still verifies, and a new token from that key does not.
func TestVerifyCached(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	keyFile := filepath.Join(dir, "key.pem")
	writeKey := func() {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p, _ := certs.MarshalPrivateKey(k)
		if err := os.WriteFile(keyFile, p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeKey()
	// A retired key drops out a minute after it stopped signing; tokens live an hour.
	keys, err := OpenKeys(KeysOptions{Dir: dir, KeyFile: keyFile, Lifetime: time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Keys: keys, Service: "registry.test", TTL: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := svc.Mint(alicePrincipal(), nil)
	unseen, _ := svc.Mint(alicePrincipal(), nil)
	if _, err := svc.VerifyToken(t.Context(), seen); err != nil {
		t.Fatal(err)
	}
	writeKey()
	if err := keys.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute + Leeway + reloadGrace + time.Second)
	if _, err := svc.VerifyToken(t.Context(), unseen); err == nil {
		t.Fatal("a token from a key that is gone verified")
	}
	if _, err := svc.VerifyToken(t.Context(), seen); err != nil {
		t.Errorf("a verified token was checked again: %v", err)
	}
	c.Add(time.Hour)
	if _, err := svc.VerifyToken(t.Context(), seen); err == nil {
		t.Error("a cached token verified after it expired")
	}
}

// forge signs claims with method and key, with extra header fields.
func forge(t *testing.T, method jwt.SigningMethod, key any, c jwt.Claims, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRefusals is one case per refusal of issue 10, item 9 (and a few more): each is a
// bad-credentials error whose text names the reason for the log.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	sk := f.keys.signing()
	now := f.clock.Now()
	claims := func(mod func(*Claims)) *Claims {
		c := &Claims{Issuer: DefaultIssuer, Subject: "alice", Audience: "registry.test", IssuedAt: now.Unix(),
			NotBefore: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix(), Access: []access.Resource{pull("app")}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := func(mod func(*Claims)) string {
		return forge(t, sk.method, sk.signer, claims(mod), map[string]any{"kid": sk.kid})
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(sk.public)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerKid, _ := Thumbprint(&stranger.PublicKey)
	huge := make([]access.Resource, 200)
	for i := range huge {
		huge[i] = pull(strings.Repeat("x", 40))
	}

	if _, err := f.svc.VerifyToken(t.Context(), good(nil)); err != nil {
		t.Fatalf("the control token does not verify: %v", err)
	}
	tests := []struct {
		name, token, reason string
	}{
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil), map[string]any{"kid": sk.kid}), "alg none"},
		{"HMAC with the public key as secret (algorithm confusion)", forge(t, jwt.SigningMethodHS256, pubPEM, claims(nil), map[string]any{"kid": sk.kid}), "signing method HS256 is invalid"},
		{"expired beyond leeway", good(func(c *Claims) { c.ExpiresAt = now.Add(-Leeway - time.Second).Unix() }), "expired"},
		{"not yet valid beyond leeway", good(func(c *Claims) { c.NotBefore = now.Add(Leeway + time.Second).Unix() }), "not valid yet"},
		{"no expiry", good(func(c *Claims) { c.ExpiresAt = 0 }), "exp claim is required"},
		{"wrong issuer", good(func(c *Claims) { c.Issuer = "someone-else" }), "neither this gateway nor a trusted issuer"},
		{"minted for another service", good(func(c *Claims) { c.Audience = "other.registry" }), "invalid audience"},
		{"refresh token used as access token", good(func(c *Claims) { c.Audience = DefaultIssuer }), "invalid audience"},
		{"unknown kid", forge(t, jwt.SigningMethodES256, stranger, claims(nil), map[string]any{"kid": strangerKid}), "unknown key id"},
		{"our kid, another key", forge(t, jwt.SigningMethodES256, stranger, claims(nil), map[string]any{"kid": sk.kid}), "signature is invalid"},
		{"larger than 8 KiB", good(func(c *Claims) { c.Access = huge }), "larger than 8 KiB"},
		{"crit header", good(nil)[:0] + forge(t, sk.method, sk.signer, claims(nil), map[string]any{"kid": sk.kid, "crit": []string{"exp"}}), "crit"},
		{"not a JWT", "opaque-token", "malformed"},
		{"tampered payload", tamper(good(nil)), "signature is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.VerifyToken(t.Context(), tt.token)
			if !errors.Is(err, access.ErrBadCredentials) {
				t.Fatalf("VerifyToken = %v, want bad credentials", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
	// Within the leeway both ways, the token is good.
	for _, c := range []func(*Claims){
		func(c *Claims) { c.ExpiresAt = now.Add(-Leeway + time.Second).Unix() },
		func(c *Claims) { c.NotBefore = now.Add(Leeway - time.Second).Unix() },
	} {
		if _, err := f.svc.VerifyToken(t.Context(), good(c)); err != nil {
			t.Errorf("a token within the 30 s leeway was refused: %v", err)
		}
	}
}

// tamper changes the payload's subject, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	body, _ := rawURL.DecodeString(parts[1])
	body = []byte(strings.Replace(string(body), `"sub":"alice"`, `"sub":"admin"`, 1))
	parts[1] = b64.EncodeToString(body)
	return strings.Join(parts, ".")
}

func TestRefresh(t *testing.T) {
	f := newFixture(t)
	rt, err := f.svc.MintRefresh(alicePrincipal())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // reusable: docker sends the same one again and again
		p, err := f.svc.Redeem(t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "alice" || p.Method != access.MethodBasic || !slices.Equal(p.Groups, []string{"dev"}) {
			t.Errorf("Redeem = %+v", p)
		}
	}
	if _, err := f.svc.VerifyToken(t.Context(), rt); err == nil {
		t.Error("a refresh token was accepted as an access token")
	}
	at, _ := f.svc.Mint(alicePrincipal(), nil)
	if _, err := f.svc.Redeem(t.Context(), at); err == nil {
		t.Error("an access token was accepted as a refresh token")
	}
	if rt, err := f.svc.MintRefresh(access.Anonymous()); rt != "" || err != nil {
		t.Errorf("MintRefresh(anonymous) = %q, %v; want none", rt, err)
	}
	if rt, err := f.svc.MintRefresh(access.Principal{Name: "ci", Method: access.MethodBearer}); rt != "" || err != nil {
		t.Errorf("MintRefresh(identity token holder) = %q, %v; want none", rt, err)
	}

	f.users.set("alice", "$2y$10$new-password")
	if _, err := f.svc.Redeem(t.Context(), rt); !errors.Is(err, access.ErrBadCredentials) || !strings.Contains(err.Error(), "password has changed") {
		t.Errorf("Redeem after a password change = %v", err)
	}
	rt2, _ := f.svc.MintRefresh(alicePrincipal())
	f.users.set("alice", "")
	if _, err := f.svc.Redeem(t.Context(), rt2); !errors.Is(err, access.ErrBadCredentials) || !strings.Contains(err.Error(), "no longer") {
		t.Errorf("Redeem after the user was removed = %v", err)
	}
	if access.ClaimedAccount(err) != "" && access.ClaimedAccount(err) != "alice" {
		t.Errorf("claimed account = %q", access.ClaimedAccount(err))
	}

	bob, _ := f.svc.MintRefresh(access.Principal{Name: "bob", Method: access.MethodBasic})
	f.clock.Add(DefaultRefreshTTL + Leeway + time.Second)
	if _, err := f.svc.Redeem(t.Context(), bob); err == nil {
		t.Error("an expired refresh token was redeemed")
	}
}

func TestUpstreamAuthorization(t *testing.T) {
	f := newFixture(t)
	a := []access.Resource{{Type: "repository", Name: "app", Actions: []string{"pull", "push"}}}
	h1, err := f.svc.UpstreamAuthorization(t.Context(), a, "alice")
	if err != nil || !strings.HasPrefix(h1, "Bearer ") {
		t.Fatalf("UpstreamAuthorization = %q, %v", h1, err)
	}
	if h2, _ := f.svc.UpstreamAuthorization(t.Context(), a, "alice"); h2 != h1 {
		t.Error("the same access for the same subject minted a new token")
	}
	if h3, _ := f.svc.UpstreamAuthorization(t.Context(), a, "bob"); h3 == h1 {
		t.Error("another subject reused alice's token")
	}
	h4, _ := f.svc.UpstreamAuthorization(t.Context(), []access.Resource{pull("app")}, "alice")
	p, err := f.svc.VerifyToken(t.Context(), strings.TrimPrefix(h4, "Bearer "))
	if err != nil {
		t.Fatal(err)
	}
	if p.Limit.Allows(a[0]) || !p.Limit.Allows(pull("app")) {
		t.Errorf("upstream token grants %+v, want exactly pull", p.Limit)
	}
	f.clock.Add(upstreamTTL - upstreamReuse + time.Second)
	if h5, _ := f.svc.UpstreamAuthorization(t.Context(), a, "alice"); h5 == h1 {
		t.Error("a token with less than a minute to live was reused")
	}
}

// headerOf is the JOSE header of a compact token, decoded without verifying anything.
func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Header
}

// verifiesAsRegistry28 checks an x5c header as distribution 2.8 does before it checks the
// signature: the leaf, with the rest as intermediates, verifies against the token CA
// (rootcertbundle) for any key usage, and is for the signing key.
func verifiesAsRegistry28(t *testing.T, f *fixture, hdr map[string]any) {
	t.Helper()
	chain, _ := hdr["x5c"].([]any)
	if len(chain) == 0 {
		t.Fatalf("header %v has no x5c", hdr)
	}
	der, err := base64.StdEncoding.DecodeString(chain[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pemCA, _ := os.ReadFile(f.keys.CAFile())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemCA)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("x5c does not verify against the token CA: %v", err)
	}
	if !publicEqual(leaf.PublicKey, f.keys.signing().public) {
		t.Error("x5c leaf is not for the signing key")
	}
}

// TestX5C: clients' access tokens carry x5c only with Config.X5C, and are then about 1.1
// KiB rather than 400 bytes; the upstream's always carry it, refresh tokens never. The
// gateway verifies all of them by kid, and tokens in the format minted before (typ, nbf,
// x5c, a 26-character jti) still verify.
func TestX5C(t *testing.T) {
	grant := []access.Resource{{Type: "repository", Name: "bench/app", Actions: []string{"pull"}}}
	small, big := newFixture(t), newFixture(t, func(c *Config) { c.X5C = true })
	for _, tc := range []struct {
		name string
		f    *fixture
		x5c  bool
	}{{"default", small, false}, {"x5c", big, true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.svc.X5C() != tc.x5c {
				t.Errorf("X5C() = %v", tc.f.svc.X5C())
			}
			at, err := tc.f.svc.Mint(alicePrincipal(), grant)
			if err != nil {
				t.Fatal(err)
			}
			hdr := headerOf(t, at)
			if _, has := hdr["x5c"]; has != tc.x5c {
				t.Errorf("access token header %v: x5c present %v, want %v", hdr, has, tc.x5c)
			}
			if tc.x5c {
				verifiesAsRegistry28(t, tc.f, hdr)
			}
			if tc.x5c != (len(at) > 1000) || len(at) > 1200 {
				t.Errorf("access token is %d bytes (x5c %v)", len(at), tc.x5c)
			}
			t.Logf("access token for one scope: %d bytes", len(at))
			if p, err := tc.f.svc.VerifyToken(t.Context(), at); err != nil || p.Name != "alice" || !p.Limit.Allows(grant[0]) {
				t.Errorf("VerifyToken = %+v, %v", p, err)
			}

			rt, err := tc.f.svc.MintRefresh(alicePrincipal())
			if err != nil {
				t.Fatal(err)
			}
			if h := headerOf(t, rt); h["x5c"] != nil {
				t.Errorf("refresh token header %v has x5c", h)
			}
			if _, err := tc.f.svc.Redeem(t.Context(), rt); err != nil {
				t.Errorf("Redeem: %v", err)
			}

			up, err := tc.f.svc.UpstreamAuthorization(t.Context(), grant, "alice")
			if err != nil {
				t.Fatal(err)
			}
			verifiesAsRegistry28(t, tc.f, headerOf(t, strings.TrimPrefix(up, "Bearer ")))
		})
	}

	t.Run("tokens minted before the change", func(t *testing.T) {
		f := small
		sk := f.keys.signing()
		now := f.clock.Now()
		at := forge(t, sk.method, sk.signer, &Claims{Issuer: DefaultIssuer, Subject: "alice", Audience: "registry.test",
			IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix(),
			ID: "BKXEBWHHDZI6O5SKTYZFW43SO5", Access: grant}, map[string]any{"kid": sk.kid, "x5c": sk.x5c})
		if h := headerOf(t, at); h["typ"] != "JWT" || h["x5c"] == nil {
			t.Fatalf("old-format header = %v", h)
		}
		if p, err := f.svc.VerifyToken(t.Context(), at); err != nil || !p.Limit.Allows(grant[0]) {
			t.Errorf("an old-format access token: %+v, %v", p, err)
		}
		stamp, _ := f.users.Stamp("alice")
		rt := forge(t, sk.method, sk.signer, &Claims{Issuer: DefaultIssuer, Subject: "alice", Audience: DefaultIssuer,
			IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(),
			ID: "BKXEBWHHDZI6O5SKTYZFW43SO6", Access: []access.Resource{}, Binding: binding(sk.bind, "alice", stamp)},
			map[string]any{"kid": sk.kid, "x5c": sk.x5c})
		if p, err := f.svc.Redeem(t.Context(), rt); err != nil || p.Name != "alice" {
			t.Errorf("an old-format refresh token: %+v, %v", p, err)
		}
	})
}

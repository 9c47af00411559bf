package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/certs"
)

func kids(j JWKS) []string {
	var out []string
	for _, k := range j.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestOpenKeysFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "token")
	k, err := OpenKeys(KeysOptions{Dir: dir, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, keysFileName: 0o600, caKeyName: 0o600, caCertName: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	sk := k.signing()
	if sk.alg != ES256 {
		t.Errorf("alg = %s, want ES256 by default", sk.alg)
	}
	// kid is the RFC 7638 thumbprint; x5c is a certificate for the key from the token CA.
	if kid, _ := Thumbprint(sk.public); sk.kid != kid {
		t.Errorf("kid = %s, want the thumbprint %s", sk.kid, kid)
	}
	der, err := base64.StdEncoding.DecodeString(sk.x5c[0])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !publicEqual(leaf.PublicKey, sk.public) {
		t.Error("x5c leaf is not for the signing key")
	}
	pem, _ := os.ReadFile(k.CAFile())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	// As distribution verifies an x5c chain: against rootcertbundle, any key usage.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("x5c does not verify against the token CA: %v", err)
	}

	again, err := OpenKeys(KeysOptions{Dir: dir, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if again.CurrentKID() != k.CurrentKID() {
		t.Error("a restart made a new key")
	}
}

func TestOpenKeysRS256(t *testing.T) {
	k, err := OpenKeys(KeysOptions{Dir: t.TempDir(), Alg: RS256, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.JWKS().Keys[0]; got.Kty != "RSA" || got.Alg != RS256 {
		t.Errorf("JWK = %s/%s, want RSA/RS256", got.Kty, got.Alg)
	}
}

func TestRotateKeepsOldKeyUntilItsTokensExpired(t *testing.T) {
	f := newFixture(t)
	old := f.keys.CurrentKID()
	tok, err := f.svc.Mint(alicePrincipal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kid, dropped, err := Rotate(f.dir, ES256, DefaultRefreshTTL, f.clock.Now())
	if err != nil || dropped != 0 {
		t.Fatalf("Rotate = %v, dropped %d", err, dropped)
	}
	if err := f.keys.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.keys.CurrentKID() != kid || kid == old {
		t.Fatalf("current kid %s, want the new %s (old %s)", f.keys.CurrentKID(), kid, old)
	}
	if got := kids(f.keys.JWKS()); !slices.Equal(got, []string{kid, old}) {
		t.Errorf("JWKS kids = %v, want new then old", got)
	}
	f.svc.cache.Purge()
	if _, err := f.svc.VerifyToken(t.Context(), tok); err != nil {
		t.Errorf("a token of the old key no longer verifies after rotation: %v", err)
	}
	// The old key may have signed a refresh token just before rotation: it stays until
	// that one has expired, then drops out.
	f.clock.Add(DefaultRefreshTTL + Leeway)
	if got := kids(f.keys.JWKS()); !slices.Contains(got, old) {
		t.Errorf("old key gone before its longest token could have expired: %v", got)
	}
	f.clock.Add(reloadGrace + time.Second)
	if got := kids(f.keys.JWKS()); !slices.Equal(got, []string{kid}) {
		t.Errorf("JWKS kids = %v, want only the new key once the old one's tokens expired", got)
	}
	// The next rotation removes it from the file.
	if _, dropped, err := Rotate(f.dir, ES256, DefaultRefreshTTL, f.clock.Now()); err != nil || dropped != 1 {
		t.Errorf("second Rotate: %v, dropped %d, want 1", err, dropped)
	}
}

// TestRotateNoticedLate: a key this process signed with until it noticed the rotation is
// kept from then on, not from the time the file gives.
func TestRotateNoticedLate(t *testing.T) {
	f := newFixture(t, func(c *Config) {})
	old := f.keys.CurrentKID()
	if _, _, err := Rotate(f.dir, ES256, time.Hour, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(DefaultRefreshTTL) // the watch was broken for a month
	if err := f.keys.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := kids(f.keys.JWKS()); !slices.Contains(got, old) {
		t.Errorf("old key dropped on a late reload although it signed until now: %v", got)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pem, _ := certs.MarshalPrivateKey(key)
	file := filepath.Join(dir, "token.pem")
	if err := os.WriteFile(file, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	k, err := OpenKeys(KeysOptions{Dir: filepath.Join(dir, "token"), KeyFile: file, Lifetime: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Thumbprint(&key.PublicKey)
	if k.CurrentKID() != want {
		t.Fatalf("kid %s, want %s", k.CurrentKID(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "token", keysFileName)); err == nil {
		t.Error("keys.json written although the key is given as a file")
	}
	// Replacing the file: the new key signs, the old one verifies for Lifetime.
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pem2, _ := certs.MarshalPrivateKey(key2)
	os.WriteFile(file, pem2, 0o600)
	if err := k.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := kids(k.JWKS()); len(got) != 2 || got[1] != want {
		t.Errorf("JWKS after replacing the key file = %v, want the new key and %s", got, want)
	}
	c.Add(time.Hour + Leeway + reloadGrace + time.Second)
	if got := kids(k.JWKS()); len(got) != 1 {
		t.Errorf("JWKS = %v, want the old key gone after Lifetime", got)
	}
	// A file with a key that does not fit its certificate is refused, keeping the keys.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &other.PublicKey, other)
	os.WriteFile(file, append(pem2, certs.EncodeCertificates(der)...), 0o600)
	if err := k.Reload(t.Context()); err == nil {
		t.Error("a key file whose certificate is for another key was accepted")
	}
}

func TestKeysFileRefused(t *testing.T) {
	for name, content := range map[string]string{
		"not json":       "{",
		"no current key": `{"keys":[]}`,
		"alg mismatch":   "",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if content == "" {
				e, _ := newKeyEntry(ES256, time.Now())
				e.Alg = RS256
				b, _ := marshalKeysFile([]keyEntry{e})
				content = string(b)
			}
			os.WriteFile(filepath.Join(dir, keysFileName), []byte(content), 0o600)
			if _, err := OpenKeys(KeysOptions{Dir: dir}); err == nil {
				t.Error("OpenKeys succeeded")
			}
		})
	}
}

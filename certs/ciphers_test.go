package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// rsaCertificate is a self-signed RSA certificate for localhost: the RSA half of the suite
// list needs an RSA key on the server.
func rsaCertificate(t testing.TB) *tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tls12Suites is every TLS 1.2 suite Go knows, secure and insecure.
func tls12Suites() []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			out = append(out, s)
		}
	}
	return out
}

// TestServerConfigCipherSuites handshakes TLS 1.2 with each suite Go can offer, one at a
// time, against an ECDSA and an RSA certificate: only ECDHE with AES-GCM or
// ChaCha20-Poly1305 for the certificate's key type is accepted; every CBC, RC4, 3DES and
// static-RSA suite is refused (issue 12: ECDHE-ECDSA-AES128-SHA and -AES256-SHA were
// offered).
func TestServerConfigCipherSuites(t *testing.T) {
	ss, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := rsaCertificate(t)
	servers := []struct {
		name string
		kx   string // the key exchange a suite must name to fit the certificate
		get  func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	}{
		{"ECDSA", "ECDHE_ECDSA", ss.GetCertificate},
		{"RSA", "ECDHE_RSA", func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return rsaCert, nil }},
	}
	for _, srv := range servers {
		addr := serveTLS(t, ServerConfig(srv.get, ServerOptions{}), nil)
		accepted := 0
		for _, s := range tls12Suites() {
			allowed := slices.Contains(CipherSuites, s.ID)
			want := allowed && strings.HasPrefix(s.Name, "TLS_"+srv.kx+"_WITH_")
			if allowed && !(strings.Contains(s.Name, "_GCM_") || strings.Contains(s.Name, "CHACHA20_POLY1305")) {
				t.Errorf("CipherSuites holds %s, which is not AEAD", s.Name)
			}
			t.Run(srv.name+"/"+s.Name, func(t *testing.T) {
				cs, err := handshake(t, addr, &tls.Config{
					InsecureSkipVerify: true, // the suite is under test, not the chain
					MinVersion:         tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
					CipherSuites: []uint16{s.ID},
				})
				switch {
				case want && err != nil:
					t.Errorf("handshake refused: %v", err)
				case !want && err == nil:
					t.Errorf("handshake accepted with %s, want refusal", tls.CipherSuiteName(cs.CipherSuite))
				case want && cs.CipherSuite != s.ID:
					t.Errorf("negotiated %s", tls.CipherSuiteName(cs.CipherSuite))
				}
				if err == nil {
					accepted++
				}
			})
		}
		if accepted != 3 {
			t.Errorf("%s: %d suites accepted, want 3 (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)", srv.name, accepted)
		}
	}
}

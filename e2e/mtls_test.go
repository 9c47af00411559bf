package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// clientCA is a CA for client certificates made in the test.
type clientCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newClientCA(t *testing.T) clientCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e client CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return clientCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a client certificate for common name cn.
func (ca clientCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMTLS: with --tls-client-ca, a client certificate from that CA stands for the user
// named by its CN (groups from the groups file reach the policy); no certificate means
// Basic as usual; a certificate from another CA is refused at the handshake.
func TestMTLS(t *testing.T) {
	t.Parallel()
	ca := newClientCA(t)
	caFile := filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--tls-client-ca", caFile)...)

	withCert := func(c tls.Certificate) *http.Client {
		tr := g.Client.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{c}
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	do := func(client *http.Client, method, path string) (int, error) {
		req, err := http.NewRequestWithContext(t.Context(), method, g.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	bob := withCert(ca.issue(t, plainUser))   // an ordinary user
	alice := withCert(ca.issue(t, adminUser)) // in group admins
	for _, tc := range []struct {
		name   string
		client *http.Client
		method string
		path   string
		want   int
	}{
		{"no certificate, no password", g.Client, "GET", "/v2/", http.StatusUnauthorized},
		{"certificate logs bob in", bob, "GET", "/v2/", http.StatusOK},
		{"bob pushes under bob/", bob, "POST", "/v2/" + plainUser + "/app/blobs/uploads/", http.StatusAccepted},
		{"bob may not push elsewhere", bob, "POST", "/v2/team/app/blobs/uploads/", http.StatusForbidden},
		{"alice's groups reach the policy", alice, "POST", "/v2/team/app/blobs/uploads/", http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := do(tc.client, tc.method, tc.path)
			if err != nil || got != tc.want {
				t.Fatalf("%s %s: %d, %v; want %d", tc.method, tc.path, got, err, tc.want)
			}
		})
	}
	t.Run("a certificate from another CA is refused", func(t *testing.T) {
		stranger := withCert(newClientCA(t).issue(t, adminUser))
		if code, err := do(stranger, "GET", "/v2/"); err == nil {
			t.Fatalf("handshake with a foreign client certificate succeeded: %d", code)
		}
	})
}

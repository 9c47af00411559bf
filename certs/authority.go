package certs

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// caValidity is how long a generated CA lives. Clients pin it in their trust stores, so it is
// never rotated automatically; ten years outlives most installations.
const caValidity = 10 * 365 * 24 * time.Hour

// authority is the local CA that signs SelfSigned's server certificates.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadOrCreateAuthority loads certFile and keyFile, or generates both when neither exists.
// Any other state (one file missing, a corrupt file, a key that does not match) is an error:
// quietly making a new CA would break every client that trusts the old one.
func loadOrCreateAuthority(certFile, keyFile string, now time.Time) (a *authority, created bool, err error) {
	return loadOrCreateNamedAuthority(certFile, keyFile, localCAName, now)
}

// localCAName begins the subject name of the TLS CA; the token CA has its own (OpenCA).
const localCAName = "Portcullis local CA"

// loadOrCreateNamedAuthority is loadOrCreateAuthority for a CA whose subject name, when it
// is created, begins with name.
func loadOrCreateNamedAuthority(certFile, keyFile, name string, now time.Time) (a *authority, created bool, err error) {
	certData, certErr := os.ReadFile(certFile)
	keyData, keyErr := os.ReadFile(keyFile)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		a, err := newNamedAuthority(name, now)
		if err != nil {
			return nil, false, err
		}
		if err := a.save(certFile, keyFile); err != nil {
			return nil, false, err
		}
		return a, true, nil
	case certErr != nil:
		return nil, false, fmt.Errorf("reading CA certificate: %w", certErr)
	case keyErr != nil:
		return nil, false, fmt.Errorf("reading CA key: %w", keyErr)
	}
	a, err = parseAuthority(certData, keyData)
	if err != nil {
		return nil, false, fmt.Errorf("loading CA from %s and %s: %w", certFile, keyFile, err)
	}
	return a, false, nil
}

func parseAuthority(certData, keyData []byte) (*authority, error) {
	cert, err := parseCert(certData)
	if err != nil {
		return nil, err
	}
	key, err := parseSigner(keyData)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("certificate is not a CA")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("key does not match certificate")
	}
	return &authority{cert: cert, key: key}, nil
}

func newAuthority(now time.Time) (*authority, error) { return newNamedAuthority(localCAName, now) }

func newNamedAuthority(name string, now time.Time) (*authority, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	// A distinct common name per CA lets users tell installations apart in a trust store.
	cn := fmt.Sprintf("%s %s %x", name, host, serial.Bytes()[:4])
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Portcullis"}},
		NotBefore:             now.Add(-time.Hour), // tolerate client clock skew
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	return &authority{cert: cert, key: key}, nil
}

func (a *authority) save(certFile, keyFile string) error {
	kp, err := keyPEM(a.key)
	if err != nil {
		return err
	}
	// The key first: a certificate without its key would fail the next start.
	if err := atomicfile.WriteFile(keyFile, kp, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(certFile, certPEM(a.cert.Raw), 0o644)
}

// issue signs a fresh server certificate for n, valid from an hour ago (client clock skew)
// for validity, but never past the CA's own expiry.
func (a *authority) issue(n names, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	cn := "localhost"
	if len(n.DNS) > 0 {
		cn = n.DNS[0]
	}
	notAfter := now.Add(validity)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Portcullis"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     n.DNS,
		IPAddresses:  n.netIPs(),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, fmt.Errorf("signing server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("signing server certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// signedBy reports whether leaf was issued by this CA.
func (a *authority) signedBy(leaf *x509.Certificate) bool {
	return bytes.Equal(leaf.RawIssuer, a.cert.RawSubject) && leaf.CheckSignatureFrom(a.cert) == nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"time"
)

// CA is a local certificate authority kept in a certificate and a key file, that
// certifies signing keys rather than servers: the token service's CA, whose certificates
// ride in a token's x5c header so that a registry needs to trust only the CA file
// (distribution's rootcertbundle). It shares the TLS CA's rules: created once, never
// silently replaced, and a missing half is an error.
type CA struct{ a *authority }

// OpenCA loads the CA in certFile and keyFile, or creates both (key 0600) when neither
// exists, with a subject name beginning with name. created says which.
func OpenCA(certFile, keyFile, name string, now time.Time) (ca *CA, created bool, err error) {
	a, created, err := loadOrCreateNamedAuthority(certFile, keyFile, name, now)
	if err != nil {
		return nil, false, err
	}
	return &CA{a: a}, created, nil
}

// Certificate is the CA's own certificate.
func (c *CA) Certificate() *x509.Certificate { return c.a.cert }

// CertifyKey issues a certificate for pub, good for digital signatures only, named cn
// (an empty subject when cn is ""), valid from an hour ago (clock skew) until the CA
// itself expires: a signing key is retired by rotation, not by its certificate running
// out under tokens it signed.
func (c *CA) CertifyKey(pub crypto.PublicKey, cn string, now time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject(cn),
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     c.a.cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.a.cert, pub, c.a.key)
	if err != nil {
		return nil, fmt.Errorf("certifying signing key: %w", err)
	}
	return x509.ParseCertificate(der)
}

// ParsePrivateKey reads the first private key in PEM data (PKCS#8, SEC 1 EC or PKCS#1
// RSA, as openssl and Go write them).
func ParsePrivateKey(data []byte) (crypto.Signer, error) { return parseSigner(data) }

// MarshalPrivateKey encodes key as a PKCS#8 PEM block.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) { return keyPEM(key) }

// EncodeCertificates encodes DER certificates as PEM blocks.
func EncodeCertificates(der ...[]byte) []byte { return certPEM(der...) }

// ParseCertificates reads every certificate in PEM data, in order; none is not an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		out = append(out, c)
	}
}

func subject(cn string) pkix.Name {
	if cn == "" {
		return pkix.Name{}
	}
	return pkix.Name{CommonName: cn, Organization: []string{"Portcullis"}}
}

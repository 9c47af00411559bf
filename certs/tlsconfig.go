package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
)

// ServerOptions are the optional parts of ServerConfig.
type ServerOptions struct {
	// ClientCAs, if set, turns on client certificates (mTLS) verified against this pool.
	ClientCAs *x509.CertPool
	// ClientAuthOptional lets clients without a certificate connect (they then log in some
	// other way); a certificate that is presented must still verify.
	ClientAuthOptional bool
	// ExtraNextProtos are ALPN protocols offered after h2 and http/1.1, such as ACME.NextProtos.
	ExtraNextProtos []string
}

// CipherSuites are the TLS 1.2 suites the gateway offers: ECDHE key exchange (forward
// secrecy) with an AEAD cipher, AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA
// certificates alike. Go's default list also holds the ECDHE CBC-SHA suites
// (ECDHE-ECDSA-AES128-SHA and friends: MAC-then-encrypt, Lucky13-style padding oracles),
// which issue 12 found offered; they and every static-RSA suite are left out. TLS 1.3
// suites are not configurable in Go and are all AEAD with forward secrecy.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerConfig returns the gateway's TLS settings around a certificate source: TLS 1.2 at
// least (1.3 is preferred by Go whenever the client offers it), CipherSuites for TLS 1.2
// (AEAD with forward secrecy only), HTTP/2 and HTTP/1.1 over ALPN, and client certificate
// verification when opts.ClientCAs is set.
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), opts ServerOptions) *tls.Config {
	protos := []string{"h2", "http/1.1"}
	for _, p := range opts.ExtraNextProtos {
		if !slices.Contains(protos, p) {
			protos = append(protos, p)
		}
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   slices.Clone(CipherSuites),
		GetCertificate: get,
		NextProtos:     protos,
	}
	if opts.ClientCAs != nil {
		cfg.ClientCAs = opts.ClientCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if opts.ClientAuthOptional {
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return cfg
}

// LoadCertPool reads a PEM bundle of CA certificates, such as --tls-client-ca. It fails on
// a file without certificates, which is always a configuration mistake.
func LoadCertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA bundle: %w", err)
	}
	pool, err := parseCertPool(data)
	if err != nil {
		return nil, fmt.Errorf("reading CA bundle %s: %w", file, err)
	}
	return pool, nil
}

func parseCertPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no PEM certificates found")
	}
	return pool, nil
}

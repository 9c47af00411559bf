package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/internal/reload"
)

// Files serves a certificate and key read from files, typically written by cert-manager or
// certbot. Run watches them and swaps in a renewed pair with no restart; a pair that fails
// to load leaves the previous one serving and logs why. The two files are read and hashed
// together, so a pair is only tried once both have been written, and a half-written pair
// is logged once.
type Files struct {
	certFile string
	logger   *slog.Logger
	file     *reload.Value[tls.Certificate]
}

// NewFiles loads certFile and keyFile; unlike later reloads, a broken pair here is an error.
func NewFiles(certFile, keyFile string, logger *slog.Logger) (*Files, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls files needs both --tls-cert and --tls-key")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Files{certFile: certFile, logger: logger}
	var err error
	f.file, err = reload.New(context.Background(), reload.Config[tls.Certificate]{
		Name:  "certificate",
		Paths: []string{certFile, keyFile},
		Parse: func(_ context.Context, files []reload.File) (*tls.Certificate, error) {
			cert, err := parseKeyPair(files[0].Data, files[1].Data)
			if err != nil {
				return nil, fmt.Errorf("loading %s and %s: %w", certFile, keyFile, err)
			}
			return cert, nil
		},
		Loaded: f.loaded,
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// GetCertificate returns the pair loaded last.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.file.Load(), nil
}

// NotAfter is the expiry of the certificate being served.
func (f *Files) NotAfter() time.Time { return f.file.Load().Leaf.NotAfter }

// Name is "certificate", for the reload log lines.
func (f *Files) Name() string { return f.file.Name() }

// Reload reads both files now and, if they form a valid pair, serves them from the next
// handshake. On error the previous pair keeps serving; the reason is logged and returned.
func (f *Files) Reload(ctx context.Context) error { return f.file.Reload(ctx) }

// Run watches the certificate and key until ctx is done, reloading them when they change.
// It watches the files' directories and their symlink targets' (a Kubernetes secret
// swaps a "..data" link), waits for a writer to settle (certificate and key are rarely
// replaced at once) and polls for file systems without change events.
func (f *Files) Run(ctx context.Context) { f.file.Run(ctx) }

// OnReport has fn told of every reload attempt (see reload.Value.OnReport).
func (f *Files) OnReport(fn func(reload.Report)) { f.file.OnReport(fn) }

// loaded announces a new certificate; a reload of the same one (possibly with a new
// chain) says nothing.
func (f *Files) loaded(old, cert *tls.Certificate) {
	if old != nil && bytes.Equal(old.Certificate[0], cert.Certificate[0]) {
		return
	}
	leaf := cert.Leaf
	f.logger.Info("loaded TLS certificate", "file", f.certFile, "subject", leaf.Subject.String(),
		"names", leaf.DNSNames, "not_after", leaf.NotAfter)
	if time.Now().After(leaf.NotAfter) {
		f.logger.Warn("TLS certificate has expired", "file", f.certFile, "not_after", leaf.NotAfter)
	}
}

// parseKeyPair is tls.X509KeyPair with the leaf always parsed.
func parseKeyPair(certPEMData, keyPEMData []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEMData, keyPEMData)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		// X509KeyPair fills Leaf unless GODEBUG=x509keypairleaf=0.
		leaf, err := parseCert(certPEMData)
		if err != nil {
			return nil, err
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}

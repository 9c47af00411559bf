package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files serves a certificate and key read from files, typically written by cert-manager or
// certbot. Run watches them and swaps in a renewed pair with no restart; a pair that fails
// to load leaves the previous one serving and logs why.
type Files struct {
	certFile, keyFile string
	logger            *slog.Logger

	// pollEvery is the stat fallback for file systems without change events (NFS, some
	// container mounts); debounce lets a writer finish both files before we read them.
	pollEvery time.Duration
	debounce  time.Duration
	// noWatch skips fsnotify, for testing the fallback.
	noWatch bool
	// onReload, if set, is told the outcome of every reload attempt Run makes (tests).
	onReload func(error)

	cur atomic.Pointer[tls.Certificate]

	mu       sync.Mutex // serialises reloads
	lastSeen [sha256.Size]byte
}

// NewFiles loads certFile and keyFile; unlike later reloads, a broken pair here is an error.
func NewFiles(certFile, keyFile string, logger *slog.Logger) (*Files, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls files needs both --tls-cert and --tls-key")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Files{
		certFile:  certFile,
		keyFile:   keyFile,
		logger:    logger,
		pollEvery: 30 * time.Second,
		debounce:  250 * time.Millisecond,
	}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// GetCertificate returns the pair loaded last.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// NotAfter is the expiry of the certificate being served.
func (f *Files) NotAfter() time.Time { return f.cur.Load().Leaf.NotAfter }

// Reload reads both files now and, if they form a valid pair, serves them from the next
// handshake. On error the previous pair keeps serving.
func (f *Files) Reload() error {
	_, err := f.reload(true)
	return err
}

// reload loads the files unless force is false and their contents are what the last attempt
// saw, which keeps polling cheap and a broken pair from being logged every poll.
func (f *Files) reload(force bool) (changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	certPEMData, err := os.ReadFile(f.certFile)
	if err != nil {
		return false, fmt.Errorf("reading TLS certificate: %w", err)
	}
	keyPEMData, err := os.ReadFile(f.keyFile)
	if err != nil {
		return false, fmt.Errorf("reading TLS key: %w", err)
	}
	sum := sha256.Sum256(append(append(bytes.Clone(certPEMData), 0), keyPEMData...))
	if !force && sum == f.lastSeen {
		return false, nil
	}
	f.lastSeen = sum
	cert, err := parseKeyPair(certPEMData, keyPEMData)
	if err != nil {
		return true, fmt.Errorf("loading %s and %s: %w", f.certFile, f.keyFile, err)
	}
	if old := f.cur.Load(); old != nil && bytes.Equal(old.Certificate[0], cert.Certificate[0]) {
		f.cur.Store(cert) // same certificate, possibly a new chain; nothing to announce
		return false, nil
	}
	f.cur.Store(cert)
	leaf := cert.Leaf
	f.logger.Info("loaded TLS certificate", "file", f.certFile, "subject", leaf.Subject.String(),
		"names", leaf.DNSNames, "not_after", leaf.NotAfter)
	if time.Now().After(leaf.NotAfter) {
		f.logger.Warn("TLS certificate has expired", "file", f.certFile, "not_after", leaf.NotAfter)
	}
	return true, nil
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

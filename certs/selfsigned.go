package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for SelfSignedOptions.
const (
	DefaultSelfSignedValidity = 90 * 24 * time.Hour
)

// SelfSignedOptions configures NewSelfSigned.
type SelfSignedOptions struct {
	// Dir holds ca.crt, ca.key (0600), server.crt and server.key (0600); it is created 0700
	// if missing. Typically <data>/certs.
	Dir string
	// Hosts are extra names and addresses for the server certificate, added to localhost,
	// 127.0.0.1, ::1 and the machine's host name. A ":port" suffix is ignored.
	Hosts []string
	// Logger receives issuance events; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it to trigger renewal.
	Now func() time.Time
	// Validity is the server certificate's lifetime; zero means DefaultSelfSignedValidity.
	Validity time.Duration
	// RenewBefore is how long before expiry the server certificate is re-issued; zero means
	// a third of Validity.
	RenewBefore time.Duration
}

// SelfSigned serves a server certificate signed by a local CA that is generated once and
// kept in Dir, so clients trust it once (see TrustInstructions). The server certificate is
// re-issued from the same CA when it nears expiry (checked on each handshake, one atomic
// load and a time comparison) and at start-up when the configured names changed.
type SelfSigned struct {
	dir         string
	names       names
	logger      *slog.Logger
	now         func() time.Time
	validity    time.Duration
	renewBefore time.Duration
	ca          *authority

	cur atomic.Pointer[leafState]
	mu  sync.Mutex // serialises re-issuing
}

type leafState struct {
	cert    *tls.Certificate
	renewAt time.Time
}

// NewSelfSigned loads or creates the CA and the server certificate in opts.Dir.
func NewSelfSigned(opts SelfSignedOptions) (*SelfSigned, error) {
	if opts.Dir == "" {
		return nil, errors.New("self-signed certificates need a directory (set the data directory)")
	}
	if opts.Validity < 0 || opts.RenewBefore < 0 {
		return nil, errors.New("self-signed validity and renew-before must not be negative")
	}
	s := &SelfSigned{
		dir:         opts.Dir,
		logger:      opts.Logger,
		now:         opts.Now,
		validity:    opts.Validity,
		renewBefore: opts.RenewBefore,
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.validity == 0 {
		s.validity = DefaultSelfSignedValidity
	}
	if s.renewBefore == 0 {
		s.renewBefore = s.validity / 3
	}
	if s.renewBefore >= s.validity {
		return nil, fmt.Errorf("self-signed renew-before (%s) must be shorter than the validity (%s)", s.renewBefore, s.validity)
	}
	n, err := parseHosts(append(defaultHosts(), opts.Hosts...))
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate names: %w", err)
	}
	s.names = n

	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating certificate directory: %w", err)
	}
	ca, created, err := loadOrCreateAuthority(s.CAFile(), filepath.Join(s.dir, "ca.key"), s.now())
	if err != nil {
		return nil, err
	}
	s.ca = ca
	if created {
		s.logger.Info("created local CA", "ca_file", s.CAFile(), "subject", ca.cert.Subject.CommonName, "not_after", ca.cert.NotAfter)
	}
	if until := ca.cert.NotAfter.Sub(s.now()); until < s.validity {
		s.logger.Warn("local CA expires soon; delete ca.crt and ca.key to make a new one, then re-trust it on clients",
			"ca_file", s.CAFile(), "not_after", ca.cert.NotAfter)
	}

	if st, ok := s.loadLeaf(); ok {
		s.cur.Store(st)
		s.logger.Info("loaded self-signed server certificate", "names", s.names.strings(), "not_after", st.cert.Leaf.NotAfter)
		return s, nil
	}
	st, err := s.issue()
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	return s, nil
}

// defaultHosts are always in the certificate, so local clients work without flags.
func defaultHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	// A host name that is not a valid DNS name (underscores, say) is left out rather than
	// failing start-up: the user did not ask for it.
	if h, err := os.Hostname(); err == nil && checkDNSName(strings.ToLower(h)) == nil {
		hosts = append(hosts, h)
	}
	return hosts
}

// GetCertificate returns the current server certificate, re-issuing it first when due.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := s.cur.Load()
	if s.now().Before(st.renewAt) {
		return st.cert, nil
	}
	return s.renew().cert, nil
}

// CAFile is the path of the CA certificate (PEM) that clients should trust.
func (s *SelfSigned) CAFile() string { return filepath.Join(s.dir, "ca.crt") }

// NotAfter is the current server certificate's expiry.
func (s *SelfSigned) NotAfter() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Hosts lists the names and addresses the server certificate covers.
func (s *SelfSigned) Hosts() []string { return s.names.strings() }

func (s *SelfSigned) renew() *leafState {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if s.now().Before(old.renewAt) {
		return old // another handshake renewed it while we waited
	}
	st, err := s.issue()
	if err != nil {
		// Keep serving the old certificate and retry in a minute rather than on every
		// handshake.
		s.logger.Error("re-issuing self-signed server certificate", "err", err)
		st = &leafState{cert: old.cert, renewAt: s.now().Add(time.Minute)}
	}
	s.cur.Store(st)
	return st
}

// issue signs a new server certificate and writes it to Dir. A failed write is logged, not
// returned: the certificate in memory is good, it will just be re-issued on the next start.
func (s *SelfSigned) issue() (*leafState, error) {
	cert, err := s.ca.issue(s.names, s.now(), s.validity)
	if err != nil {
		return nil, err
	}
	if err := s.saveLeaf(cert); err != nil {
		s.logger.Error("saving self-signed server certificate", "err", err)
	}
	s.logger.Info("issued self-signed server certificate", "names", s.names.strings(), "not_after", cert.Leaf.NotAfter)
	st := s.state(cert)
	if now := s.now(); !now.Before(st.renewAt) {
		// The CA expires first, capping the certificate: re-issuing cannot help, so do not
		// re-sign on every handshake; retry hourly in case the CA files were replaced.
		s.logger.Warn("local CA expires before the server certificate could be renewed; make a new CA",
			"ca_file", s.CAFile(), "ca_not_after", s.ca.cert.NotAfter)
		st.renewAt = now.Add(time.Hour)
	}
	return st, nil
}

func (s *SelfSigned) state(cert *tls.Certificate) *leafState {
	return &leafState{cert: cert, renewAt: cert.Leaf.NotAfter.Add(-s.renewBefore)}
}
